//! `portscope watch` (the event stream, and the screen under a pseudo-terminal) and
//! `portscope wait`, in private network namespaces.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A `watch --json` child whose events arrive on a channel.
struct Stream {
    child: Child,
    events: mpsc::Receiver<Value>,
}

impl Stream {
    fn start(ns: &Netns, filters: &[&str]) -> Stream {
        let mut args = vec!["watch", "--json", "--interval", "0.05"];
        args.extend_from_slice(filters);
        let mut child = ns
            .portscope(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let (send, events) = mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if send.send(serde_json::from_str(&line).unwrap()).is_err() {
                    break;
                }
            }
        });
        // The first look is the baseline; give it time to happen.
        std::thread::sleep(Duration::from_millis(400));
        Stream { child, events }
    }

    /// Events until `n` arrived or 5 s passed.
    fn take(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = Vec::new();
        while got.len() < n {
            match self
                .events
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(event) => got.push(event),
                Err(_) => break,
            }
        }
        got
    }

    fn quiet_for(&self, wait: Duration) -> Vec<Value> {
        std::thread::sleep(wait);
        self.events.try_iter().collect()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

fn sorted<const N: usize>(mut v: [String; N]) -> Vec<String> {
    v.sort();
    v.to_vec()
}

const STEP: Duration = Duration::from_millis(250);

#[test]
fn events_follow_a_connection_from_listen_to_close() {
    let Some(ns) = Netns::new("events_follow_a_connection_from_listen_to_close") else {
        return;
    };
    let stream = Stream::start(&ns, &[]);
    let listener = ns.inside(|| TcpListener::bind("127.0.0.1:0").unwrap());
    let l = listener.local_addr().unwrap().port();
    let opened = stream.take(1);
    assert_eq!(summary(&opened), [format!("opened tcp {l}:0 -->LISTEN")]);
    assert_eq!(
        opened[0]["socket"]["processes"][0]["pid"],
        std::process::id()
    );

    let client = ns.inside(|| TcpStream::connect(listener.local_addr().unwrap()).unwrap());
    let (server, _) = listener.accept().unwrap();
    let c = client.local_addr().unwrap().port();
    let mut pair = summary(&stream.take(2));
    pair.sort();
    assert_eq!(
        pair,
        sorted([
            format!("opened tcp {c}:{l} -->ESTABLISHED"),
            format!("opened tcp {l}:{c} -->ESTABLISHED")
        ])
    );

    std::thread::sleep(STEP);
    drop(client);
    let mut closing = summary(&stream.take(2));
    closing.sort();
    assert_eq!(
        closing,
        sorted([
            format!("state tcp {c}:{l} ESTABLISHED->FIN_WAIT2"),
            format!("state tcp {l}:{c} ESTABLISHED->CLOSE_WAIT")
        ])
    );

    std::thread::sleep(STEP);
    drop(server);
    let mut ending = summary(&stream.take(2));
    ending.sort();
    assert_eq!(
        ending,
        sorted([
            format!("closed tcp {l}:{c} CLOSE_WAIT->-"),
            format!("state tcp {c}:{l} FIN_WAIT2->TIME_WAIT")
        ])
    );

    std::thread::sleep(STEP);
    drop(listener);
    assert_eq!(
        summary(&stream.take(1)),
        [format!("closed tcp {l}:0 LISTEN->-")]
    );
    let rest = stream.quiet_for(STEP);
    assert!(rest.is_empty(), "nothing else: {:?}", summary(&rest));
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
    let events = stream.take(1);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["to"], "LISTEN");
    let rest = stream.quiet_for(STEP);
    assert!(
        rest.is_empty(),
        "only the listener passes --state listen: {:?}",
        summary(&rest)
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

    let started = Instant::now();
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
    assert!(started.elapsed() < Duration::from_secs(5));

    let waiter = ns
        .portscope(&["wait", &p, "--timeout", "10"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
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
    assert_eq!(finish(waiter), Some(0), "a listener appeared mid-wait");

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
    let waiter = ns
        .portscope(&["wait", &held, "--free", "--timeout", "10"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(finish(waiter), Some(0), "freed when the holder exited");

    let out = ns
        .portscope(&["wait", &p, "--host", "127.0.0.1", "--timeout", "0.5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing accepts on the port");
}

fn finish(mut child: Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still waiting");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn screen_under_a_pseudo_terminal() {
    let test = "screen_under_a_pseudo_terminal";
    if !have("script") {
        return skip(test, "needs script(1) (bsdutils) for a pseudo-terminal");
    }
    let (_l, _) = listener();
    let mut child = Command::new("script")
        .args(["-qfec", &format!("{BIN} watch --interval 0.1"), "/dev/null"])
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    keys.write_all(b"q").unwrap();
    keys.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    let screen = stdout_of(&out);
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
    let tail = &screen[screen.rfind("q quit").unwrap()..];
    assert!(
        tail.contains("\x1b[?25h") && tail.contains("\x1b[?1049l"),
        "cursor and screen restored: {tail:?}"
    );
}
