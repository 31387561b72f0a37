//! `portscope ls` against real sockets on loopback.

use std::net::{Shutdown, TcpListener, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;

use crate::support::*;

/// Live sockets on a local port; TIME_WAIT left over on the same port number from earlier
/// connections (ports are reused all the time) does not count.
fn by_local_port(sockets: &[JsonSocket], port: u16) -> Vec<&JsonSocket> {
    sockets
        .iter()
        .filter(|s| s.local_port == port && s.state != "TIME_WAIT")
        .collect()
}

#[test]
fn finds_own_listener_with_this_pid() {
    let (_l, port) = listener();
    let sockets = ls_json(&["-l", "--sport", &port.to_string()]);
    assert_eq!(sockets.len(), 1, "{sockets:?}");
    let s = &sockets[0];
    assert_eq!((s.proto.as_str(), s.family.as_str()), ("tcp", "ipv4"));
    assert_eq!(
        (s.local_addr.as_str(), s.state.as_str()),
        ("127.0.0.1", "LISTEN")
    );
    assert_eq!((s.remote_addr.as_str(), s.remote_port), ("0.0.0.0", 0));
    assert_eq!(s.send_q, 128, "a LISTEN socket's Send-Q is its backlog");
    assert_ne!(s.inode, 0);
    assert_eq!(s.pids(), vec![std::process::id()]);
    let me = &s.processes[0];
    let argv0 = std::env::args().next().unwrap();
    assert!(
        me.cmdline.starts_with(&argv0),
        "the command line starts with this test binary: {} vs {argv0}",
        me.cmdline
    );
}

#[test]
fn ipv6_and_udp_sockets() {
    let v6 = TcpListener::bind("[::1]:0").unwrap();
    let v6_port = v6.local_addr().unwrap().port();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = udp.local_addr().unwrap().port();
    let all = ls_json(&[]);
    let s = by_local_port(&all, v6_port);
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0].family.as_str(), s[0].local_addr.as_str()),
        ("ipv6", "::1")
    );
    let u = by_local_port(&all, udp_port);
    assert_eq!(u.len(), 1);
    assert_eq!(
        (u[0].proto.as_str(), u[0].state.as_str()),
        ("udp", "UNCONN")
    );
    assert_eq!(u[0].pids(), vec![std::process::id()]);

    udp.connect("127.0.0.1:9").unwrap();
    let connected = ls_json(&["-u", "--sport", &udp_port.to_string()]);
    assert_eq!(connected[0].state, "ESTABLISHED", "a connected UDP socket");
    assert_eq!(connected[0].remote_port, 9);
}

#[test]
fn table_shows_ipv6_bracketed_and_dual_stack() {
    let dual = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
    dual.set_only_v6(false).unwrap();
    dual.bind(&"[::]:0".parse::<std::net::SocketAddr>().unwrap().into())
        .unwrap();
    dual.listen(8).unwrap();
    let port = dual.local_addr().unwrap().as_socket().unwrap().port();
    let out = portscope(&["ls", "-H", "--sport", &port.to_string()])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.starts_with("tcp46 "),
        "dual-stack marked tcp46: {text}"
    );
    assert!(text.contains(&format!("[::]:{port}")), "{text}");
    assert!(text.contains("[::]:*"), "{text}");
}

#[test]
fn close_states_time_wait_and_accept_queue() {
    let (l, port) = listener();
    let (client, server) = pair(&l);
    let client_port = client.local_addr().unwrap().port();
    // Client closes first: client FIN_WAIT2, server CLOSE_WAIT (it has not closed yet).
    client.shutdown(Shutdown::Both).unwrap();
    drop(client);
    let state_of = |local: u16, remote: u16| -> Option<String> {
        ls_json(&[
            "-t",
            "--sport",
            &local.to_string(),
            "--dport",
            &remote.to_string(),
        ])
        .first()
        .map(|s| s.state.clone())
    };
    eventually("FIN_WAIT2/CLOSE_WAIT", || {
        let states = (state_of(client_port, port), state_of(port, client_port));
        let wanted = (
            Some("FIN_WAIT2".to_string()),
            Some("CLOSE_WAIT".to_string()),
        );
        seen(states == wanted, states)
    });
    let orphan = &ls_json(&[
        "--sport",
        &client_port.to_string(),
        "--dport",
        &port.to_string(),
    ])[0];
    assert!(
        orphan.processes.is_empty(),
        "an orphaned FIN_WAIT2 has no owner"
    );
    assert_eq!(orphan.inode, 0);
    drop(server);
    eventually("TIME_WAIT", || {
        let state = state_of(client_port, port);
        seen(state.as_deref() == Some("TIME_WAIT"), state)
    });
    let tw = ls_json(&[
        "--state",
        "time-wait",
        "--sport",
        &client_port.to_string(),
        "--dport",
        &port.to_string(),
    ]);
    assert_eq!(tw.len(), 1);
    assert!(tw[0].processes.is_empty());

    // A connection nobody accepted: ESTABLISHED with no owner, listener Recv-Q 1.
    let waiting = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let waiting_port = waiting.local_addr().unwrap().port();
    let listen = ls_json(&["-l", "--sport", &port.to_string()]);
    assert_eq!(listen[0].recv_q, 1, "one connection in the accept queue");
    let queued = ls_json(&[
        "--sport",
        &port.to_string(),
        "--dport",
        &waiting_port.to_string(),
    ]);
    assert_eq!(queued[0].state, "ESTABLISHED");
    assert!(queued[0].processes.is_empty());
    let table = portscope(&[
        "ls",
        "--sport",
        &port.to_string(),
        "--dport",
        &waiting_port.to_string(),
    ])
    .output()
    .unwrap();
    assert!(
        stdout_of(&table).contains("(accept queue)"),
        "{}",
        stdout_of(&table)
    );
}

#[test]
fn socket_shared_by_two_processes_lists_both() {
    let (l, port) = listener();
    let mut sleep = Command::new("sleep");
    sleep.arg("30");
    inherit(&mut sleep, l.as_raw_fd());
    let mut child = sleep.spawn().unwrap();
    let pids = |args: &[&str]| -> Vec<u32> {
        ls_json(args)
            .iter()
            .find(|s| s.local_port == port)
            .map(|s| s.pids())
            .unwrap_or_default()
    };
    // Another test's fork may briefly hold a copy too (between fork and exec): that is real, so
    // only these two holders are required.
    let expected = [std::process::id(), child.id()];
    let full = pids(&["-t", "-l"]);
    assert!(
        expected.iter().all(|p| full.contains(p)),
        "full scan: {full:?}"
    );
    // A port filter narrows the rows, never the owners in them.
    let by_port = pids(&["--sport", &port.to_string()]);
    assert!(
        expected.iter().all(|p| by_port.contains(p)),
        "--sport: {by_port:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn summary_counts_and_json() {
    let (_l, port) = listener();
    let out = portscope(&["ls", "-s", "-l", "--json", "--sport", &port.to_string()])
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["total"], 1);
    assert_eq!(summary["tcp"]["states"]["LISTEN"], 1);
    assert_eq!(summary["udp"]["total"], 0);
    let table = portscope(&["ls", "-s", "-l", "--sport", &port.to_string()])
        .output()
        .unwrap();
    let text = stdout_of(&table);
    assert!(text.lines().next().unwrap().contains("LISTEN"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("tcp") && l.contains(" 1")),
        "{text}"
    );
}

#[test]
fn nothing_matched_exits_1() {
    // A freed UDP port: TCP's bind(0) hands freed ports out again quickly to parallel tests.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    drop(udp);
    let out = portscope(&["ls", "-u", "--sport", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout_of(&out));
    assert_eq!(stdout_of(&out).lines().count(), 1, "the header only");
}

#[test]
fn closed_pipe_exits_quietly() {
    if !have("bash") {
        return skip("closed_pipe_exits_quietly", "needs bash for PIPESTATUS");
    }
    // `true` exits at once, so portscope's writes meet a closed pipe.
    let _held = listener();
    let script = format!("{} ls | true; echo \"status ${{PIPESTATUS[0]}}\"", bin());
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert_eq!(stdout_of(&out).trim(), "status 0");
    assert_eq!(stderr_of(&out), "", "no message for a closed pipe");
}

/// Runs `sleep 30` under another name, holding `fd` (inherited across exec).
fn sleep_named(dir: &std::path::Path, name: &std::ffi::OsStr, fd: i32) -> std::process::Child {
    let link = dir.join(name);
    let sleep = Command::new("sh")
        .args(["-c", "command -v sleep"])
        .output()
        .unwrap();
    std::os::unix::fs::symlink(stdout_of(&sleep).trim(), &link).unwrap();
    let mut cmd = Command::new(&link);
    cmd.arg("30");
    inherit(&mut cmd, fd);
    cmd.spawn().unwrap()
}

#[test]
fn hostile_process_names_are_escaped() {
    use std::os::unix::ffi::OsStrExt;
    let (l, port) = listener();
    let dir = std::env::temp_dir().join(format!("portscope-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = std::ffi::OsStr::from_bytes(b"ev\x1b[2J\xffil");
    let mut child = sleep_named(&dir, name, l.as_raw_fd());
    let out = portscope(&["ls", "-H", "-l", "--sport", &port.to_string()])
        .output()
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let text = stdout_of(&out);
    assert!(
        !text.contains('\x1b'),
        "no raw escape reaches the terminal: {text:?}"
    );
    assert!(
        text.contains(&format!("{}/ev\\u{{1b}}[2J\u{fffd}il", child.id())),
        "{text:?}"
    );
}

#[test]
fn processes_coming_and_going_mid_scan() {
    let (l, _) = listener();
    let fd = l.as_raw_fd();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut cmd = Command::new("true");
                inherit(&mut cmd, fd);
                let _ = cmd.status();
            }
        });
        for _ in 0..20 {
            let out = portscope(&["ls"]).output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
            assert!(!stderr_of(&out).contains("panicked"));
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}
