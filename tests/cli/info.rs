//! `ls -i`: tcp_info, memory and timers from the kernel's dump, checked against ss and
//! against conditions made for real (a transfer, a receiver that stops reading, loss made
//! by an nft rule, a flooded UDP socket).

use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;

use serde_json::Value;

use crate::support::*;

/// The `ls -i --json` rows of the sockets the arguments select.
fn info_rows(cmd: Command) -> Vec<Value> {
    json_rows(cmd)
}

fn info_of(args: &[&str]) -> Vec<Value> {
    let mut all = vec!["ls", "-i", "--json"];
    all.extend_from_slice(args);
    info_rows(portscope(&all))
}

fn number(row: &Value, path: &[&str]) -> f64 {
    let mut v = row;
    for key in path {
        v = &v[key];
    }
    v.as_f64()
        .unwrap_or_else(|| panic!("{path:?} missing in {row}"))
}

/// `key:VALUE` from an ss -i line.
fn ss_field(line: &str, key: &str) -> Option<u64> {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.parse().ok())
}

/// The sender's side of a loopback connection after `size` bytes went across and were read.
fn transfer(size: usize) -> (TcpStream, TcpStream) {
    let (l, _) = listener();
    let (mut client, mut server) = pair(&l);
    let reader = std::thread::spawn(move || {
        let mut got = vec![0u8; size];
        server.read_exact(&mut got).unwrap();
        server
    });
    client.write_all(&vec![7u8; size]).unwrap();
    let server = reader.join().unwrap();
    (client, server)
}

#[test]
fn info_after_a_megabyte_agrees_with_ss() {
    let (client, _server) = transfer(1 << 20);
    let local = client.local_addr().unwrap();
    let peer = client.peer_addr().unwrap();
    let (sport, dport) = (local.port().to_string(), peer.port().to_string());
    // Everything was read, so the counters stay still once the last ACK is in.
    eventually("the last ACK", || {
        let rows = info_of(&["-t", "--sport", &sport, "--dport", &dport]);
        seen(
            rows.len() == 1 && number(&rows[0], &["info", "tcp", "bytes_acked"]) >= 1048576.0,
            &rows,
        )
    });
    let rows = info_of(&["-t", "--sport", &sport, "--dport", &dport]);
    let tcp = &rows[0]["info"]["tcp"];
    assert!(number(tcp, &["rtt_ms"]) > 0.0, "{tcp}");
    assert!(number(tcp, &["cwnd"]) > 0.0, "{tcp}");
    assert!(number(tcp, &["bytes_sent"]) >= 1048576.0, "{tcp}");
    assert!(
        rows[0]["info"]["congestion"]
            .as_str()
            .is_some_and(|c| !c.is_empty())
    );
    assert!(number(&rows[0]["info"]["memory"], &["sndbuf"]) > 0.0);

    let filter = format!("sport = :{sport} and dport = :{dport}");
    let ss = Command::new("ss")
        .args(["-Htin", &filter])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ss.stdout);
    assert!(ss.status.success() && text.contains("cwnd:"), "ss: {text}");
    assert_eq!(
        ss_field(&text, "cwnd"),
        Some(number(tcp, &["cwnd"]) as u64),
        "cwnd: ss {text} vs {tcp}"
    );
    assert_eq!(
        ss_field(&text, "bytes_acked"),
        Some(number(tcp, &["bytes_acked"]) as u64),
        "bytes_acked: ss {text} vs {tcp}"
    );

    // The same facts in the other shapes: a second line on a terminal is covered by the
    // renderer's tests; a pipe gets columns.
    let plain = portscope(&["ls", "-ti", "--sport", &sport, "--dport", &dport])
        .output()
        .unwrap();
    let text = stdout_of(&plain);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    let column = |name: &str| row[header.iter().position(|h| *h == name).unwrap() - 2];
    // "Local Address" and "Foreign Address" are two words each in the header, one in a row.
    assert_eq!(
        column("Bytes-Acked").parse::<f64>().unwrap(),
        number(tcp, &["bytes_acked"])
    );
}

#[test]
fn who_info_shows_the_line_under_each_socket() {
    let (client, _server) = transfer(4096);
    let port = client.local_addr().unwrap().port().to_string();
    let out = portscope(&["who", "-i", &port]).output().unwrap();
    let text = stdout_of(&out);
    assert!(text.contains(" rtt ") && text.contains("cwnd "), "{text}");
}

#[test]
fn a_receiver_that_stops_reading_limits_the_sender() {
    let (l, _) = listener();
    let (client, _server) = pair(&l);
    stall(&client);
    let sport = client.local_addr().unwrap().port().to_string();
    let dport = client.peer_addr().unwrap().port().to_string();
    eventually("a zero window seen by the sender", || {
        let rows = info_of(&["-t", "--sport", &sport, "--dport", &dport]);
        let Some(tcp) = rows.first().map(|r| &r["info"]["tcp"]) else {
            return seen(false, &rows);
        };
        let zero = tcp["snd_wnd"].as_u64() == Some(0);
        let limited = tcp["rwnd_limited_ms"].as_f64().is_some_and(|ms| ms > 0.0);
        let probing = rows[0]["info"]["timer"]["kind"] == "zero-window-probe";
        seen(zero && limited && probing, tcp)
    });
    let out = portscope(&["ls", "-ti", "--sport", &sport, "--dport", &dport])
        .output()
        .unwrap();
    assert!(
        stdout_of(&out).contains("zero-window-probe"),
        "{}",
        stdout_of(&out)
    );
}

/// A UDP receiver with a 4 KiB buffer on loopback, sent 100 datagrams of 1,000 bytes that
/// nobody reads: most are dropped. Made in the caller's network namespace; the receiver and
/// its address.
/// Writes to `client` until its peer's receive buffer and then its own send buffer are full
/// (the peer never reads, so its window closes); the bytes written.
pub fn stall(client: &TcpStream) -> usize {
    client.set_nonblocking(true).unwrap();
    let chunk = vec![1u8; 65536];
    let mut writer = client;
    let mut sent = 0;
    loop {
        match writer.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return sent,
            Err(e) => panic!("{e}"),
        }
    }
}

pub fn flooded_udp() -> (socket2::Socket, std::net::SocketAddr) {
    let (receiver, addr) = small_udp_receiver();
    flood(addr);
    (receiver, addr)
}

/// A UDP socket on loopback with a 4 KiB receive buffer, never read.
pub fn small_udp_receiver() -> (socket2::Socket, std::net::SocketAddr) {
    let receiver = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    receiver.set_recv_buffer_size(4096).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    receiver.bind(&any.into()).unwrap();
    let addr = receiver.local_addr().unwrap().as_socket().unwrap();
    (receiver, addr)
}

/// 100 KB of datagrams to `addr`, far past a small receive buffer.
pub fn flood(addr: std::net::SocketAddr) {
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..100 {
        sender.send_to(&[0u8; 1000], addr).unwrap();
    }
}

#[test]
fn a_flooded_udp_socket_counts_its_drops() {
    let (_receiver, addr) = flooded_udp();
    let port = addr.port().to_string();
    let rows = info_of(&["-u", "--sport", &port]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let drops = number(&rows[0], &["info", "memory", "drops"]);
    assert!(drops > 0.0, "{}", rows[0]);
    assert!(rows[0]["info"]["tcp"].is_null());
}

/// A connection in a private namespace whose packets an nft rule drops on arrival, with data
/// sent into the loss: (namespace, client, server, listener). None (skipped loudly) without
/// root or nft.
pub fn lossy_connection(
    test: &str,
) -> Option<(Netns, TcpStream, TcpStream, std::net::TcpListener)> {
    let ns = Netns::new(test)?;
    if !have("nft") {
        skip(test, "needs nft (nftables)");
        return None;
    }
    let (client, server, l) = ns.inside(|| {
        let (l, _) = listener();
        let (client, server) = pair(&l);
        (client, server, l)
    });
    drop_rule(&ns, client.peer_addr().unwrap().port());
    (&client).write_all(b"lost in the namespace").unwrap();
    Some((ns, client, server, l))
}

/// The sender retransmits, with a retransmission timer running.
#[test]
fn dropped_packets_show_as_retransmits() {
    let Some((ns, client, _server, _l)) = lossy_connection("dropped_packets_show_as_retransmits")
    else {
        return;
    };
    let sport = client.local_addr().unwrap().port().to_string();
    let dport = client.peer_addr().unwrap().port().to_string();
    eventually("retransmissions", || {
        let rows =
            info_rows(ns.portscope(&["ls", "-i", "--json", "--sport", &sport, "--dport", &dport]));
        let Some(row) = rows.first() else {
            return seen(false, &rows);
        };
        let tcp = &row["info"]["tcp"];
        let retransmitting = tcp["total_retrans"].as_u64().is_some_and(|n| n > 0)
            && row["info"]["timer"]["kind"] == "retransmit";
        seen(retransmitting, row)
    });
}

/// An nft rule in the namespace that drops every TCP packet to `port` on arrival (dropped on
/// the way out, the sender would hear of it at once and never retransmit).
pub fn drop_rule(ns: &Netns, port: u16) {
    let chain = "{ type filter hook input priority 0 ; }";
    let rule = format!("tcp dport {port} drop");
    let commands: [&[&str]; 3] = [
        &["add", "table", "inet", "portscope_test"],
        &["add", "chain", "inet", "portscope_test", "out", chain],
        &["add", "rule", "inet", "portscope_test", "out", &rule],
    ];
    for args in commands {
        let status = Command::new("ip")
            .args(["netns", "exec", &ns.name, "nft"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "nft {args:?}");
    }
}
