//! `portscope doctor`: each verdict made for real in a private namespace (or on loopback with
//! a port filter), then checked in the JSON and the exit status.

use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;

use serde_json::Value;

use crate::forked;
use crate::info::{flood, lossy_connection, small_udp_receiver, stall};
use crate::support::*;

/// doctor's JSON and exit status.
fn doctor(mut cmd: std::process::Command) -> (Value, Option<i32>) {
    let out = cmd.output().unwrap();
    let text = stdout_of(&out);
    let report = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {text} {}", stderr_of(&out)));
    (report, out.status.code())
}

fn findings<'a>(report: &'a Value, kind: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == kind)
        .collect()
}

fn evidence(finding: &Value) -> String {
    let facts: Vec<&str> = finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    facts.join("; ")
}

fn pids(finding: &Value, key: &str) -> Vec<u64> {
    finding[key]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["pid"].as_u64())
        .collect()
}

/// A connect() that does not wait for the handshake (the listener will drop its SYN).
fn connect_later(addr: SocketAddr) -> socket2::Socket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_nonblocking(true).unwrap();
    let _ = socket.connect(&addr.into());
    socket
}

#[test]
fn doctor_finds_nothing_wrong_with_a_quiet_namespace() {
    let Some(ns) = Netns::new("doctor_finds_nothing_wrong_with_a_quiet_namespace") else {
        return;
    };
    let _held = ns.inside(|| {
        let (l, _) = listener();
        let pair = pair(&l);
        (l, pair)
    });
    let (report, code) = doctor(ns.portscope(&["doctor", "--json", "--interval", "0.1"]));
    assert_eq!(report["findings"], Value::Array(vec![]), "{report}");
    assert_eq!(code, Some(0));
    let out = ns
        .portscope(&["doctor", "--interval", "0.1"])
        .output()
        .unwrap();
    assert!(
        stdout_of(&out).starts_with("no problems found in 3 sockets"),
        "{}",
        stdout_of(&out)
    );
}

/// Backlog 0, one connection waiting, then two more clients whose SYNs the full queue drops
/// between doctor's two looks.
#[test]
fn doctor_reports_a_full_accept_queue_and_overflows() {
    let Some(ns) = Netns::new("doctor_reports_a_full_accept_queue_and_overflows") else {
        return;
    };
    let (full, _queued, addr) = ns.inside(full_listener);
    let port = addr.port().to_string();
    let running = Running::spawn(ns.portscope(&["doctor", &port, "--json", "--interval", "2"]));
    running.err_line("first look done");
    let _late: Vec<socket2::Socket> = ns.inside(|| (0..2).map(|_| connect_later(addr)).collect());
    let mut running = running;
    let code = running.exit_code();
    let report: Value = serde_json::from_str(&running.rest_of_stdout().join("\n")).unwrap();
    let full_queue = findings(&report, "accept-queue-full");
    assert_eq!(full_queue.len(), 1, "{report}");
    let facts = evidence(full_queue[0]);
    assert!(
        facts.contains("1 connection(s) waiting for accept(), backlog 0"),
        "{facts}"
    );
    assert!(facts.contains("ListenOverflows rose by"), "{facts}");
    assert_eq!(full_queue[0]["severity"], "critical");
    // Another test's fork may hold a copy of the listener for an instant (`settled`).
    let inode = std::os::unix::fs::MetadataExt::ino(
        &std::fs::metadata(format!("/proc/self/fd/{}", full.as_raw_fd())).unwrap(),
    );
    let holders = pids(full_queue[0], "processes")
        .into_iter()
        .filter_map(|p| u32::try_from(p).ok());
    assert_eq!(
        settled(holders, u32::try_from(inode).unwrap()),
        [std::process::id()]
    );
    assert_eq!(code, Some(1));
    drop(full);
}

#[test]
fn doctor_names_the_process_leaving_close_wait() {
    let Some(ns) = Netns::new("doctor_names_the_process_leaving_close_wait") else {
        return;
    };
    let (_l, _leaked) = ns.inside(|| {
        let (l, _) = listener();
        let leaked: Vec<TcpStream> = (0..20)
            .map(|_| {
                let (client, server) = pair(&l);
                drop(client);
                server
            })
            .collect();
        (l, leaked)
    });
    eventually("20 CLOSE_WAIT named by doctor", || {
        let (report, code) = doctor(ns.portscope(&["doctor", "--json", "--interval", "0.1"]));
        let found = findings(&report, "close-wait");
        let named = found.first().is_some_and(|f| {
            evidence(f).contains("20 connections in CLOSE_WAIT")
                && pids(f, "processes") == [u64::from(std::process::id())]
                && f["processes"][0]["name"]
                    .as_str()
                    .is_some_and(|n| !n.is_empty())
        });
        seen(named && code == Some(1), &report)
    });
    let out = ns
        .portscope(&["doctor", "--interval", "0.1"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("WARNING close-wait") && text.contains("held by "),
        "{text}"
    );
}

/// A process holding 12 CLOSE_WAIT connections, 6 of them shared with another (the test
/// process, whose pid comes first): each holder's count is its own, not the first holder's.
#[test]
fn doctor_counts_close_wait_for_every_holder() {
    let Some(ns) = Netns::new("doctor_counts_close_wait_for_every_holder") else {
        return;
    };
    let (_l, _shared, child) = ns.inside(|| {
        let (l, _) = listener();
        let mut leaked: Vec<TcpStream> = (0..12)
            .map(|_| {
                let (client, server) = pair(&l);
                drop(client);
                server
            })
            .collect();
        let fds: Vec<_> = leaked.iter().map(|s| s.as_raw_fd()).collect();
        let child = forked::hold(&fds, &|| true);
        leaked.truncate(6);
        (l, leaked, child)
    });
    eventually("the child's 12 CLOSE_WAIT named by doctor", || {
        let (report, code) = doctor(ns.portscope(&["doctor", "--json", "--interval", "0.1"]));
        let named = findings(&report, "close-wait").iter().any(|f| {
            evidence(f).contains("12 connections in CLOSE_WAIT")
                && pids(f, "processes") == [u64::from(child.pid)]
        });
        seen(named && code == Some(1), &report)
    });
}

#[test]
fn doctor_names_the_reader_behind_a_zero_window() {
    let (l, port) = listener();
    let (client, _server) = pair(&l);
    stall(&client);
    let port = port.to_string();
    let sender = client.local_addr().unwrap().to_string();
    eventually("a zero window found", || {
        let (report, code) = doctor(portscope(&["doctor", &port, "--json", "--interval", "0.1"]));
        let limited = findings(&report, "receiver-limited");
        let ours = limited.iter().find(|f| {
            f["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with(&sender))
                && evidence(f).contains("receive window is zero")
                && pids(f, "peer_processes") == [u64::from(std::process::id())]
        });
        seen(ours.is_some() && code == Some(1), &report)
    });
}

/// The reader behind a zero window is found when the sender is an IPv4 client of a
/// dual-stack listener (the server's end shows the client as `::ffff:127.0.0.1`).
#[test]
fn doctor_names_the_reader_across_the_ipv4_mapped_form() {
    let Some(ns) = Netns::new("doctor_names_the_reader_across_the_ipv4_mapped_form") else {
        return;
    };
    let (_l, client, _server) = ns.inside(|| {
        let l = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        l.set_only_v6(false).unwrap();
        let any: SocketAddr = "[::]:9300".parse().unwrap();
        l.bind(&any.into()).unwrap();
        l.listen(1).unwrap();
        let client = TcpStream::connect("127.0.0.1:9300").unwrap();
        let (server, _) = l.accept().unwrap();
        (l, client, server)
    });
    stall(&client);
    let sender = client.local_addr().unwrap().to_string();
    eventually("the reader named", || {
        let (report, _) = doctor(ns.portscope(&["doctor", "9300", "--json", "--interval", "0.1"]));
        let limited = findings(&report, "receiver-limited");
        let named = limited.iter().any(|f| {
            f["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with(&sender))
                && pids(f, "peer_processes").contains(&u64::from(std::process::id()))
        });
        seen(named, &report)
    });
}

/// A receiver that stalled, then read everything: the sender's tcp_info still counts the time
/// the window held it back, but nothing holds it back now, and doctor says nothing is wrong.
#[test]
fn doctor_lets_a_stall_that_ended_go() {
    let (l, port) = listener();
    let (client, server) = pair(&l);
    let sent = stall(&client);
    let port = port.to_string();
    let sender = client.local_addr().unwrap().to_string();
    let ours = |report: &Value| {
        findings(report, "receiver-limited").iter().any(|f| {
            f["subject"]
                .as_str()
                .is_some_and(|s| s.starts_with(&sender))
        })
    };
    // Stalled for one look's interval at least.
    eventually("the stall found", || {
        let (report, code) = doctor(portscope(&["doctor", &port, "--json", "--interval", "0.3"]));
        seen(ours(&report) && code == Some(1), &report)
    });
    let mut received = vec![0u8; sent];
    std::io::Read::read_exact(&mut &server, &mut received).unwrap();
    eventually("the ended stall let go", || {
        let (report, code) = doctor(portscope(&["doctor", &port, "--json", "--interval", "0.1"]));
        seen(!ours(&report) && code == Some(0), &report)
    });
}

#[test]
fn doctor_names_a_retransmitting_connection() {
    let test = "doctor_names_a_retransmitting_connection";
    let Some((ns, client, _server, _l)) = lossy_connection(test) else {
        return;
    };
    let subject = format!(
        "{} → {}",
        client.local_addr().unwrap(),
        client.peer_addr().unwrap()
    );
    eventually("the retransmitting connection named", || {
        let (report, code) = doctor(ns.portscope(&["doctor", "--json", "--interval", "0.1"]));
        let named = findings(&report, "retransmits").iter().any(|f| {
            f["subject"] == subject.as_str() && evidence(f).contains("retransmitting now")
        });
        seen(named && code == Some(1), &report)
    });
}

#[test]
fn doctor_reports_udp_receive_buffer_drops() {
    let (_receiver, addr) = small_udp_receiver();
    let port = addr.port().to_string();
    let running = Running::spawn(portscope(&["doctor", &port, "--json", "--interval", "2"]));
    running.err_line("first look done");
    flood(addr);
    let mut running = running;
    let code = running.exit_code();
    let report: Value = serde_json::from_str(&running.rest_of_stdout().join("\n")).unwrap();
    let drops = findings(&report, "udp-drops");
    assert_eq!(drops.len(), 1, "{report}");
    assert_eq!(drops[0]["subject"], addr.to_string().as_str());
    assert!(evidence(drops[0]).contains("datagrams dropped"), "{report}");
    assert_eq!(drops[0]["severity"], "warning", "{report}");
    assert_eq!(code, Some(1));
    // Drops in the past only: told, but nothing is going wrong now.
    let (report, code) = doctor(portscope(&["doctor", &port, "--json", "--interval", "0.1"]));
    let drops = findings(&report, "udp-drops");
    assert_eq!(drops.len(), 1, "{report}");
    assert!(evidence(drops[0]).contains("0 in the last"), "{report}");
    assert_eq!(drops[0]["severity"], "info", "{report}");
    assert_eq!(code, Some(0), "{report}");
}

/// Ctrl-C or SIGTERM between the two looks ends doctor with 130 or 143, and no verdict.
#[test]
fn doctor_ends_on_a_signal_between_its_looks() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let doctor = Running::spawn(portscope(&["doctor", "--json", "--interval", "60"]));
        doctor.err_line("first look done");
        doctor.signal(signal);
        let mut doctor = doctor;
        assert_eq!(doctor.exit_code(), Some(code));
        assert_eq!(doctor.rest_of_stdout(), Vec::<String>::new());
    }
}

/// Ten ephemeral ports, nine of them used towards one destination: doctor calls it critical,
/// and the kernel agrees: one more connection takes the last port, the next one finds none.
#[test]
fn doctor_warns_of_ephemeral_exhaustion_as_the_kernel_then_shows() {
    let test = "doctor_warns_of_ephemeral_exhaustion_as_the_kernel_then_shows";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    ns.sysctl("net.ipv4.ip_local_port_range", "40000 40009");
    let (l, clients) = ns.inside(|| {
        // A fixed port is fine in a private namespace, and keeps the listener out of the range.
        let l = std::net::TcpListener::bind("127.0.0.1:8080").unwrap();
        let clients: Vec<TcpStream> = (0..9)
            .map(|_| TcpStream::connect("127.0.0.1:8080").unwrap())
            .collect();
        (l, clients)
    });
    let (report, code) = doctor(ns.portscope(&["doctor", "--json", "--interval", "0.1"]));
    let found = findings(&report, "ephemeral-exhaustion");
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["subject"], "127.0.0.1 → 127.0.0.1:8080");
    assert_eq!(found[0]["severity"], "critical");
    assert!(
        evidence(found[0]).contains("9 of 10 ephemeral ports"),
        "{report}"
    );
    assert_eq!(code, Some(1));
    let (last, refused) = ns.inside(|| {
        let last = TcpStream::connect("127.0.0.1:8080");
        let refused = TcpStream::connect("127.0.0.1:8080");
        (last, refused)
    });
    assert!(last.is_ok(), "{last:?}");
    let error = refused.unwrap_err();
    assert_eq!(error.raw_os_error(), Some(libc::EADDRNOTAVAIL), "{error}");
    drop((l, clients));
}
