//! `portscope exporter`: its output checked by promtool, scraped by a real Prometheus, written
//! as a textfile under a reader, and served to 200 concurrent scrapers beside 20,000 sockets.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// Starts the exporter and returns it with the address its ready line names.
fn start(mut cmd: Command) -> (Running, SocketAddr) {
    cmd.env("NO_COLOR", "1");
    let running = Running::spawn(cmd);
    let line = running.err_line("serving metrics on http://");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split("/metrics").next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?}"));
    (running, addr)
}

/// One HTTP/1.0 request (so that no server answers in chunks); the head and the body.
fn get(addr: SocketAddr, path: &str, accept: Option<&str>) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(HANG)).unwrap();
    let accept = accept.map_or(String::new(), |a| format!("Accept: {a}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{accept}\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (head.to_string(), body.to_string())
}

/// The status code of an answer's head.
fn status(head: &str) -> Option<u16> {
    head.split_whitespace().nth(1)?.parse().ok()
}

/// promtool's verdict on exposition text; None (and a loud skip) without promtool.
fn promtool(test: &str, text: &str) -> Option<String> {
    if !have("promtool") {
        skip(
            test,
            "promtool is missing (Debian package prometheus) for its part",
        );
        return None;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some(if out.status.success() {
        String::new()
    } else {
        format!("{}{}", stdout_of(&out), stderr_of(&out))
    })
}

/// The value of the series whose line starts with `prefix` (name and first labels) and
/// holds every one of `labels`.
fn value(text: &str, prefix: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(prefix) && labels.iter().all(|want| l.contains(want)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn once_passes_promtool_and_counts_the_tests_listener() {
    let test = "once_passes_promtool_and_counts_the_tests_listener";
    let (l, port) = listener();
    let _pairs: Vec<_> = (0..3).map(|_| pair(&l)).collect();
    let out = portscope(&["exporter", "--once"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    let at_port = format!("port=\"{port}\"");
    let established = value(
        &text,
        "portscope_listener_connections{proto=\"tcp\"",
        &[&at_port, "state=\"ESTABLISHED\""],
    );
    assert_eq!(established, Some(3.0), "{text}");
    assert_eq!(
        value(&text, "portscope_listener_accept_queue{", &[&at_port]),
        Some(0.0)
    );
    if is_root() {
        assert!(
            text.lines()
                .any(|l| l.contains(&at_port) && !l.contains("process=\"-\"")),
            "root sees the test's own process: {text}"
        );
    }
    for name in [
        "portscope_sockets",
        "portscope_ephemeral_range_size",
        "portscope_tcp_listen_overflows_total",
        "portscope_tcp_listen_drops_total",
        "portscope_owners_visible",
        "portscope_scrape_duration_seconds",
        "portscope_scrape_errors_total",
        "portscope_build_info",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
    }
    if let Some(complaints) = promtool(test, &text) {
        assert_eq!(complaints, "", "promtool check metrics");
    }
}

#[test]
fn http_serves_both_formats_drops_silent_clients_and_ends_on_sigterm() {
    let test = "http_serves_both_formats_drops_silent_clients_and_ends_on_sigterm";
    let (mut exporter, addr) = start(portscope(&[
        "exporter",
        "--listen",
        "127.0.0.1:0",
        "--client-timeout",
        "5",
        "--probe",
        "127.0.0.1:1",
    ]));
    assert!(addr.ip().is_loopback());
    // A client that connects and says nothing is answered 408 and dropped after the timeout;
    // the scrapes below are served meanwhile. (The timeout is also the scrapes' deadline: the
    // first look reads every process, slow on a loaded machine, so it is not cut to 1 s.)
    let mut silent = TcpStream::connect(addr).unwrap();
    silent.set_read_timeout(Some(HANG)).unwrap();

    let (head, text) = get(addr, "/metrics", None);
    assert_eq!(status(&head), Some(200), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    assert_eq!(value(&text, "probe_success{", &["127.0.0.1:1"]), Some(0.0));
    if let Some(complaints) = promtool(test, &text) {
        assert_eq!(complaints, "", "promtool check metrics");
    }
    let (head, open) = get(
        addr,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
    );
    assert!(head.contains("application/openmetrics-text"), "{head}");
    assert!(open.ends_with("# EOF\n"), "{open}");
    let (head, _) = get(addr, "/nothing", None);
    assert_eq!(status(&head), Some(404), "{head}");

    let mut dropped = String::new();
    silent.read_to_string(&mut dropped).unwrap();
    assert!(dropped.starts_with("HTTP/1.1 408"), "{dropped:?}");

    exporter.signal(libc::SIGTERM);
    assert_eq!(exporter.exit_code(), Some(143));
}

#[test]
fn clients_slow_to_send_their_request_hold_no_worker() {
    // Two workers and ten clients that send half a request head and stop (each has 30 s to
    // finish it): a scrape is answered while every one of them still waits.
    let (mut exporter, addr) = start(portscope(&[
        "exporter",
        "--listen",
        "127.0.0.1:0",
        "--max-clients",
        "2",
        "--client-timeout",
        "30",
    ]));
    let slow: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: a\r\n")
                .unwrap();
            stream
        })
        .collect();
    let (head, text) = get(addr, "/metrics", None);
    assert_eq!(status(&head), Some(200), "{head}");
    assert!(text.contains("portscope_build_info"), "{text}");
    for mut stream in &slow {
        stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let read = stream.read(&mut byte);
        assert!(
            read.as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
            "a slow client was answered before its time: {read:?}"
        );
    }
    exporter.signal(libc::SIGTERM);
    assert_eq!(exporter.exit_code(), Some(143));
}

#[test]
fn textfile_is_replaced_whole_under_a_reader() {
    let test = "textfile_is_replaced_whole_under_a_reader";
    let dir = std::env::temp_dir().join(format!("portscope-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("portscope.prom");
    let mut exporter = Running::spawn(portscope(&[
        "exporter",
        "--textfile",
        path.to_str().unwrap(),
        "--interval",
        "0.1",
    ]));
    exporter.err_line("writing");
    // Every read is a whole file (it ends with the last family), and it changes under us.
    let mut versions = std::collections::HashSet::new();
    let mut last = String::new();
    let deadline = Instant::now() + HANG;
    while versions.len() < 10 {
        assert!(
            Instant::now() < deadline,
            "{} versions seen",
            versions.len()
        );
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // not written yet
        };
        assert!(
            text.starts_with("# HELP portscope_sockets ")
                && text.ends_with(&format!(
                    "portscope_build_info{{version=\"{}\"}} 1\n",
                    env!("CARGO_PKG_VERSION")
                )),
            "a partial file: {text:?}"
        );
        versions.insert(value(&text, "portscope_scrape_duration_seconds ", &[]).map(f64::to_bits));
        last = text;
    }
    exporter.signal(libc::SIGTERM);
    assert_eq!(exporter.exit_code(), Some(143));
    if let Some(complaints) = promtool(test, &last) {
        assert_eq!(complaints, "", "promtool check metrics");
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["portscope.prom"], "no temporary file left");
    let once = portscope(&["exporter", "--once", "--textfile", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(once.status.code(), Some(0), "{}", stderr_of(&once));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .contains("portscope_build_info")
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Waits until a connect() towards loopback `port` is in SYN_SENT: a probe under way.
fn probing(port: u16) {
    let dport = port.to_string();
    eventually("the probe's SYN_SENT socket", || {
        let sent = ls_json(&["-t", "--state", "syn-sent", "--dport", &dport]);
        seen(!sent.is_empty(), sent)
    });
}

#[test]
fn a_look_cut_short_by_sigterm_is_not_written() {
    let test = "a_look_cut_short_by_sigterm_is_not_written";
    let (_full, _queued, full) = full_listener();
    let target = full.to_string();
    let dir = std::env::temp_dir().join(format!("portscope-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("portscope.prom");
    let textfile = path.to_str().unwrap();
    let probe = ["--probe", &target, "--probe-timeout", "1m"];
    // SIGTERM while the probe waits: its failure would be false, so nothing is written.
    for run in [
        vec!["exporter", "--once", "--textfile", textfile],
        vec!["exporter", "--textfile", textfile, "--interval", "0.1"],
    ] {
        let mut exporter = Running::spawn(portscope(&[run.as_slice(), &probe].concat()));
        probing(full.port());
        exporter.signal(libc::SIGTERM);
        assert_eq!(exporter.exit_code(), Some(143), "{run:?}");
        assert!(!path.exists(), "{run:?}: an interrupted look was written");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_textfile_that_cannot_be_written_is_refused_at_start() {
    let test = "a_textfile_that_cannot_be_written_is_refused_at_start";
    let dir = std::env::temp_dir().join(format!("portscope-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("no-such-dir").join("portscope.prom");
    for (path, says) in [
        (missing.as_path(), "the directory does not exist"),
        (dir.as_path(), "it is a directory"),
    ] {
        let mut exporter = Running::spawn(portscope(&[
            "exporter",
            "--textfile",
            path.to_str().unwrap(),
        ]));
        assert_eq!(exporter.exit_code(), Some(2), "{path:?}");
        let err = exporter.rest_of_stderr();
        assert_eq!(err.len(), 1, "{err:?}");
        assert!(
            err[0].starts_with("portscope: writing the textfile ") && err[0].contains(says),
            "{err:?}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
    if let Some(as_nobody) = as_nobody(test) {
        // A directory this user may not write to: why, and what to do.
        let out = as_nobody(&["exporter", "--once", "--textfile", "/portscope.prom"]);
        assert_eq!(out.status.code(), Some(2));
        let err = stderr_of(&out);
        assert!(
            err.contains("Permission denied") && err.contains("must be able to write"),
            "{err}"
        );
    }
}

#[test]
fn bad_listen_addresses_and_probe_targets_are_one_line_errors() {
    let (_l, port) = listener();
    let taken = format!("127.0.0.1:{port}");
    for (args, says) in [
        (vec!["--listen", taken.as_str()], "address in use"),
        (vec!["--listen", "127.0.0.1:99999"], "--listen"),
        (
            vec!["--probe", "nothing.invalid:80"],
            "--probe nothing.invalid:80",
        ),
        (vec!["--interval", "0.01"], "--interval must be"),
    ] {
        let out = portscope(&[&["exporter"], args.as_slice()].concat())
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("portscope: ") && err.contains(says),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn unprivileged_it_says_owners_are_hidden() {
    let test = "unprivileged_it_says_owners_are_hidden";
    let Some(as_nobody) = as_nobody(test) else {
        return;
    };
    let (_l, port) = listener();
    let out = as_nobody(&["exporter", "--once"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert_eq!(value(&text, "portscope_owners_visible ", &[]), Some(0.0));
    let at_port = format!("port=\"{port}\"");
    assert_eq!(
        value(
            &text,
            "portscope_listener_accept_queue{",
            &[&at_port, "process=\"-\""]
        ),
        Some(0.0),
        "root's listener is there, its process hidden: {text}"
    );
}

/// A port no one listens on now, from the kernel (bind 0, then let go).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GET on Prometheus's query API; the JSON answer.
fn query(prometheus: u16, promql: &str) -> serde_json::Value {
    let encoded: String = promql
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let addr = SocketAddr::from(([127, 0, 0, 1], prometheus));
    let (head, body) = get(addr, &format!("/api/v1/query?query={encoded}"), None);
    assert_eq!(status(&head), Some(200), "{head}\n{body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The single value of an instant query's result, if there is exactly one series.
fn single(answer: &serde_json::Value) -> Option<String> {
    let result = answer["data"]["result"].as_array()?;
    match result.as_slice() {
        [one] => one["value"][1].as_str().map(str::to_string),
        _ => None,
    }
}

#[test]
fn a_real_prometheus_scrapes_it() {
    let test = "a_real_prometheus_scrapes_it";
    if !have("prometheus") {
        return skip(test, "prometheus is missing (Debian package prometheus)");
    }
    let (l, port) = listener();
    let _pairs: Vec<_> = (0..2).map(|_| pair(&l)).collect();
    let (_exporter, addr) = start(portscope(&["exporter", "--listen", "127.0.0.1:0"]));
    let dir = std::env::temp_dir().join(format!("portscope-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: portscope\n    static_configs:\n      \
             - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let web = free_port();
    let mut cmd = Command::new("prometheus");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .current_dir(&dir);
    let prometheus = Running::spawn(cmd);
    prometheus.err_line("Server is ready to receive web requests");

    // Until Prometheus has scraped and stored both answers; its own clock decides when.
    let deadline = Instant::now() + Duration::from_secs(30);
    let connections = format!(
        "portscope_listener_connections{{job=\"portscope\",port=\"{port}\",state=\"ESTABLISHED\"}}"
    );
    let (mut up, mut stored) = (None, None);
    while up.as_deref() != Some("1") || stored.as_deref() != Some("2") {
        assert!(
            Instant::now() < deadline,
            "up: {up:?}, connections: {stored:?}"
        );
        up = single(&query(web, "up{job=\"portscope\"}"));
        stored = single(&query(web, &connections));
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Raises this process's soft open-files limit to `wanted`, within the hard limit.
fn raise_fd_limit(wanted: u64) -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit on a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_max < wanted {
            return false;
        }
        limit.rlim_cur = limit.rlim_cur.max(wanted);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0
    }
}

#[test]
fn two_hundred_concurrent_scrapes_beside_twenty_thousand_sockets() {
    let test = "two_hundred_concurrent_scrapes_beside_twenty_thousand_sockets";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    if !raise_fd_limit(12_000) {
        return skip(test, "cannot raise the open-files limit to 12,000");
    }
    // The server sides wait in one listener's accept queue: sockets without descriptors.
    ns.sysctl("net.core.somaxconn", "16384");
    // Each scrape may wait for the look under way and then a whole look of its own (debug
    // build, 20,000 sockets, a loaded machine): the deadline leaves room for that; the silent
    // client is dropped at the same time.
    let (mut exporter, addr) = start(ns.portscope(&[
        "exporter",
        "--listen",
        "127.0.0.1:0",
        "--client-timeout",
        "5",
    ]));
    let pid = exporter.child.id();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(
        comm.trim(),
        "portscope",
        "ip netns exec execs portscope itself"
    );
    ns.inside(|| {
        // 10,000 connections, never accepted: 20,000 ESTABLISHED sockets, the clients'
        // descriptors in this process and the server sides in the listener's accept queue.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        // SAFETY: listen(2) again on a listening socket only changes its backlog.
        assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 10_000) }, 0);
        let at_port = format!("port=\"{}\"", l.local_addr().unwrap().port());
        let clients: Vec<_> = (0..10_000)
            .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
            .collect();
        let mut silent = TcpStream::connect(addr).unwrap();
        silent.set_read_timeout(Some(HANG)).unwrap();
        let answers: Vec<(String, String)> = std::thread::scope(|scope| {
            let scrapers: Vec<_> = (0..200)
                .map(|_| scope.spawn(|| get(addr, "/metrics", None)))
                .collect();
            scrapers.into_iter().map(|s| s.join().unwrap()).collect()
        });
        for (head, text) in &answers {
            assert_eq!(status(head), Some(200), "{head}");
            let established = value(
                text,
                "portscope_sockets{",
                &["proto=\"tcp\"", "family=\"ipv4\"", "state=\"ESTABLISHED\""],
            );
            assert!(established >= Some(20_000.0), "{established:?}");
            let queue = value(text, "portscope_listener_accept_queue{", &[&at_port]);
            assert_eq!(queue, Some(10_000.0), "the accept queue, full");
        }
        let mut dropped = String::new();
        silent.read_to_string(&mut dropped).unwrap();
        assert!(dropped.starts_with("HTTP/1.1 408"), "{dropped:?}");
        drop(clients);
    });
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "{test}: exporter peak RSS {peak_kib} KiB after 200 scrapes of 20,000 sockets"
    );
    assert!(peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
    exporter.signal(libc::SIGTERM);
    assert_eq!(exporter.exit_code(), Some(143));
}
