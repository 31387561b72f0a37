//! `bench` when loopback fails it: no hang, one line, exit 2; and signals end a run.

use std::net::SocketAddr;
use std::process::Command;

use socket2::{Domain, Socket, Type};

use crate::support::*;

/// Exit 2 with one `portscope: ` line holding `wanted`; a hang fails after `HANG`.
fn fails_at_once(cmd: Command, wanted: &str) {
    let mut bench = Running::spawn(cmd);
    assert_eq!(bench.exit_code(), Some(2));
    let err = bench.rest_of_stderr();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(err[0].starts_with("portscope: "), "{err:?}");
    assert!(err[0].contains(wanted), "expected {wanted:?} in {err:?}");
}

#[test]
fn bench_with_loopback_down_fails_at_once() {
    let Some(ns) = Netns::new("bench_with_loopback_down_fails_at_once") else {
        return;
    };
    let down = Command::new("ip")
        .args(["-n", &ns.name, "link", "set", "lo", "down"])
        .status()
        .unwrap();
    assert!(down.success());
    // The server binds 127.0.0.1 but no client can reach it: stopping it must not need to.
    fails_at_once(
        ns.portscope(&["bench", "--requests", "10"]),
        "connecting to the bench server",
    );
}

#[test]
fn bench_counts_ports_held_by_bind_up_front() {
    let Some(ns) = Netns::new("bench_counts_ports_held_by_bind_up_front") else {
        return;
    };
    ns.sysctl("net.ipv4.ip_local_port_range", "40000 40099");
    // 60 of the 100 ports held by bind(0) without listen(): the table lists them as BOUND, so
    // bench's up-front check counts them and refuses instead of running out midway.
    let _held: Vec<Socket> = ns.inside(|| {
        (0..60)
            .map(|_| {
                let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
                s.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
                    .unwrap();
                s
            })
            .collect()
    });
    fails_at_once(
        ns.portscope(&["bench", "--requests", "55"]),
        "leaves 39 for that destination",
    );
}

/// A long run (1 MiB each way per request) is under way when the signal comes.
fn bench_ends_on(signal: i32, code: i32, test: &str) {
    let Some(ns) = Netns::new(test) else {
        return;
    };
    ns.sysctl("net.ipv4.ip_local_port_range", "1024 65535");
    let mut bench =
        Running::spawn(ns.portscope(&["bench", "--requests", "20000", "--size", "1048576"]));
    eventually("the bench server listening", || {
        let listening = ns.ls_json(&["-tl"]);
        seen(!listening.is_empty(), listening)
    });
    bench.signal(signal);
    assert_eq!(bench.exit_code(), Some(code));
}

#[test]
fn bench_ends_on_ctrl_c() {
    bench_ends_on(libc::SIGINT, 130, "bench_ends_on_ctrl_c");
}

#[test]
fn bench_ends_on_sigterm() {
    bench_ends_on(libc::SIGTERM, 143, "bench_ends_on_sigterm");
}
