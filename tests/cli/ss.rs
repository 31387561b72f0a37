//! `ss` as the reference: its `-p` output parsed into rows to compare portscope with.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::{Netns, settled};

/// One row of `ss -tuanp` or `ss -xanp`: addresses as ss prints them (`127.0.0.1:8080`; for
/// Unix sockets the name or `*`), and the pids in its users:(…) list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsRow {
    pub netid: String,
    /// In portscope's spelling (ESTAB → ESTABLISHED, TIME-WAIT → TIME_WAIT).
    pub state: String,
    pub recv_q: u32,
    pub send_q: u32,
    pub local: String,
    pub peer: String,
    /// Unix sockets: the socket's and its peer's inodes (0: none).
    pub inode: u32,
    pub peer_inode: u32,
    pub pids: BTreeSet<u32>,
}

/// Runs ss with `args` in the namespace and parses its rows; `-H` (no header) is added. The
/// arguments must ask for more than one kind of socket (`-tu`, `-x`): ss leaves its Netid
/// column out otherwise.
pub fn rows(ns: &Netns, args: &[&str]) -> Vec<SsRow> {
    let out = Command::new("ip")
        .args(["netns", "exec", &ns.name, "ss", "-H"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ss {args:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let unix = args.iter().any(|a| a.starts_with('-') && a.contains('x'));
    // Unix rows carry inodes, so their holders can be settled as portscope's are.
    let settle = |mut row: SsRow| {
        if unix {
            row.pids = settled(row.pids, row.inode).into_iter().collect();
        }
        row
    };
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| settle(parse(l, unix)))
        .collect()
}

fn parse(line: &str, unix: bool) -> SsRow {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let number = |s: &str| s.parse::<u32>().unwrap_or(0);
    // Unix rows: Netid State Recv-Q Send-Q NAME INODE PEER PEER-INODE [users:(…)]
    let (local, peer, inode, peer_inode, rest) = if unix {
        let inode = number(fields[5]);
        let peer_inode = number(fields[7]);
        (fields[4], fields[6], inode, peer_inode, &fields[8..])
    } else {
        (fields[4], fields[5], 0, 0, &fields[6..])
    };
    SsRow {
        netid: fields[0].to_string(),
        state: state(fields[1]),
        recv_q: number(fields[2]),
        send_q: number(fields[3]),
        local: local.to_string(),
        peer: peer.to_string(),
        inode,
        peer_inode,
        pids: pids(&rest.join(" ")),
    }
}

fn state(ss: &str) -> String {
    match ss {
        "ESTAB" => "ESTABLISHED".to_string(),
        other => other.replace('-', "_"),
    }
}

/// The pids of `users:(("nginx",pid=812,fd=6),("nginx",pid=813,fd=6))`.
fn pids(users: &str) -> BTreeSet<u32> {
    users
        .split("pid=")
        .skip(1)
        .filter_map(|rest| {
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn parses_ss_rows() {
    let tcp = parse(
        "tcp   LISTEN 0      511        127.0.0.1:8080      0.0.0.0:*    users:((\"nginx\",pid=13,fd=6),(\"nginx\",pid=12,fd=6))",
        false,
    );
    assert_eq!(
        (tcp.state.as_str(), tcp.local.as_str(), tcp.send_q),
        ("LISTEN", "127.0.0.1:8080", 511)
    );
    assert_eq!(tcp.pids, BTreeSet::from([12, 13]));
    let unix = parse(
        "u_str ESTAB 0 0 /tmp/x.sock 4242 * 4243 users:((\"python3\",pid=7,fd=3))",
        true,
    );
    assert_eq!((unix.inode, unix.peer_inode), (4242, 4243));
    assert_eq!(unix.state, "ESTABLISHED");
    assert_eq!(unix.pids, BTreeSet::from([7]));
}
