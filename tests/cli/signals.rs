//! Signals end every long-running command promptly, with 130 for Ctrl-C and 143 for SIGTERM,
//! whatever the command is blocked on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::support::*;

fn local_of(event: &str) -> String {
    let v: Value = serde_json::from_str(event).unwrap();
    v["local"].as_str().unwrap().to_string()
}

/// A peer that sends without end and never reads: with --echo, what the listener owes it
/// piles up. It must stall that connection only — not a second client, not Ctrl-C.
#[test]
fn a_peer_that_never_reads_stalls_nobody() {
    let mut cmd = portscope(&["tcp", "listen", "127.0.0.1:0", "--echo", "--json"]);
    cmd.stdin(std::process::Stdio::null());
    let listen = Running::spawn(cmd);
    let addr = local_of(&listen.out_line("\"listening\""));
    let flooding = Arc::new(AtomicBool::new(true));
    let flooder = {
        let mut stream = TcpStream::connect(&addr).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let flooding = flooding.clone();
        std::thread::spawn(move || {
            let chunk = vec![b'x'; 64 * 1024];
            while flooding.load(Ordering::Relaxed) {
                let _ = stream.write(&chunk);
            }
            stream
        })
    };
    let paused = listen.out_line("\"paused\"");
    assert!(paused.contains("\"conn\":1"), "{paused}");

    let mut second = TcpStream::connect(&addr).unwrap();
    second.set_read_timeout(Some(HANG)).unwrap();
    second.write_all(b"hello\n").unwrap();
    let mut echoed = [0u8; 6];
    second.read_exact(&mut echoed).unwrap();
    assert_eq!(&echoed, b"hello\n", "the second client is served");

    listen.signal(libc::SIGINT);
    let mut listen = listen;
    assert_eq!(listen.exit_code(), Some(130));
    flooding.store(false, Ordering::Relaxed);
    drop(flooder.join());
}

/// The pause between `--count` connections is a sleep that Ctrl-C must cut short.
#[test]
fn ctrl_c_ends_the_pause_between_connections() {
    let (l, port) = listener();
    let mut cmd = portscope(&[
        "tcp",
        "connect",
        &format!("127.0.0.1:{port}"),
        "--count",
        "3",
        "--interval",
        "60000",
        "--follow",
        "0",
        "--json",
    ]);
    cmd.stdin(std::process::Stdio::null());
    let connect = Running::spawn(cmd);
    connect.out_line("\"closed\"");
    connect.signal(libc::SIGINT);
    let mut connect = connect;
    assert_eq!(connect.exit_code(), Some(130));
    drop(l);
}

/// SIGTERM is not Ctrl-C: 128 + 15.
#[test]
fn sigterm_exits_143() {
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port().to_string();
    drop(udp);
    let wait = Running::spawn(portscope(&["wait", &port, "--udp", "--timeout", "60"]));
    wait.err_line("waiting for");
    wait.signal(libc::SIGTERM);
    let mut wait = wait;
    assert_eq!(wait.exit_code(), Some(143));
}
