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

/// Sends `fd` over `via` (SCM_RIGHTS): the socket then lives in the message, in no process's
/// descriptor table, until someone receives it.
fn send_fd(via: &std::os::unix::net::UnixStream, fd: i32) {
    use std::os::fd::AsRawFd;
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<i32>() as u32) } as usize;
    let mut control = vec![0u8; space];
    // SAFETY: msghdr is plain data; every pointer set below outlives the sendmsg call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space as _;
    // SAFETY: the control buffer has room for one header and one descriptor.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<i32>() as u32) as _;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<i32>(), fd);
        assert_eq!(libc::sendmsg(via.as_raw_fd(), &msg, 0), 1);
    }
}

/// Run as root, an owner that cannot be found is not "another user's": no advice to run as
/// root. A listener whose only descriptor is in flight over a Unix socket has no holder.
#[test]
fn root_is_not_told_to_run_as_root() {
    if !is_root() {
        return skip("root_is_not_told_to_run_as_root", "needs root");
    }
    use std::os::fd::IntoRawFd;
    let (l, port) = listener();
    let (tx, _rx) = std::os::unix::net::UnixStream::pair().unwrap();
    let fd = l.into_raw_fd();
    send_fd(&tx, fd);
    // SAFETY: our copy of the descriptor, closed once; the message holds the socket.
    unsafe { libc::close(fd) };
    let out = portscope(&["who", &port.to_string()]).output().unwrap();
    let text = stdout_of(&out);
    assert!(text.starts_with(&format!("{port}/tcp LISTEN")), "{text}");
    assert!(!text.contains("run as root"), "{text}");
    assert!(text.contains("owner not found"), "{text}");
}

/// `lsof -i :8080` and `fuser 8080/tcp` habits: `who :PORT`, `who PORT/tcp`, `who PORT/udp`.
#[test]
fn lsof_and_fuser_spellings_of_the_port() {
    let (_l, port) = listener();
    let Ok(_udp) = UdpSocket::bind(("127.0.0.1", port)) else {
        return skip(
            "lsof_and_fuser_spellings_of_the_port",
            "the UDP port was taken",
        );
    };
    for (spelling, protos) in [
        (format!(":{port}"), vec!["tcp", "udp"]),
        (format!("{port}/tcp"), vec!["tcp"]),
        (format!("{port}/udp"), vec!["udp"]),
    ] {
        let sockets = json_of(portscope(&["who", &spelling, "--json"]));
        let mut seen: Vec<_> = sockets.iter().map(|s| s.proto.as_str()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, protos, "{spelling}: {sockets:#?}");
        assert!(sockets.iter().all(|s| s.local_port == port), "{spelling}");
    }
}
