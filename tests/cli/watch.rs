//! `portscope watch` (the event stream, and the screen under a pseudo-terminal) and
//! `portscope wait`, in private network namespaces.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::*;

/// A `watch --json` child whose events arrive as lines, started once its baseline is taken.
struct Stream(Running);

impl Stream {
    fn start(ns: &Netns, filters: &[&str]) -> Stream {
        let mut args = vec!["watch", "--json", "--interval", "0.05"];
        args.extend_from_slice(filters);
        let watch = Running::spawn(ns.portscope(&args));
        // The first look is the baseline; what happens after it is reported.
        watch.err_line("changes follow");
        Stream(watch)
    }

    /// Events until one holds `what` (that one included).
    fn until(&self, what: &str) -> Vec<Value> {
        self.0
            .out_lines_until(what)
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Events until each `(local port, remote port, state)` was reached by a `state` or
    /// `opened` event, or the socket was `closed` when the state is "-".
    fn until_all(&self, wanted: &[(u16, u16, &str)]) -> Vec<Value> {
        let mut got: Vec<Value> = Vec::new();
        let reached = |got: &[Value], (l, r, state): (u16, u16, &str)| {
            got.iter().any(|e| {
                let s = &e["socket"];
                s["local_port"] == l
                    && s["remote_port"] == r
                    && e["to"].as_str().unwrap_or("-") == state
            })
        };
        while !wanted.iter().all(|w| reached(&got, *w)) {
            let line = self.0.out_line("\"event\"");
            got.push(serde_json::from_str(&line).unwrap());
        }
        got
    }
}

/// `event proto local:remote from->to` for each event.
fn summary(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| {
            let s = &e["socket"];
            format!(
                "{} {} {}:{} {}->{}",
                e["event"].as_str().unwrap(),
                s["proto"].as_str().unwrap(),
                s["local_port"],
                s["remote_port"],
                e["from"].as_str().unwrap_or("-"),
                e["to"].as_str().unwrap_or("-")
            )
        })
        .collect()
}

/// The transitions of one socket, in order: `FROM->TO` each.
fn path_of(events: &[Value], local: u16, remote: u16) -> Vec<String> {
    summary(events)
        .into_iter()
        .filter(|e| e.contains(&format!(" {local}:{remote} ")))
        .map(|e| e.rsplit(' ').next().unwrap().to_string())
        .collect()
}

/// A listener opened as a marker: once its event arrives, every event caused earlier has
/// arrived too (watch reports each look in full before the next).
fn marker(ns: &Netns) -> (TcpListener, u16) {
    let l = ns.inside(|| TcpListener::bind("127.0.0.1:0").unwrap());
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn events_follow_a_connection_from_listen_to_close() {
    let Some(ns) = Netns::new("events_follow_a_connection_from_listen_to_close") else {
        return;
    };
    let stream = Stream::start(&ns, &[]);
    let listener = ns.inside(|| TcpListener::bind("127.0.0.1:0").unwrap());
    let l = listener.local_addr().unwrap().port();
    let opened = stream.until("LISTEN");
    assert_eq!(summary(&opened), [format!("opened tcp {l}:0 -->LISTEN")]);
    assert_eq!(
        opened[0]["socket"]["processes"][0]["pid"],
        std::process::id()
    );

    let client = ns.inside(|| TcpStream::connect(listener.local_addr().unwrap()).unwrap());
    let (server, _) = listener.accept().unwrap();
    let c = client.local_addr().unwrap().port();
    let pair = stream.until_all(&[(c, l, "ESTABLISHED"), (l, c, "ESTABLISHED")]);
    assert_eq!(path_of(&pair, c, l), ["-->ESTABLISHED"]);
    assert_eq!(path_of(&pair, l, c), ["-->ESTABLISHED"]);

    // The kernel's legal orders: a look may or may not catch FIN_WAIT1 on the way.
    drop(client);
    let closing = stream.until_all(&[(c, l, "FIN_WAIT2"), (l, c, "CLOSE_WAIT")]);
    let client_path = path_of(&closing, c, l);
    assert!(
        client_path == ["ESTABLISHED->FIN_WAIT2"]
            || client_path == ["ESTABLISHED->FIN_WAIT1", "FIN_WAIT1->FIN_WAIT2"],
        "{client_path:?}"
    );
    assert_eq!(path_of(&closing, l, c), ["ESTABLISHED->CLOSE_WAIT"]);

    drop(server);
    let ending = stream.until_all(&[(c, l, "TIME_WAIT"), (l, c, "-")]);
    assert_eq!(path_of(&ending, c, l), ["FIN_WAIT2->TIME_WAIT"]);
    let server_path = path_of(&ending, l, c);
    assert!(
        server_path == ["CLOSE_WAIT->-"] || server_path == ["CLOSE_WAIT->LAST_ACK", "LAST_ACK->-"],
        "{server_path:?}"
    );

    drop(listener);
    let (_m, m) = marker(&ns);
    let mut rest = summary(&stream.until_all(&[(l, 0, "-"), (m, 0, "LISTEN")]));
    rest.sort();
    let mut expected = [
        format!("closed tcp {l}:0 LISTEN->-"),
        format!("opened tcp {m}:0 -->LISTEN"),
    ];
    expected.sort();
    assert_eq!(rest, expected, "nothing else happened");
}

#[test]
fn filters_apply_to_events() {
    let Some(ns) = Netns::new("filters_apply_to_events") else {
        return;
    };
    let stream = Stream::start(&ns, &["--state", "listen"]);
    let held = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        (l, c, udp)
    });
    let l = held.0.local_addr().unwrap().port();
    let (_m, m) = marker(&ns);
    let events = stream.until_all(&[(l, 0, "LISTEN"), (m, 0, "LISTEN")]);
    assert_eq!(
        events.len(),
        2,
        "only the listeners pass --state listen: {:?}",
        summary(&events)
    );
    drop(held);
}

#[test]
fn wait_for_a_listener_a_timeout_and_a_free_port() {
    let Some(ns) = Netns::new("wait_for_a_listener_a_timeout_and_a_free_port") else {
        return;
    };
    let port = ns.inside(|| {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    });
    let p = port.to_string();

    let out = ns
        .portscope(&["wait", &p, "--timeout", "0.3"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "timeout");
    assert!(
        stderr_of(&out).contains("gave up after"),
        "{}",
        stderr_of(&out)
    );

    let mut waiter = Running::spawn(ns.portscope(&["wait", &p, "--timeout", "10"]));
    waiter.err_line("waiting for something to listen");
    let listener = ns.inside(|| {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_reuse_address(true).unwrap();
        s.bind(
            &format!("127.0.0.1:{port}")
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
        s.listen(8).unwrap();
        TcpListener::from(s)
    });
    assert_eq!(waiter.exit_code(), Some(0), "a listener appeared mid-wait");

    // --free: the holder is another process, which then exits.
    let mut holder = ns
        .portscope(&["tcp", "listen", "127.0.0.1:0", "-q"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    drop(listener);
    let held = {
        let mut found = None;
        eventually("the holder's listener", || {
            found = ns
                .ls_json(&["-l", "-t"])
                .into_iter()
                .find(|s| s.processes.iter().any(|p| p.pid == holder.id()))
                .map(|s| s.local_port);
            seen(found.is_some(), found)
        });
        found.unwrap().to_string()
    };
    let mut waiter = Running::spawn(ns.portscope(&["wait", &held, "--free", "--timeout", "10"]));
    waiter.err_line("to be free");
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(waiter.exit_code(), Some(0), "freed when the holder exited");

    let out = ns
        .portscope(&["wait", &p, "--host", "127.0.0.1", "--timeout", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing accepts on the port");
}

#[test]
fn screen_under_a_pseudo_terminal() {
    let test = "screen_under_a_pseudo_terminal";
    if !have("script") {
        return skip(test, "needs script(1) (bsdutils) for a pseudo-terminal");
    }
    let (_l, _) = listener();
    let mut child = Command::new("script")
        .args([
            "-qfec",
            // 80×20, as the smallest screen the layout promises to keep whole.
            &format!("stty cols 80 rows 20; exec {} watch --interval 0.1", bin()),
            "/dev/null",
        ])
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    // Keys once a whole frame is on the screen.
    let mut screen_out = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("q quit") {
        let n = screen_out.read(&mut buf).unwrap();
        assert!(
            n > 0,
            "the screen ended before a frame: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
    }
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    screen_out.read_to_end(&mut seen).unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(out.status.code(), Some(0), "q quits with 0: {screen:?}");
    assert!(
        screen.contains("\x1b[?1049h"),
        "entered the alternate screen"
    );
    assert!(
        screen.contains("portscope watch — "),
        "drew a frame: {screen:?}"
    );
    assert!(screen.contains("q quit · p pause · s sort"));
    assert!(
        screen.contains("\x1b[?7l"),
        "line wrapping off, so a long row cannot push the status line off: {screen:?}"
    );
    let tail = &screen[screen.rfind("q quit").unwrap()..];
    assert!(
        tail.contains("\x1b[?25h") && tail.contains("\x1b[?7h") && tail.contains("\x1b[?1049l"),
        "cursor and screen restored: {tail:?}"
    );
}
