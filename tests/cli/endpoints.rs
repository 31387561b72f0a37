//! `tcp listen|connect` and `udp recv|send` against each other. As root they run in a private
//! namespace whose ephemeral range is narrowed to 40000-40099, so the reported kernel-chosen
//! ports can be checked against it; otherwise on the host's loopback with its own range.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::support::*;

/// The event schema (docs/json.md); unknown keys fail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Ev {
    t_ms: f64,
    event: String,
    proto: String,
    conn: Option<u32>,
    local: Option<String>,
    remote: Option<String>,
    state: Option<String>,
    bytes: Option<usize>,
    error: Option<String>,
    port_chosen_by_kernel: Option<bool>,
    port_range: Option<[u16; 2]>,
    backlog: Option<i32>,
    handshake_ms: Option<f64>,
    timer_ms: Option<u32>,
    data: Option<String>,
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// Where the endpoints run: a namespace with a narrowed range, or the host.
struct Place {
    ns: Option<Netns>,
    range: (u16, u16),
}

fn place(test: &str) -> Place {
    match Netns::new(test) {
        Some(ns) => {
            ns.sysctl("net.ipv4.ip_local_port_range", "40000 40099");
            Place {
                ns: Some(ns),
                range: (40000, 40099),
            }
        }
        None => {
            let text = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
            let v: Vec<u16> = text
                .split_whitespace()
                .map(|p| p.parse().unwrap())
                .collect();
            Place {
                ns: None,
                range: (v[0], v[1]),
            }
        }
    }
}

impl Place {
    fn cmd(&self, args: &[&str]) -> Command {
        match &self.ns {
            Some(ns) => ns.portscope(args),
            None => portscope(args),
        }
    }

    fn in_range(&self, port: u16) -> bool {
        (self.range.0..=self.range.1).contains(&port)
    }

    /// Starts a server with --json and reads events up to `until` (its address is in them).
    fn server(&self, args: &[&str], until: &str) -> Server {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut events = Vec::new();
        loop {
            let mut line = String::new();
            assert!(out.read_line(&mut line).unwrap() > 0, "server ended early");
            let ev: Ev = serde_json::from_str(&line).unwrap();
            let done = ev.event == until;
            events.push(ev);
            if done {
                break;
            }
        }
        Server { child, out, events }
    }

    /// Runs a client to its end with `input` on stdin: (exit code, events, stderr).
    fn client(&self, args: &[&str], input: &[u8]) -> (Option<i32>, Vec<Ev>, String) {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        let out = child.wait_with_output().unwrap();
        let events = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        (out.status.code(), events, stderr_of(&out))
    }
}

struct Server {
    child: Child,
    out: BufReader<ChildStdout>,
    events: Vec<Ev>,
}

impl Server {
    fn addr(&self) -> String {
        self.events.iter().find_map(|e| e.local.clone()).unwrap()
    }

    /// Waits for the server to exit by itself (within 10 s) and returns all its events.
    fn finish(mut self) -> (Option<i32>, Vec<Ev>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("server did not finish: {:?}", self.events);
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = String::new();
        self.out.read_to_string(&mut rest).unwrap();
        for line in rest.lines() {
            self.events.push(serde_json::from_str(line).unwrap());
        }
        (status.code(), self.events)
    }
}

fn states(events: &[Ev]) -> Vec<String> {
    events.iter().filter_map(|e| e.state.clone()).collect()
}

fn total(events: &[Ev], kind: &str) -> usize {
    events
        .iter()
        .filter(|e| e.event == kind)
        .filter_map(|e| e.bytes)
        .sum()
}

#[test]
fn tcp_listen_and_connect_explain_the_whole_life() {
    let place = place("tcp_listen_and_connect_explain_the_whole_life");
    let server = place.server(
        &["tcp", "listen", "127.0.0.1:0", "--once", "--echo", "--json"],
        "listening",
    );
    let bound = &server.events[0];
    assert_eq!(bound.event, "bound");
    assert_eq!(bound.port_chosen_by_kernel, Some(true));
    let listen_port = port_of(&server.addr());
    assert!(
        place.in_range(listen_port),
        "bind(0) port {listen_port} from {:?}",
        place.range
    );
    assert_eq!(server.events[1].backlog, Some(128));

    let (code, client, err) = place.client(
        &["tcp", "connect", &server.addr(), "--json"],
        b"hello, world",
    );
    assert_eq!(code, Some(0), "{err}");
    let connected = client.iter().find(|e| e.event == "connected").unwrap();
    let client_port = port_of(connected.local.as_ref().unwrap());
    assert!(
        place.in_range(client_port),
        "connect() port {client_port} from {:?}",
        place.range
    );
    assert_eq!(connected.port_chosen_by_kernel, Some(true));
    assert_eq!(
        connected.port_range.map(|r| (r[0], r[1])),
        Some(place.range)
    );
    assert!(connected.handshake_ms.unwrap() >= 0.0);
    let client_states = states(&client);
    assert_eq!(
        client_states.first().map(String::as_str),
        Some("ESTABLISHED")
    );
    assert_eq!(
        client_states.last().map(String::as_str),
        Some("TIME_WAIT"),
        "{client_states:?}"
    );
    let tw = client
        .iter()
        .find(|e| e.state.as_deref() == Some("TIME_WAIT"))
        .unwrap();
    assert!(tw.timer_ms.unwrap() > 50_000, "TIME_WAIT timer: {tw:?}");
    assert_eq!(total(&client, "sent"), 12);
    assert_eq!(total(&client, "received"), 12, "the echo came back");

    let (code, server) = server.finish();
    assert_eq!(code, Some(0));
    let accepted = server.iter().find(|e| e.event == "accepted").unwrap();
    assert_eq!(
        port_of(accepted.remote.as_ref().unwrap()),
        client_port,
        "both see one port"
    );
    assert!(server.iter().any(|e| e.event == "eof"));
    assert!(
        states(&server).contains(&"CLOSE_WAIT".to_string()),
        "{:?}",
        states(&server)
    );
    assert_eq!(total(&server, "received"), 12);
    assert_eq!(total(&server, "sent"), 12);
    let received = server.iter().find(|e| e.event == "received").unwrap();
    assert_eq!(received.data.as_deref(), Some("hello, world"));
    let kinds: Vec<&str> = server.iter().map(|e| e.event.as_str()).collect();
    let order = [
        "bound",
        "listening",
        "accepted",
        "received",
        "eof",
        "closed",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|k| kinds.iter().position(|x| x == k).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{kinds:?}");
}

#[test]
fn linger0_resets_and_leaves_no_time_wait() {
    let place = place("linger0_resets_and_leaves_no_time_wait");
    let server = place.server(
        &["tcp", "listen", "127.0.0.1:0", "--once", "--json"],
        "listening",
    );
    let (code, client, err) = place.client(
        &[
            "tcp",
            "connect",
            &server.addr(),
            "--json",
            "--linger0",
            "--hold",
            "0.3",
        ],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        !states(&client).contains(&"TIME_WAIT".to_string()),
        "{:?}",
        states(&client)
    );
    assert_eq!(
        states(&client).last().map(String::as_str),
        Some("CLOSE"),
        "gone at once"
    );
    let (_, server) = server.finish();
    let error = server
        .iter()
        .find(|e| e.event == "error")
        .expect("the peer sees the reset");
    assert!(error.error.as_ref().unwrap().contains("reset"), "{error:?}");
}

#[test]
fn short_connections_each_get_a_new_port() {
    let place = place("short_connections_each_get_a_new_port");
    let mut server = place.server(&["tcp", "listen", "127.0.0.1:0", "--json"], "listening");
    let (code, client, err) = place.client(
        &["tcp", "connect", &server.addr(), "--json", "--count", "3"],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    let ports: Vec<u16> = client
        .iter()
        .filter(|e| e.event == "connected")
        .map(|e| port_of(e.local.as_ref().unwrap()))
        .collect();
    assert_eq!(ports.len(), 3);
    let mut distinct = ports.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "{ports:?}");
    assert!(ports.iter().all(|p| place.in_range(*p)));
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[test]
fn udp_sender_port_is_the_one_the_receiver_saw() {
    let place = place("udp_sender_port_is_the_one_the_receiver_saw");
    let server = place.server(
        &[
            "udp",
            "recv",
            "127.0.0.1:0",
            "--count",
            "1",
            "--reply",
            "thank you !",
            "--json",
        ],
        "bound",
    );
    let (code, client, err) = place.client(
        &[
            "udp",
            "send",
            &server.addr(),
            "hello",
            "--json",
            "--wait",
            "2s",
        ],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    let connected = client.iter().find(|e| e.event == "connected").unwrap();
    let sender_port = port_of(connected.local.as_ref().unwrap());
    assert!(place.in_range(sender_port));
    let reply = client.iter().find(|e| e.event == "received").unwrap();
    assert_eq!(reply.data.as_deref(), Some("thank you !"));
    let (code, server) = server.finish();
    assert_eq!(code, Some(0));
    let got = server.iter().find(|e| e.event == "received").unwrap();
    assert_eq!(port_of(got.remote.as_ref().unwrap()), sender_port);
    assert_eq!(got.bytes, Some(5));
}

#[test]
fn udp_to_a_closed_port_says_nothing_listens() {
    let place = place("udp_to_a_closed_port_says_nothing_listens");
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = udp.local_addr().unwrap().port();
    drop(udp);
    let target = format!("127.0.0.1:{port}");
    let (code, _, err) = place.client(&["udp", "send", &target, "hello"], b"");
    if place.ns.is_none() && code == Some(0) {
        return skip(
            "udp_to_a_closed_port",
            "the freed host port was taken again meanwhile",
        );
    }
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{target}/udp: nothing listens there (ICMP port unreachable"
        )),
        "{err}"
    );
}

#[test]
fn gbk_bytes_are_decoded() {
    let place = place("gbk_bytes_are_decoded");
    let mut server = place
        .cmd(&[
            "udp",
            "recv",
            "127.0.0.1:0",
            "--count",
            "1",
            "--encoding",
            "gbk",
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // -q prints no events: learn the port from the socket table instead.
    let pid = server.id().to_string();
    let mut port = 0;
    eventually("the receiver's socket", || {
        let found = match &place.ns {
            Some(ns) => ns.ls_json(&["-u"]),
            None => ls_json(&["-u"]),
        };
        let mine = found
            .into_iter()
            .find(|s| s.processes.iter().any(|p| p.pid.to_string() == pid));
        port = mine.map_or(0, |s| s.local_port);
        seen(port != 0, port)
    });
    // "你好" in GBK, then a byte that is not GBK.
    let bytes: &[u8] = &[0xc4, 0xe3, 0xba, 0xc3, 0xff];
    let (code, _, err) = place.client(
        &["udp", "send", &format!("127.0.0.1:{port}"), "--wait", "0"],
        &[bytes, b"\n"].concat(),
    );
    assert_eq!(code, Some(0), "{err}");
    let out = server.wait_with_output_timeout();
    assert_eq!(out, "你好\\xff");
    let _ = server.kill();
}

trait WaitOutput {
    fn wait_with_output_timeout(&mut self) -> String;
}

impl WaitOutput for Child {
    fn wait_with_output_timeout(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "receiver did not finish");
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut out = String::new();
        self.stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    }
}

#[test]
fn address_in_use_names_the_holder() {
    let place = place("address_in_use_names_the_holder");
    let mut server = place.server(&["tcp", "listen", "127.0.0.1:0", "--json"], "listening");
    let out = place
        .cmd(&["tcp", "listen", &server.addr()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    let port = port_of(&server.addr());
    assert_eq!(err.lines().count(), 1, "{err}");
    let holder = format!(
        "address in use: port {port}/tcp is held by portscope (pid {}",
        server.child.id()
    );
    assert!(err.contains(&holder), "{err}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[test]
fn refused_connect_exits_1() {
    let place = place("refused_connect_exits_1");
    let (code, events, err) = place.client(&["tcp", "connect", "127.0.0.1:1", "--json"], b"");
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.starts_with("portscope: connecting to 127.0.0.1:1/tcp: connection refused"),
        "{err}"
    );
    assert_eq!(events.last().unwrap().event, "error");
}

#[test]
fn ctrl_c_closes_and_exits_130() {
    let place = place("ctrl_c_closes_and_exits_130");
    let server = place.server(&["tcp", "listen", "127.0.0.1:0", "--json"], "listening");
    // `ip netns exec` execs in place, so the child is portscope itself.
    // SAFETY: signalling a child process this test started.
    unsafe { libc::kill(server.child.id() as i32, libc::SIGINT) };
    let (code, _) = server.finish();
    assert_eq!(code, Some(130));
}

#[test]
fn port_range_and_source_options() {
    let place = place("port_range_and_source_options");
    let mut server = place.server(&["tcp", "listen", "127.0.0.1:0", "--json"], "listening");
    let args = ["tcp", "connect", &server.addr(), "--json", "--hold", "0"];
    let port_of_run = |extra: &[&str]| -> u16 {
        let all: Vec<&str> = args.iter().copied().chain(extra.iter().copied()).collect();
        let (code, events, err) = place.client(&all, b"");
        assert_eq!(code, Some(0), "{extra:?}: {err}");
        let connected = events.iter().find(|e| e.event == "connected").unwrap();
        port_of(connected.local.as_ref().unwrap())
    };
    let ranged = [
        "tcp",
        "connect",
        &server.addr(),
        "--hold",
        "0",
        "--port-range",
        "40050-40059",
    ];
    let (code, _, err) = place.client(&ranged, b"");
    if code == Some(2) && err.contains("needs Linux 6.3") {
        skip(
            "port_range_and_source_options",
            "IP_LOCAL_PORT_RANGE needs Linux 6.3",
        );
    } else {
        let p = port_of_run(&["--port-range", "40050-40059"]);
        assert!((40050..=40059).contains(&p), "IP_LOCAL_PORT_RANGE gave {p}");
    }
    let p = port_of_run(&["--source", "127.0.0.1", "--bind-no-port"]);
    assert!(place.in_range(p), "{p}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
}

#[test]
fn full_accept_queue_times_out_and_exits_1() {
    // listen(0): one finished connection fills the queue; the kernel then drops new SYNs.
    let listener =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    listener
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let _queued = std::net::TcpStream::connect(addr).unwrap();
    let out = portscope(&["tcp", "connect", &addr.to_string(), "--timeout", "400ms"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("no answer within 400 ms"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn listener_sends_its_stdin_to_the_peer() {
    let place = place("listener_sends_its_stdin_to_the_peer");
    let mut server = place
        .cmd(&["tcp", "listen", "127.0.0.1:0", "--once", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The bytes wait in the pipe until a peer is there.
    server
        .stdin
        .take()
        .unwrap()
        .write_all(b"greetings from stdin")
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut addr = None;
    while addr.is_none() {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0);
        let ev: Ev = serde_json::from_str(&line).unwrap();
        if ev.event == "listening" {
            addr = ev.local;
        }
    }
    let (code, events, err) = place.client(
        &["tcp", "connect", &addr.unwrap(), "--json", "--hold", "0.5"],
        b"",
    );
    assert_eq!(code, Some(0), "{err}");
    let got: String = events.iter().filter_map(|e| e.data.clone()).collect();
    assert_eq!(got, "greetings from stdin");
    let _ = server.kill();
    let _ = server.wait();
}
