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
        "60s",
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

/// `yes | tcp connect` to a server that accepts and never reads: stdin waits once 1 MiB is
/// queued for the peer (`paused`), and Ctrl-C still ends it.
#[test]
fn ctrl_c_ends_a_client_whose_server_never_reads() {
    let (l, port) = listener();
    let mut yes = std::process::Command::new("yes")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut cmd = portscope(&["tcp", "connect", &format!("127.0.0.1:{port}"), "--json"]);
    cmd.stdin(yes.stdout.take().unwrap());
    let connect = Running::spawn(cmd);
    let (_server, _) = l.accept().unwrap();
    connect.out_line("\"paused\"");
    connect.signal(libc::SIGINT);
    let mut connect = connect;
    assert_eq!(connect.exit_code(), Some(130));
    let _ = yes.kill();
    let _ = yes.wait();
}

/// Following a closed socket for up to a minute (FIN_WAIT2: the server never closes its side)
/// is a wait that Ctrl-C must cut short.
#[test]
fn ctrl_c_ends_following_a_closed_socket() {
    let (l, port) = listener();
    let mut cmd = portscope(&[
        "tcp",
        "connect",
        &format!("127.0.0.1:{port}"),
        "--hold",
        "0.1",
        "--follow",
        "1m",
        "--json",
    ]);
    cmd.stdin(std::process::Stdio::null());
    let connect = Running::spawn(cmd);
    let (_server, _) = l.accept().unwrap();
    connect.out_line("\"FIN_WAIT2\"");
    connect.signal(libc::SIGINT);
    let mut connect = connect;
    assert_eq!(connect.exit_code(), Some(130));
}

/// A pipe nobody reads: once it is full, every write to stdout blocks. A signal must still end
/// the command (std retries a write that EINTR cut short, so this needs care).
fn ends_with_a_full_stdout(mut cmd: std::process::Command, make_output: impl Fn(), signal: i32) {
    use std::os::fd::{AsRawFd, FromRawFd};
    let mut pipe = [0; 2];
    // SAFETY: pipe2 fills two descriptors, owned by the Files made from them at once.
    let (reader, writer) = unsafe {
        assert_eq!(libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC), 0);
        (
            std::fs::File::from_raw_fd(pipe[0]),
            std::fs::File::from_raw_fd(pipe[1]),
        )
    };
    // SAFETY: F_SETPIPE_SZ on our own pipe: one page fills quickly.
    unsafe { libc::fcntl(writer.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    cmd.stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    eventually("stdout's pipe full", || {
        make_output();
        let mut queued: libc::c_int = 0;
        // SAFETY: FIONREAD writes one int.
        unsafe { libc::ioctl(reader.as_raw_fd(), libc::FIONREAD, &mut queued) };
        seen(queued >= 3584, queued)
    });
    // One more round of output, so that a write is blocked when the signal comes.
    make_output();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    let deadline = std::time::Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running {HANG:?} after the signal, with stdout full");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let code = if signal == libc::SIGTERM { 143 } else { 130 };
    assert_eq!(status.code(), Some(code));
    drop(reader);
}

#[test]
fn sigterm_ends_watch_blocked_on_a_full_pipe() {
    let Some(ns) = Netns::new("sigterm_ends_watch_blocked_on_a_full_pipe") else {
        return;
    };
    // Sockets opened and closed in the namespace: an `opened` and a `closed` event each. They
    // live a few of watch's intervals so that its looks see them.
    let churn = || {
        ns.inside(|| {
            let held: Vec<_> = (0..20)
                .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
                .collect();
            std::thread::sleep(Duration::from_millis(150));
            drop(held);
        })
    };
    let watch = ns.portscope(&["watch", "--json", "--interval", "0.05"]);
    ends_with_a_full_stdout(watch, churn, libc::SIGTERM);
}

/// The same for an endpoint's event stream: `tcp listen --json` whose stdout nobody reads.
#[test]
fn ctrl_c_ends_a_listener_blocked_on_a_full_pipe() {
    let Some(ns) = Netns::new("ctrl_c_ends_a_listener_blocked_on_a_full_pipe") else {
        return;
    };
    let listen = ns.portscope(&["tcp", "listen", "127.0.0.1:7000", "--json", "--follow", "0"]);
    // Each connection is several events: accepted, received, eof, closed.
    let connect = || {
        ns.inside(|| {
            for _ in 0..5 {
                if let Ok(mut c) = TcpStream::connect("127.0.0.1:7000") {
                    let _ = c.write_all(&[b'x'; 512]);
                }
            }
        })
    };
    ends_with_a_full_stdout(listen, connect, libc::SIGINT);
}

/// Ctrl-C while `ephemeral sample` makes its connections (most of its time is spent inside
/// connect() and accept(), which the signal interrupts): 130, never an error about the connect.
/// A run may finish before the signal lands (exit 0); then it runs again.
#[test]
fn ctrl_c_ends_ephemeral_sample_with_130() {
    let Some(ns) = Netns::new("ctrl_c_ends_ephemeral_sample_with_130") else {
        return;
    };
    ns.sysctl("net.ipv4.ip_local_port_range", "1024 65535");
    // As many connections as the descriptors allow (two each), for the longest run.
    let mut limit: libc::rlimit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit fills the struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    let n = (limit.rlim_max.saturating_sub(100) / 2)
        .clamp(100, 20_000)
        .to_string();
    let mut interrupted = 0;
    // A run takes about half a second here: often over before the first look at it.
    for _ in 0..40 {
        let mut cmd = ns.portscope(&["ephemeral", "sample", "--connect", &n, "--json"]);
        cmd.stdin(std::process::Stdio::null());
        let mut sample = Running::spawn(cmd);
        eventually("the sample's first connections", || {
            let made = ns.ls_json(&["-t", "--state", "established", "--no-owners"]);
            let done = sample.child.try_wait().unwrap().is_some();
            seen(done || !made.is_empty(), made.len())
        });
        sample.signal(libc::SIGINT);
        match sample.exit_code() {
            Some(130) => interrupted += 1,
            Some(0) => {}
            other => panic!("{other:?}: {:?}", sample.rest_of_stderr()),
        }
        if interrupted >= 3 {
            return;
        }
    }
    assert!(
        interrupted > 0,
        "no run was still going when the signal came"
    );
}

/// A probe waiting on a port that never answers (a listener whose accept queue is full drops
/// the SYN) ends on Ctrl-C with 130 and shows what the round found so far.
#[test]
fn ctrl_c_ends_a_probe_waiting_for_an_answer() {
    let (open, open_port) = listener();
    let (_full, _queued, full_addr) = full_listener();
    let ports = format!("{open_port},{}", full_addr.port());
    let probe = Running::spawn(portscope(&[
        "probe",
        "127.0.0.1",
        &ports,
        "--timeout",
        "1m",
    ]));
    // In flight: the probe's SYN_SENT socket towards the full listener is in the table.
    let dport = full_addr.port().to_string();
    eventually("the probe's SYN_SENT socket", || {
        let sent = ls_json(&["-t", "--state", "syn-sent", "--dport", &dport]);
        seen(!sent.is_empty(), sent)
    });
    probe.signal(libc::SIGINT);
    let mut probe = probe;
    assert_eq!(probe.exit_code(), Some(130));
    let found = probe.out_line(&format!("127.0.0.1:{open_port}/tcp"));
    assert!(found.contains(" open "), "{found}");
    drop(open);
}

/// The lab waits on the kernel between steps (the overflow step for a SYN retransmission,
/// 1 s at least): Ctrl-C ends it there with 130.
#[test]
fn ctrl_c_ends_the_lifecycle_lab() {
    let lab = Running::spawn(portscope(&["lifecycle"]));
    lab.out_line("Step 1 ");
    lab.signal(libc::SIGINT);
    let mut lab = lab;
    assert_eq!(lab.exit_code(), Some(130));
}
