//! `portscope kill --destroy`: single sockets closed through sock_diag SOCK_DESTROY (like
//! `ss -K`), each outcome said as the kernel's abort has it, in private namespaces.

use std::io::{Read, Write};
use std::net::TcpListener;

use crate::kill::target_lines;
use crate::support::*;

#[test]
fn kill_destroy_resets_one_of_two_connections() {
    let test = "kill_destroy_resets_one_of_two_connections";
    let Some(ns) = Netns::new(test) else { return };
    let (l, mut one, mut two, server_one, mut server_two) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let (one, server_one) = pair(&l);
        let (two, server_two) = pair(&l);
        (l, one, two, server_one, server_two)
    });
    let local = server_one.local_addr().unwrap().to_string();
    let remote = server_one.peer_addr().unwrap().to_string();

    let dry = ns
        .portscope(&["kill", "--destroy", &local, &remote, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{}", stderr_of(&dry));
    assert_eq!(target_lines(&dry).len(), 1, "{}", stdout_of(&dry));

    let text = destroy(&ns, &[&local, &remote, "--yes"], 0);
    assert_eq!(text.matches(": reset").count(), 1, "{text}");
    let line = format!("tcp {local} → {remote} ESTABLISHED: reset");
    assert!(text.contains(&line), "{text}");

    // The destroyed end's peer gets a reset; the other connection still carries data.
    one.set_read_timeout(Some(HANG)).unwrap();
    let err = one.read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    server_two.write_all(b"ping").unwrap();
    let mut got = [0; 4];
    two.set_read_timeout(Some(HANG)).unwrap();
    two.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"ping");
    drop((l, server_one));
}

#[test]
fn kill_destroy_cannot_close_a_socket_only_bound_and_says_so() {
    let test = "kill_destroy_cannot_close_a_socket_only_bound_and_says_so";
    let Some(ns) = Netns::new(test) else { return };
    // Bound, never listening nor connected: the kernel's lookup tables do not hold it.
    let (bound, port) = ns.inside(|| {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        s.bind(&any.into()).unwrap();
        let port = s.local_addr().unwrap().as_socket().unwrap().port();
        (s, port.to_string())
    });
    let text = destroy(&ns, &["--sport", &port, "--yes"], 2);
    assert!(
        text.contains(&format!(
            "tcp 127.0.0.1:{port} → 0.0.0.0:* BOUND: not closed"
        )),
        "{text}"
    );
    assert!(
        text.contains("portscope kill"),
        "what to do instead: {text}"
    );
    let left = ns.ls_json(&["--sport", &port]);
    assert_eq!(left.len(), 1, "still there: {left:?}");
    assert_eq!(left[0].state, "BOUND");
    drop(bound);
}

#[test]
fn kill_destroy_says_what_the_kernel_did_to_a_time_wait_and_a_listener() {
    let test = "kill_destroy_says_what_the_kernel_did_to_a_time_wait_and_a_listener";
    let Some(ns) = Netns::new(test) else { return };
    let (l, mut queued, closed_port) = ns.inside(|| {
        // The server's end closes first: its TIME_WAIT stays on the closed listener's port.
        let first = TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, server) = pair(&first);
        let closed_port = first.local_addr().unwrap().port().to_string();
        drop((server, first));
        drop(client);
        // A listener with a connection in its accept queue.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let queued = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        (l, queued, closed_port)
    });
    let port = l.local_addr().unwrap().port().to_string();

    let text = destroy(&ns, &["--sport", &closed_port, "--yes"], 0);
    assert!(
        text.contains("TIME_WAIT — no process: closed by its owner"),
        "{text}"
    );
    assert!(
        text.contains("TIME_WAIT: removed (") && !text.contains("RST"),
        "nothing is sent for a TIME_WAIT: {text}"
    );
    assert!(ns.ls_json(&["--sport", &closed_port]).is_empty());

    let queue = ns
        .portscope(&["kill", "--destroy", "--sport", &port, "--dry-run"])
        .output()
        .unwrap();
    let text = stdout_of(&queue);
    assert!(
        text.contains("ESTABLISHED — no process yet: waiting in the listener's accept queue"),
        "{text}"
    );
    let text = destroy(&ns, &["--sport", &port, "-l", "--yes"], 0);
    assert!(
        text.contains("LISTEN: closed (it no longer listens: accept() fails; connections waiting in its queue get RST)"),
        "{text}"
    );
    queued.set_read_timeout(Some(HANG)).unwrap();
    let err = queued.read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    let err = l.accept().unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EINVAL), "{err}");
}

#[test]
fn kill_destroy_resets_a_connection_bound_to_a_device() {
    // The kernel finds a socket bound with SO_BINDTODEVICE only when the request names the
    // interface its dump gave; without it the connection read as already gone.
    let test = "kill_destroy_resets_a_connection_bound_to_a_device";
    let Some(ns) = Netns::new(test) else { return };
    let (l, mut client, server) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.bind_device(Some(b"lo")).unwrap();
        socket.connect(&l.local_addr().unwrap().into()).unwrap();
        let client: std::net::TcpStream = socket.into();
        let (server, _) = l.accept().unwrap();
        (l, client, server)
    });
    let local = client.local_addr().unwrap().to_string();
    let remote = client.peer_addr().unwrap().to_string();
    let text = destroy(&ns, &[&local, &remote, "--yes"], 0);
    let line = format!("tcp {local} → {remote} ESTABLISHED: reset");
    assert!(text.contains(&line), "{text}");
    // The kernel aborted the client's end: its next read fails, and its peer got a reset.
    client.set_read_timeout(Some(HANG)).unwrap();
    assert!(client.read(&mut [0; 8]).is_err());
    let mut server = server;
    server.set_read_timeout(Some(HANG)).unwrap();
    let err = server.read(&mut [0; 8]).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err}");
    drop(l);
}

/// `kill --destroy ARGS` in the namespace: its output, once its exit status is `status`.
fn destroy(ns: &Netns, args: &[&str], status: i32) -> String {
    let mut all = vec!["kill", "--destroy"];
    all.extend_from_slice(args);
    let out = ns.portscope(&all).output().unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(status), "{text}{}", stderr_of(&out));
    text
}
