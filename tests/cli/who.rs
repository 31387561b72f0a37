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
        first.contains(&format!("(pid {me}, user {})", current_user())),
        "{first}"
    );
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
    // As /etc/services writes it: not a Unix socket path.
    let spelled = json_of(portscope(&["who", &format!("{port}/udp"), "--json"]));
    assert_eq!(spelled, udp_only);
    drop(udp);
}

#[test]
fn nobody_holds_it_exits_1() {
    // A UDP port: a dropped TCP listener's port may still carry TIME_WAIT entries from earlier
    // connections (bind(0) may pick such a port), which `who` rightly lists.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    drop(udp);
    let out = portscope(&["who", "-u", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_of(&out), "");
}

#[test]
fn time_wait_line_says_the_kernel_holds_it() {
    let (l, port) = listener();
    let (client, server) = pair(&l);
    let client_port = client.local_addr().unwrap().port();
    let state_of = |local: u16, remote: u16| -> Option<String> {
        let args = [
            "-t",
            "--sport",
            &local.to_string(),
            "--dport",
            &remote.to_string(),
        ];
        ls_json(&args).first().map(|s| s.state.clone())
    };
    // The client must have closed first (its FIN seen by the server) before the server closes,
    // or under load the two FINs cross and TIME_WAIT can land on the server's side.
    drop(client);
    eventually("CLOSE_WAIT", || {
        let state = state_of(port, client_port);
        seen(state.as_deref() == Some("CLOSE_WAIT"), state)
    });
    drop(server);
    let mut text = String::new();
    eventually("TIME_WAIT", || {
        let out = portscope(&["who", &client_port.to_string()])
            .output()
            .unwrap();
        text = stdout_of(&out);
        seen(text.contains("TIME_WAIT"), (&text, stderr_of(&out)))
    });
    let line = text
        .lines()
        .find(|l| l.contains(&format!(":{port} ")))
        .unwrap_or_default();
    assert!(line.contains("no process: closed by its owner"), "{text}");
    assert!(
        line.contains(" s left)"),
        "TIME_WAIT shows its timer: {text}"
    );
}
