//! `portscope who PORT`.

use std::net::UdpSocket;

use crate::support::*;

#[test]
fn names_the_holder_in_one_line() {
    let (l, port) = listener();
    let (_client, _server) = pair(&l);
    let out = portscope(&["who", &port.to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    let first = text.lines().next().unwrap();
    let me = std::process::id();
    assert!(
        first.starts_with(&format!("{port}/tcp LISTEN on 127.0.0.1 — ")),
        "{first}"
    );
    assert!(
        first.contains(&format!("(pid {me}, user root)")) || !is_root(),
        "{first}"
    );
    assert!(first.contains(&format!("pid {me}")), "{first}");
    assert!(
        text.lines().any(|l| l.contains("ESTABLISHED")),
        "the accepted connection: {text}"
    );
}

#[test]
fn tcp_and_udp_on_the_same_port_and_json() {
    let (_l, port) = listener();
    let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) else {
        return skip("tcp_and_udp_on_the_same_port", "the UDP port was taken");
    };
    let sockets = json_of(portscope(&["who", &port.to_string(), "--json"]));
    let mut protos: Vec<_> = sockets.iter().map(|s| s.proto.as_str()).collect();
    protos.sort_unstable();
    assert_eq!(protos, ["tcp", "udp"]);
    let udp_only = json_of(portscope(&["who", "-u", &port.to_string(), "--json"]));
    assert_eq!(udp_only.len(), 1);
    drop(udp);
}

#[test]
fn nobody_holds_it_exits_1() {
    let (l, port) = listener();
    drop(l);
    let out = portscope(&["who", &port.to_string()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_of(&out), "");
}

#[test]
fn time_wait_line_says_the_kernel_holds_it() {
    let (l, _) = listener();
    let (client, server) = pair(&l);
    let client_port = client.local_addr().unwrap().port();
    drop(client);
    drop(server);
    eventually("TIME_WAIT", || {
        stdout_of(
            &portscope(&["who", &client_port.to_string()])
                .output()
                .unwrap(),
        )
        .contains("TIME_WAIT")
    });
    let text = stdout_of(
        &portscope(&["who", &client_port.to_string()])
            .output()
            .unwrap(),
    );
    assert!(text.contains("no process: closed by its owner"), "{text}");
    assert!(
        text.contains(" s left)"),
        "TIME_WAIT shows its timer: {text}"
    );
    drop(l);
}
