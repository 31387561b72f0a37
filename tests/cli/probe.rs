//! `portscope probe` inside a private network namespace: every status it can tell apart.

use std::net::{TcpListener, UdpSocket};

use serde::Deserialize;

use crate::support::*;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Probe {
    host: String,
    addr: String,
    port: u16,
    proto: String,
    status: String,
    rtt_ms: Option<f64>,
    local_port: Option<u16>,
    error: Option<String>,
    detail: Option<String>,
    attempt: Option<u64>,
    #[serde(default)]
    unreliable: bool,
}

/// The namespace's scene: an accepting listener, a listener whose accept queue is full, a UDP
/// echo server, and a free TCP and UDP port.
struct Scene {
    ns: Netns,
    open: u16,
    full: u16,
    free: u16,
    udp_echo: u16,
    udp_free: u16,
    _held: Vec<Box<dyn Send>>,
}

fn scene(test: &str) -> Option<Scene> {
    let ns = Netns::new(test)?;
    let (ports, held) = ns.inside(|| {
        let open = TcpListener::bind("127.0.0.1:0").unwrap();
        let (full, queued, full_addr) = full_listener();
        let echo = UdpSocket::bind("127.0.0.1:0").unwrap();
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let udp_free = UdpSocket::bind("127.0.0.1:0").unwrap();
        let ports = [
            open.local_addr().unwrap().port(),
            full_addr.port(),
            free.local_addr().unwrap().port(),
            echo.local_addr().unwrap().port(),
            udp_free.local_addr().unwrap().port(),
        ];
        drop((free, udp_free));
        let server = echo.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = server.recv_from(&mut buf) {
                let _ = server.send_to(&buf[..n], from);
            }
        });
        let held: Vec<Box<dyn Send>> = vec![
            Box::new(open),
            Box::new(full),
            Box::new(queued),
            Box::new(echo),
        ];
        (ports, held)
    });
    let [open, full, free, udp_echo, udp_free] = ports;
    Some(Scene {
        ns,
        open,
        full,
        free,
        udp_echo,
        udp_free,
        _held: held,
    })
}

fn probe(ns: &Netns, args: &[&str]) -> (Option<i32>, Vec<Probe>) {
    let mut all = vec!["probe", "--json"];
    all.extend_from_slice(args);
    let out = ns.portscope(&all).output().unwrap();
    let results = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout_of(&out), stderr_of(&out)));
    (out.status.code(), results)
}

fn statuses(results: &[Probe]) -> Vec<(u16, String)> {
    results.iter().map(|p| (p.port, p.status.clone())).collect()
}

#[test]
fn tcp_open_closed_filtered() {
    let Some(sc) = scene("tcp_open_closed_filtered") else {
        return;
    };
    let ports = format!("{},{},{}", sc.open, sc.full, sc.free);
    let (code, results) = probe(&sc.ns, &["127.0.0.1", &ports, "--timeout", "400ms"]);
    assert_eq!(code, Some(1), "not every port is open");
    let mut expected = vec![
        (sc.open, "open".to_string()),
        (sc.full, "filtered".to_string()),
        (sc.free, "closed".to_string()),
    ];
    expected.sort();
    assert_eq!(statuses(&results), expected, "in port order: {results:#?}");
    let open = results.iter().find(|p| p.port == sc.open).unwrap();
    assert!(
        open.rtt_ms.is_some() && open.local_port.is_some(),
        "{open:?}"
    );
    assert_eq!(open.host, "127.0.0.1");
    let filtered = results.iter().find(|p| p.port == sc.full).unwrap();
    assert_eq!(filtered.rtt_ms, None, "no answer, no RTT");

    let (code, results) = probe(&sc.ns, &["127.0.0.1", &sc.open.to_string()]);
    assert_eq!(code, Some(0), "all open");
    assert_eq!(results.len(), 1);
}

#[test]
fn udp_open_and_closed() {
    let Some(sc) = scene("udp_open_and_closed") else {
        return;
    };
    let ports = format!("{},{}", sc.udp_echo, sc.udp_free);
    let (code, results) = probe(&sc.ns, &["127.0.0.1", &ports, "--udp", "--payload", "ping"]);
    assert_eq!(code, Some(1));
    let mut expected = vec![
        (sc.udp_echo, "open".to_string()),
        (sc.udp_free, "closed".to_string()),
    ];
    expected.sort();
    assert_eq!(statuses(&results), expected, "{results:#?}");
    let closed = results.iter().find(|p| p.port == sc.udp_free).unwrap();
    assert_eq!(closed.detail.as_deref(), Some("ICMP port unreachable"));
}

#[test]
fn repeat_mode_counts_and_summarises() {
    let Some(sc) = scene("repeat_mode_counts_and_summarises") else {
        return;
    };
    let port = sc.open.to_string();
    let (code, results) = probe(
        &sc.ns,
        &["127.0.0.1", &port, "--count", "3", "--interval", "10ms"],
    );
    assert_eq!(code, Some(0));
    let attempts: Vec<_> = results.iter().map(|p| p.attempt).collect();
    assert_eq!(attempts, [Some(1), Some(2), Some(3)]);
    let out = sc
        .ns
        .portscope(&[
            "probe",
            "127.0.0.1",
            &port,
            "--count",
            "2",
            "--interval",
            "10ms",
        ])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(text.contains("seq 2"), "{text}");
    assert!(
        text.contains(": 2 probes, 2 open, 0 closed, 0% loss; rtt min/avg/max = "),
        "{text}"
    );
}

/// tcping: an RST is an answer (closed), with its round-trip time; only silence is loss.
#[test]
fn repeat_mode_counts_a_refusal_as_an_answer() {
    let Some(sc) = scene("repeat_mode_counts_a_refusal_as_an_answer") else {
        return;
    };
    let port = sc.free.to_string();
    let args = [
        "probe",
        "127.0.0.1",
        &port,
        "--count",
        "3",
        "--interval",
        "10ms",
    ];
    let out = sc.ns.portscope(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "closed is not open");
    let text = stdout_of(&out);
    let stats = text.lines().last().unwrap_or_default();
    assert!(
        stats.contains(": 3 probes, 0 open, 3 closed, 0% loss; rtt min/avg/max = "),
        "{text}"
    );
    let full = sc.full.to_string();
    let args = [
        "probe",
        "127.0.0.1",
        &full,
        "--count",
        "2",
        "--interval",
        "10ms",
        "--timeout",
        "200ms",
    ];
    let text = stdout_of(&sc.ns.portscope(&args).output().unwrap());
    assert!(
        text.contains(": 2 probes, 0 open, 0 closed, 100% loss\n"),
        "silence is loss, with no RTT: {text}"
    );
}

#[test]
fn full_sweep_of_loopback() {
    let Some(sc) = scene("full_sweep_of_loopback") else {
        return;
    };
    let out = sc
        .ns
        .portscope(&["probe", "127.0.0.1", "1-65535", "--open"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    let open: Vec<&str> = text.lines().filter(|l| l.contains(" open ")).collect();
    assert_eq!(open.len(), 1, "only the accepting listener: {text}");
    assert!(open[0].starts_with(&format!("127.0.0.1:{}/tcp", sc.open)));
    // The full listener's port is filtered (1 s timeout), every other port closed.
    assert!(
        text.ends_with("65535 probes: 1 open, 65533 closed, 1 filtered\n"),
        "{text}"
    );
}

#[test]
fn bad_port_lists_and_hosts() {
    for (spec, wanted) in [
        ("0", "invalid port '0'"),
        ("70000", "invalid port '70000'"),
        ("5-3", "invalid port range '5-3'"),
        ("abc", "unknown port 'abc'"),
        ("", "empty port list"),
    ] {
        let out = portscope(&["probe", "127.0.0.1", spec]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{spec}");
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.starts_with("portscope: ") && err.contains(wanted),
            "{spec}: {err}"
        );
    }
    let out = portscope(&["probe", "no-such-host.invalid", "80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).starts_with("portscope: unknown host 'no-such-host.invalid'"),
        "{}",
        stderr_of(&out)
    );
}

/// Loads an nftables ruleset into the namespace; false (after a loud skip) without `nft`.
fn nft(ns: &Netns, test: &str, rules: &str) -> bool {
    if !have("nft") {
        skip(test, "needs nft (nftables)");
        return false;
    }
    use std::io::Write;
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(rules.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "nft -f: {rules}");
    true
}

/// One ICMP rule for TCP and UDP: a firewall's `reject with icmp admin-prohibited` is
/// `filtered` for both, with the type, code and sender shown; port unreachable is `closed`.
#[test]
fn icmp_prohibited_is_filtered_for_tcp_and_udp() {
    let test = "icmp_prohibited_is_filtered_for_tcp_and_udp";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    let rules = "table ip t {
        chain input {
            type filter hook input priority 0;
            tcp dport 7001 reject with icmp type admin-prohibited
            udp dport 7001 reject with icmp type admin-prohibited
            tcp dport 7003 reject with icmp type port-unreachable
        }
    }";
    if !nft(&ns, test, rules) {
        return;
    }
    let reason = "ICMP administratively prohibited (type 3 code 13) from 127.0.0.1";
    for proto in [&[][..], &["--udp"][..]] {
        let mut args = vec!["127.0.0.1", "7001,7002"];
        args.extend_from_slice(proto);
        let (code, results) = probe(&ns, &args);
        assert_eq!(code, Some(1));
        let prohibited = &results[0];
        assert_eq!(
            (prohibited.status.as_str(), prohibited.detail.as_deref()),
            ("filtered", Some(reason)),
            "{results:#?}"
        );
        assert!(prohibited.rtt_ms.is_some(), "an ICMP answer has an RTT");
        assert_eq!(results[1].status, "closed", "{results:#?}");
    }
    let (_, results) = probe(&ns, &["127.0.0.1", "7003"]);
    assert_eq!(
        (results[0].status.as_str(), results[0].detail.as_deref()),
        ("closed", Some("ICMP port unreachable")),
        "a TCP port rejected with port unreachable reads as the UDP one does"
    );
}

/// Two namespaces joined by a veth: `here` (10.214.NET.1), where portscope runs, and `there`
/// (10.214.NET.2), the target, whose ICMP answers go over the veth under its rate limit. Each
/// test has its own NET: the target's namespace is found by its address.
fn over_veth(test: &str, net: u8) -> Option<(Netns, Netns)> {
    let (here, there) = (Netns::new(test)?, Netns::new(test)?);
    let ip = |ns: &Netns, args: &[&str]| ns.ip(args);
    ip(
        &here,
        &[
            "link",
            "add",
            "pst14a",
            "type",
            "veth",
            "peer",
            "name",
            "pst14b",
            "netns",
            &there.name,
        ],
    );
    ip(
        &here,
        &[
            "addr",
            "add",
            &format!("10.214.{net}.1/24"),
            "dev",
            "pst14a",
        ],
    );
    ip(
        &there,
        &[
            "addr",
            "add",
            &format!("10.214.{net}.2/24"),
            "dev",
            "pst14b",
        ],
    );
    ip(&here, &["link", "set", "pst14a", "up"]);
    ip(&there, &["link", "set", "pst14b", "up"]);
    Some((here, there))
}

/// A UDP sweep over a veth is paced by the target's ICMP limit, read in its namespace: every
/// closed port is found closed (here with the limit at 20 ms, so the test stays short).
#[test]
fn udp_sweep_paced_by_the_target_icmp_limit_finds_every_closed_port() {
    let test = "udp_sweep_paced_by_the_target_icmp_limit_finds_every_closed_port";
    let Some((here, there)) = over_veth(test, 1) else {
        return;
    };
    there.sysctl("net.ipv4.icmp_ratelimit", "20");
    let out = here
        .portscope(&[
            "probe",
            "--json",
            "10.214.1.2",
            "20000-20300",
            "--udp",
            "--timeout",
            "500ms",
        ])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    let results: Vec<Probe> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {err}", stdout_of(&out)));
    let closed = results.iter().filter(|p| p.status == "closed").count();
    assert_eq!(closed, 301, "{err}: {:?}", statuses(&results));
    assert!(results.iter().all(|p| !p.unreliable));
    assert!(
        err.contains("icmp_ratelimit 20 ms") && err.contains(&there.name),
        "the pace and where its limit was read: {err}"
    );
}

/// Faster than the target answers (`--rate` above its 1-per-second default limit), silent
/// ports are flagged unreliable in JSON and in the summary, not reported as findings.
#[test]
fn udp_sweep_faster_than_the_icmp_limit_is_marked_unreliable() {
    let test = "udp_sweep_faster_than_the_icmp_limit_is_marked_unreliable";
    let Some((here, there)) = over_veth(test, 2) else {
        return;
    };
    there.sysctl("net.ipv4.icmp_ratelimit", "1000");
    let args = [
        "10.214.2.2",
        "20000-20049",
        "--udp",
        "--timeout",
        "300ms",
        "--rate",
        "2000",
    ];
    let (_, results) = probe(&here, &args);
    let silent: Vec<&Probe> = results
        .iter()
        .filter(|p| p.status == "open|filtered")
        .collect();
    assert!(
        !silent.is_empty(),
        "the limit suppressed answers: {:?}",
        statuses(&results)
    );
    assert!(silent.iter().all(|p| p.unreliable), "{silent:?}");
    assert!(
        results
            .iter()
            .filter(|p| p.status == "closed")
            .all(|p| !p.unreliable)
    );
    let text = stdout_of(&here.portscope(&["probe"]).args(args).output().unwrap());
    assert!(text.contains("\nunreliable: "), "{text}");
}
