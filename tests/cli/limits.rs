//! Limits set with `ulimit` in a child shell: descriptors (`-n`), address space (`-v`). The
//! command keeps working with what it has, or says in one line why it cannot.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use crate::support::*;

/// 100 clients against a listener allowed 64 descriptors: it says once that it ran out, keeps
/// serving those it has, and takes the others as descriptors free up (it used to exit 2).
#[test]
fn tcp_listen_keeps_serving_out_of_descriptors() {
    let Some(ns) = Netns::new("tcp_listen_keeps_serving_out_of_descriptors") else {
        return;
    };
    let mut cmd = ns.portscope_limited(
        "-n 64",
        &[
            "tcp",
            "listen",
            "127.0.0.1:7000",
            "--echo",
            "--json",
            "--follow",
            "0",
        ],
    );
    cmd.stdin(std::process::Stdio::null());
    let mut listen = Running::spawn(cmd);
    listen.out_line("\"listening\"");
    // Connected in order, so the accept queue hands them over in order too.
    let mut clients: Vec<TcpStream> = ns.inside(|| {
        (0..100)
            .map(|_| {
                let mut c = TcpStream::connect("127.0.0.1:7000").unwrap();
                c.write_all(b"hello\n").unwrap();
                c
            })
            .collect()
    });
    let said = listen.out_line("\"error\"");
    assert!(said.contains("accepting: EMFILE"), "{said}");
    // The first 60 leave; the last 40 must then be accepted and answered.
    let last: Vec<TcpStream> = clients.split_off(60);
    drop(clients);
    for mut client in last {
        client.set_read_timeout(Some(HANG)).unwrap();
        let mut echoed = [0u8; 6];
        client.read_exact(&mut echoed).unwrap();
        assert_eq!(&echoed, b"hello\n");
    }
    assert_eq!(listen.child.try_wait().unwrap(), None, "still serving");
    listen.signal(libc::SIGINT);
    assert_eq!(listen.exit_code(), Some(130));
    let rest = listen.rest_of_stdout();
    // (The 60 that left without reading their echo reset their connections: errors of
    // those connections, not of accepting.)
    let errors: Vec<&String> = rest.iter().filter(|l| l.contains("accepting")).collect();
    assert!(
        errors.is_empty(),
        "the lack is reported once, not per attempt: {errors:?}"
    );
}

/// A namespace with a listener on 7001 and nothing on 1-20.
fn with_listener(test: &str) -> Option<(Netns, TcpListener)> {
    let ns = Netns::new(test)?;
    let listener = ns.inside(|| TcpListener::bind("127.0.0.1:7001").unwrap());
    Some((ns, listener))
}

#[test]
fn probe_under_16_descriptors_still_finds_the_open_port() {
    let Some((ns, _listener)) =
        with_listener("probe_under_16_descriptors_still_finds_the_open_port")
    else {
        return;
    };
    let out = ns
        .portscope_limited("-n 16", &["probe", "127.0.0.1", "7001,1-20"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(text.contains("127.0.0.1:7001/tcp         open"), "{text}");
    assert!(
        text.ends_with("21 probes: 1 open, 20 closed\n"),
        "no port fails for want of a descriptor: {text}{}",
        stderr_of(&out)
    );
}

#[test]
fn probe_parallel_above_the_limit_is_lowered_not_failed() {
    let Some((ns, _listener)) =
        with_listener("probe_parallel_above_the_limit_is_lowered_not_failed")
    else {
        return;
    };
    let out = ns
        .portscope_limited(
            "-n 1024",
            &[
                "probe",
                "127.0.0.1",
                "1-20000",
                "--parallel",
                "5000",
                "--open",
            ],
        )
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.ends_with("20000 probes: 1 open, 19999 closed\n"),
        "{}",
        &text[text.len().saturating_sub(300)..]
    );
    let err = stderr_of(&out);
    assert!(
        err.starts_with("portscope: note: --parallel 5000 lowered to ") && err.lines().count() == 1,
        "{err}"
    );
}

/// `--count 0` keeps running figures, not every result: memory stays flat round after round.
#[test]
fn probe_repeating_forever_keeps_memory_flat() {
    let Some((ns, _listener)) = with_listener("probe_repeating_forever_keeps_memory_flat") else {
        return;
    };
    let probe = Running::spawn(ns.portscope(&[
        "probe",
        "127.0.0.1",
        "1-2000",
        "--count",
        "0",
        "--interval",
        "0",
    ]));
    let resident = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", probe.child.id())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap()
            .to_string();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    probe.out_line("seq 5)");
    let before = resident();
    // Five rounds at a time, so that a slow (loaded) machine is not taken for a hang.
    for round in (10..=45).step_by(5) {
        probe.out_line(&format!("seq {round})"));
    }
    let after = resident();
    // Keeping every result grew by about 90 bytes a probe: about 7 MB over these 80,000.
    assert!(
        after < before + 3 * 1024,
        "resident memory grew from {before} kB to {after} kB"
    );
    probe.signal(libc::SIGINT);
    let mut probe = probe;
    assert_eq!(probe.exit_code(), Some(130));
    let rest = probe.rest_of_stdout();
    assert!(
        rest.iter()
            .any(|l| l.starts_with("--- 127.0.0.1:2000/tcp: 4")),
        "the statistics, after Ctrl-C: {:?}",
        &rest[rest.len().saturating_sub(3)..]
    );
}

/// A list repeating 1-65535 14,000 times (112 kB) is one set of ports, parsed in bounded
/// memory: the unknown host is the error, not the allocator (it used to take 1.8 GB).
#[test]
fn a_port_list_repeating_a_range_costs_the_range_once() {
    let spec = vec!["1-65535"; 14_000].join(",");
    let out = portscope_limited("-v 400000", &["probe", "nowhere.invalid", &spec])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).starts_with("portscope: unknown host 'nowhere.invalid'"),
        "{}",
        stderr_of(&out)
    );
}

/// No thread can be started: every thread asks for a 500 MB stack (RUST_MIN_STACK) in a
/// 400 MB address space. Probe runs on the calling thread; bench, which needs a server
/// thread beside its client, says so in one line. Both used to panic (exit 101).
#[test]
fn without_threads_probe_works_and_bench_explains() {
    let Some((ns, _listener)) = with_listener("without_threads_probe_works_and_bench_explains")
    else {
        return;
    };
    let no_threads = |args: &[&str]| {
        let mut cmd = ns.portscope_limited("-v 400000", args);
        cmd.env("RUST_MIN_STACK", "500000000");
        cmd.output().unwrap()
    };
    let out = no_threads(&["probe", "127.0.0.1", "7001,1-2000", "--open"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).ends_with("2001 probes: 1 open, 2000 closed\n"),
        "{}",
        stdout_of(&out)
    );
    let out = no_threads(&["bench", "--requests", "10"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("portscope: starting the bench server"),
        "{err}"
    );
}

/// Buffers the address space cannot hold: refused before anything starts, in one line (this
/// used to abort with "memory allocation failed").
#[test]
fn bench_buffers_beyond_the_address_space_are_refused_up_front() {
    let out = portscope_limited(
        "-v 400000",
        &["bench", "--size", "16777216", "--concurrency", "64"],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("portscope: --size 16777216 with --concurrency 64 needs "),
        "{err}"
    );
}
