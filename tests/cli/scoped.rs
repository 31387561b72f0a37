//! Link-local IPv6 addresses with their interface, on a veth pair inside a private namespace:
//! every command that takes an address keeps the scope (`%ifname` or `%index`, the form `ls`
//! prints), and an interface name holding control characters never reaches a terminal raw.

use std::io::Write;
use std::net::{SocketAddr, SocketAddrV6, TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};

use crate::support::*;

/// A namespace holding a veth pair whose end `name` has fe80::a (no duplicate-address wait).
/// Returns the namespace and the interface index of `name`, read inside it.
fn with_veth(test: &str, name: &str) -> Option<(Netns, u32)> {
    let ns = Netns::new(test)?;
    let ip = |args: &[&str]| ns.ip(args);
    ip(&[
        "link", "add", name, "type", "veth", "peer", "name", "pst-peer",
    ]);
    ip(&["link", "set", name, "up"]);
    ip(&["link", "set", "pst-peer", "up"]);
    ip(&["addr", "add", "fe80::a/64", "dev", name, "nodad"]);
    let c_name = std::ffi::CString::new(name).unwrap();
    // SAFETY: a NUL-terminated name; if_nametoindex reads the namespace of the calling thread.
    let index = ns.inside(|| unsafe { libc::if_nametoindex(c_name.as_ptr()) });
    assert_ne!(index, 0, "the interface exists in the namespace");
    Some((ns, index))
}

fn scoped(index: u32, port: u16) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(
        "fe80::a".parse().unwrap(),
        port,
        0,
        index,
    ))
}

fn status(mut cmd: Command) -> (Option<i32>, String, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    (out.status.code(), stdout_of(&out), stderr_of(&out))
}

#[test]
fn link_local_addresses_with_their_interface_work_everywhere() {
    let Some((ns, index)) = with_veth(
        "link_local_addresses_with_their_interface_work_everywhere",
        "pst-ll",
    ) else {
        return;
    };
    let (listener, udp) = ns.inside(|| {
        (
            TcpListener::bind(scoped(index, 7000)).unwrap(),
            UdpSocket::bind(scoped(index, 7001)).unwrap(),
        )
    });
    let by_name = "fe80::a%pst-ll";
    let by_index = format!("fe80::a%{index}");

    // ls prints the address as [fe80::a%pst-ll]:7000; fed back, it probes the same socket.
    let listed = ns.ls_json(&["-tl", "--sport", "7000"]);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].local_addr, by_name);
    for host in [by_name, by_index.as_str()] {
        let (code, out, err) = status(ns.portscope(&["probe", host, "7000"]));
        assert_eq!(code, Some(0), "probe {host}: {out}{err}");
        assert!(
            out.contains(&format!("[fe80::a%{index}]:7000/tcp")),
            "{out}"
        );
    }
    let (code, _, err) =
        status(ns.portscope(&["wait", "7000", "--host", by_name, "--timeout", "5"]));
    assert_eq!(code, Some(0), "wait --host: {err}");

    let target = format!("[{by_name}]:7000");
    let (code, out, err) = status(ns.portscope(&[
        "tcp", "connect", &target, "--hold", "0", "--follow", "0", "--json",
    ]));
    assert_eq!(code, Some(0), "tcp connect: {err}");
    assert!(out.contains("\"connected\""), "{out}");
    drop(listener);

    let (code, _, err) = status(ns.portscope(&[
        "udp",
        "send",
        &format!("[{by_name}]:7001"),
        "hi",
        "--wait",
        "0",
    ]));
    assert_eq!(code, Some(0), "udp send: {err}");
    let mut buf = [0u8; 16];
    udp.set_read_timeout(Some(HANG)).unwrap();
    let (n, from) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hi");
    assert!(from.ip().to_string().starts_with("fe80::"), "{from}");

    let (code, _, err) = status(ns.portscope(&["why-bind", &format!("[{by_name}]:7003")]));
    assert_eq!(code, Some(0), "why-bind: {err}");
    let (code, _, err) = status(ns.portscope(&[
        "tcp",
        "connect",
        &target,
        "--source",
        &by_index,
        "--timeout",
        "500ms",
    ]));
    assert_eq!(
        code,
        Some(1),
        "refused, after binding the scoped source: {err}"
    );
    assert!(err.contains("connection refused"), "{err}");

    let mut listen = Running::spawn(ns.portscope(&[
        "tcp",
        "listen",
        &format!("[{by_name}]:7002"),
        "--once",
        "--json",
        "--follow",
        "0",
    ]));
    listen.out_line("\"listening\"");
    ns.inside(|| {
        let mut c = TcpStream::connect(scoped(index, 7002)).unwrap();
        c.write_all(b"x").unwrap();
    });
    listen.out_line("\"accepted\"");
    assert_eq!(listen.exit_code(), Some(0));
}

/// An interface named with an escape sequence (ESC [2J clears a terminal): every text output
/// shows it escaped, JSON carries it exactly.
#[test]
fn an_interface_name_with_an_escape_sequence_is_escaped() {
    let name = "e\u{1b}[2Jx";
    let Some((ns, index)) = with_veth("an_interface_name_with_an_escape_sequence_is_escaped", name)
    else {
        return;
    };
    let _listener = ns.inside(|| TcpListener::bind(scoped(index, 7000)).unwrap());
    let shown = "fe80::a%e\\u{1b}[2Jx";
    for args in [["ls", "-t", "--sport", "7000"].as_slice(), &["who", "7000"]] {
        let (code, out, err) = status(ns.portscope(args));
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(
            !out.contains('\u{1b}') && !err.contains('\u{1b}'),
            "{args:?}: {out:?}"
        );
        assert!(out.contains(shown), "{args:?}: {out}");
    }
    let listed = ns.ls_json(&["-t", "--sport", "7000"]);
    assert_eq!(
        listed[0].local_addr,
        format!("fe80::a%{name}"),
        "JSON is exact"
    );
    // The table, as a terminal gets it.
    if have("script") {
        let line = format!("{} ls -t --sport 7000", bin());
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                "script",
                "-qfec",
                &line,
                "/dev/null",
            ])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let screen = stdout_of(&out);
        assert!(!screen.contains("\u{1b}[2J"), "{screen:?}");
        assert!(screen.contains("e\\u{1b}[2Jx"), "{screen:?}");
    } else {
        skip(
            "an_interface_name_with_an_escape_sequence_is_escaped",
            "no script(1): the table on a terminal is not checked",
        );
    }
    // Typed back as a scope, the name works, and errors about it stay on one escaped line.
    let (code, _, err) = status(ns.portscope(&["probe", &format!("fe80::a%{name}"), "7000"]));
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = status(ns.portscope(&["probe", "fe80::a%e\u{1b}[2Jy", "7000"]));
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
