//! `portscope ephemeral`, `ephemeral sample` and `why-bind` in a private network namespace whose
//! ephemeral range is narrowed to 40000-40199.

use std::net::{TcpListener, TcpStream};

use serde_json::Value;

use crate::support::*;

fn narrowed(test: &str) -> Option<Netns> {
    let ns = Netns::new(test)?;
    ns.sysctl("net.ipv4.ip_local_port_range", "40000 40199");
    Some(ns)
}

fn json(ns: &Netns, args: &[&str]) -> (Option<i32>, Value) {
    let out = ns.portscope(args).output().unwrap();
    let value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", stdout_of(&out), stderr_of(&out)));
    (out.status.code(), value)
}

#[test]
fn report_groups_connections_per_destination() {
    let Some(ns) = narrowed("report_groups_connections_per_destination") else {
        return;
    };
    let (listen_port, _held) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut held: Vec<(TcpStream, TcpStream)> = Vec::new();
        for _ in 0..30 {
            let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (s, _) = l.accept().unwrap();
            held.push((c, s));
        }
        (l.local_addr().unwrap().port(), (l, held))
    });
    assert!(
        (40000..=40199).contains(&listen_port),
        "bind(0) took {listen_port}"
    );
    let (code, report) = json(&ns, &["ephemeral", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (
            report["range"]["low"].as_u64(),
            report["range"]["high"].as_u64()
        ),
        (Some(40000), Some(40199))
    );
    assert_eq!(
        report["in_use"]["tcp"], 61,
        "30 clients, 30 accepted, 1 listener: {report}"
    );
    assert_eq!(report["time_wait"], 0);
    let destinations = report["destinations"].as_array().unwrap();
    assert_eq!(destinations.len(), 1, "{report}");
    let d = &destinations[0];
    assert_eq!(d["remote_addr"], "127.0.0.1");
    assert_eq!(d["remote_port"], listen_port);
    assert!(d["used"].as_u64().unwrap() >= 30);
    assert_eq!(
        d["capacity"],
        200 - 1,
        "the listener's own port is held by bind()"
    );
    assert_eq!(report["held_by_bind"], 1);
    let bound = report["bound"].as_array().unwrap();
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0]["state"], "LISTEN");

    let text = stdout_of(&ns.portscope(&["ephemeral"]).output().unwrap());
    assert!(text.contains("40000–40199, 200 ports"), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{listen_port}")), "{text}");
}

#[test]
fn sample_parity_follows_the_kernel_policy() {
    let Some(ns) = narrowed("sample_parity_follows_the_kernel_policy") else {
        return;
    };
    for (method, wanted_even) in [("--connect", true), ("--bind", false)] {
        let (code, sample) = json(&ns, &["ephemeral", "sample", method, "60", "--json"]);
        assert_eq!(code, Some(0));
        let ports: Vec<u64> = sample["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap())
            .collect();
        assert_eq!(ports.len(), 60);
        let mut distinct = ports.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            60,
            "{method}: every socket holds its own port"
        );
        assert!(
            ports.iter().all(|p| (40000..=40199).contains(p)),
            "{method}: {ports:?}"
        );
        let even = sample["even"].as_u64().unwrap();
        let share = if wanted_even { even } else { 60 - even };
        assert!(
            share * 100 >= 90 * 60,
            "{method}: {even} of 60 even: {ports:?}"
        );
    }
    let (_, udp) = json(&ns, &["ephemeral", "sample", "--udp", "20", "--json"]);
    assert_eq!(udp["method"], "udp");
    let text = stdout_of(
        &ns.portscope(&["ephemeral", "sample", "--bind", "20", "--bind-no-port"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("bind-no-port: 20 sockets, ports chosen from 40000–40199"),
        "{text}"
    );
    assert!(text.contains("as predicted"), "{text}");
    let out = ns
        .portscope(&["ephemeral", "sample", "--connect", "201"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("it has 200 usable ports"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn why_bind_names_the_holder_and_sees_a_free_port() {
    let Some(ns) = narrowed("why_bind_names_the_holder_and_sees_a_free_port") else {
        return;
    };
    let (held, free) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let spare = TcpListener::bind("127.0.0.1:0").unwrap();
        let free = spare.local_addr().unwrap().port();
        drop(spare);
        (l, free)
    });
    let port = held.local_addr().unwrap().port();
    let out = ns
        .portscope(&["why-bind", &port.to_string()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "0.0.0.0 overlaps the 127.0.0.1 listener"
    );
    let text = stdout_of(&out);
    let me = std::process::id();
    assert!(
        text.contains(&format!("held by: tcp 127.0.0.1:{port} LISTEN")),
        "{text}"
    );
    assert!(
        text.contains(&format!("(pid {me}")),
        "the holder's pid: {text}"
    );
    assert!(text.contains("SO_REUSEADDR would not help"), "{text}");
    assert!(text.contains("plain:         EADDRINUSE"), "{text}");
    let (code, free_report) = json(&ns, &["why-bind", &format!("127.0.0.1:{free}"), "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(free_report["bindable"], true);
    assert_eq!(free_report["holders"].as_array().unwrap().len(), 0);
    assert_eq!(free_report["trial"]["plain"], "ok");
    assert_eq!(free_report["in_ephemeral_range"], true);
}

#[test]
fn report_watch_refreshes_until_interrupted() {
    let Some(ns) = narrowed("report_watch_refreshes_until_interrupted") else {
        return;
    };
    let watch = Running::spawn(ns.portscope(&["ephemeral", "--json", "--watch", "0.2"]));
    // Three reports seen, then Ctrl-C. `ip netns exec` execs in place: the child is portscope.
    let reports: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(&watch.out_line("\"range\"")).unwrap())
        .collect();
    watch.signal(libc::SIGINT);
    let mut watch = watch;
    assert_eq!(watch.exit_code(), Some(130));
    assert!(reports.iter().all(|r| r["range"]["low"] == 40000));
}

/// A server that closed first leaves TIME_WAIT on its port, and that entry keeps the
/// SO_REUSEADDR flag of the socket that closed: the kernel lets a new SO_REUSEADDR bind past
/// it only when both set the flag. The advice must say what the trial bind then finds.
#[test]
fn why_bind_advice_on_time_wait_agrees_with_the_trial() {
    let Some(ns) = Netns::new("why_bind_advice_on_time_wait_agrees_with_the_trial") else {
        return;
    };
    for reuse in [false, true] {
        let port = ns.inside(|| {
            let l = bound_tcp(reuse);
            l.listen(1).unwrap();
            let l: TcpListener = l.into();
            let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let (server, _) = l.accept().unwrap();
            drop(server);
            drop(client);
            l.local_addr().unwrap().port()
        });
        let port = port.to_string();
        eventually("the server's TIME_WAIT", || {
            let tw = ns.ls_json(&["-t", "--state", "time-wait", "--sport", &port]);
            seen(tw.len() == 1, tw)
        });
        let (_, report) = json(&ns, &["why-bind", &format!("127.0.0.1:{port}"), "--json"]);
        assert_eq!(report["time_wait"], 1, "{report}");
        let trial_ok = report["trial"]["reuseaddr"] == "ok";
        assert_eq!(trial_ok, reuse, "the kernel's rule: {report}");
        let advice = report["reuseaddr"].as_str().unwrap();
        assert_eq!(advice.starts_with("would help"), trial_ok, "{report}");
    }
}

/// A connection whose server closed first, on 127.0.0.1, its listener gone: with the client
/// closed too, a TIME_WAIT entry; with the client still open (returned), an orphan in
/// FIN_WAIT2. Its port.
fn closed_server(ns: &Netns, reuse: bool, client_closes: bool) -> (String, Option<TcpStream>) {
    let (port, client) = ns.inside(|| {
        let l = bound_tcp(reuse);
        l.listen(1).unwrap();
        let l: TcpListener = l.into();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        drop(l.accept().unwrap());
        (l.local_addr().unwrap().port(), client)
    });
    let client = (!client_closes).then_some(client);
    let port = port.to_string();
    let state = if client_closes {
        "TIME_WAIT"
    } else {
        "FIN_WAIT2"
    };
    eventually(state, || {
        let left = ns.ls_json(&["-t", "--sport", &port]);
        seen(
            left.len() == 1 && left[0].inode == 0 && left[0].state == state,
            left,
        )
    });
    (port, client)
}

/// `tcp listen` on the port fails, promising --reuseaddr exactly when the closed socket set
/// SO_REUSEADDR (else saying `refusal`), and the promise holds. Its error.
fn tcp_listen_keeps_its_promise(ns: &Netns, port: &str, reuse: bool, refusal: &str) -> String {
    let at = format!("127.0.0.1:{port}");
    let listen = ns.portscope(&["tcp", "listen", &at]).output().unwrap();
    assert_eq!(listen.status.code(), Some(2));
    let err = stderr_of(&listen);
    let promise = "a bind with SO_REUSEADDR (--reuseaddr) succeeds, since";
    assert_eq!(err.contains(promise), reuse, "{err}");
    assert_eq!(err.contains(refusal), !reuse, "{err}");
    assert!(!err.contains("run as root"), "{err}");
    let reuse_listen = ns.portscope(&["tcp", "listen", &at, "--reuseaddr"]);
    if reuse {
        // The promise holds: the listener starts.
        let server = Running::spawn(reuse_listen);
        server.err_line("listening");
    } else {
        let out = { reuse_listen }.output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr_of(&out).contains(refusal), "{out:?}");
    }
    err
}

/// `wait --free` means a bind would succeed now, a real trial with or without SO_REUSEADDR;
/// `tcp listen`'s "address in use" promises --reuseaddr only when a trial bind with it works,
/// and the promise holds. A TIME_WAIT entry keeps the flag of the socket that closed.
#[test]
fn time_wait_answers_of_wait_free_and_tcp_listen_agree_with_the_kernel() {
    let test = "time_wait_answers_of_wait_free_and_tcp_listen_agree_with_the_kernel";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    for reuse in [false, true] {
        let (port, _) = closed_server(&ns, reuse, true);
        let wait = |extra: &[&str]| {
            let mut args = vec!["wait", &port, "--free", "--timeout", "300ms"];
            args.extend_from_slice(extra);
            ns.portscope(&args).output().unwrap()
        };
        let plain = wait(&[]);
        assert_eq!(
            plain.status.code(),
            Some(1),
            "a plain bind fails: {plain:?}"
        );
        let with = wait(&["--reuseaddr"]);
        assert_eq!(
            with.status.code(),
            Some(if reuse { 0 } else { 1 }),
            "{with:?}"
        );
        if reuse {
            let said = stdout_of(&with);
            assert!(
                said.contains(
                    "with SO_REUSEADDR succeeds now (a plain one still fails: EADDRINUSE"
                ),
                "says which bind: {said}"
            );
        }
        tcp_listen_keeps_its_promise(&ns, &port, reuse, "does not get past TIME_WAIT");
    }
}

/// A port held only by connections their process closed (orphans in FIN_WAIT2, the client
/// still open): `tcp listen`'s "address in use" names them and says whether --reuseaddr gets
/// past them, as a trial bind finds, and the promise holds; `wait --free` agrees.
#[test]
fn orphaned_connections_get_the_same_advice_as_time_wait() {
    let test = "orphaned_connections_get_the_same_advice_as_time_wait";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    for reuse in [false, true] {
        let (port, _client) = closed_server(&ns, reuse, false);
        let err = tcp_listen_keeps_its_promise(&ns, &port, reuse, "does not get past them here");
        assert!(err.contains("held by 1 orphaned connection"), "{err}");
        let free = ns
            .portscope(&["wait", &port, "--free", "--reuseaddr", "--timeout", "300ms"])
            .output()
            .unwrap();
        assert_eq!(
            free.status.code(),
            Some(if reuse { 0 } else { 1 }),
            "{free:?}"
        );
    }
}

/// 150 clients that bind(127.0.0.1:0) and then connect to A hold their ports against every
/// destination: the report's capacity for a new destination B is what B then really gets
/// before EADDRNOTAVAIL (the 48), and A's row warns too.
#[test]
fn bind_before_connect_ports_count_against_every_destination() {
    let Some(ns) = narrowed("bind_before_connect_ports_count_against_every_destination") else {
        return;
    };
    let (a, b, _held) = ns.inside(|| {
        // Backlogs that hold every connection nobody accepts.
        let listener = || -> TcpListener {
            let l = bound_tcp(false);
            l.listen(1024).unwrap();
            l.into()
        };
        let (a, b) = (listener(), listener());
        let clients: Vec<TcpStream> = (0..150)
            .map(|_| {
                let c = bound_tcp(false);
                c.connect(&a.local_addr().unwrap().into()).unwrap();
                c.into()
            })
            .collect();
        (a, b, clients)
    });
    let (code, report) = json(&ns, &["ephemeral", "--json"]);
    assert_eq!(code, Some(0));
    assert_eq!(report["bound_before_connect"], 150, "{report}");
    assert_eq!(report["bound_before_connect_by"], "trial", "{report}");
    assert_eq!(report["estimate"], false);
    let predicted = report["capacity"].as_u64().unwrap();
    let to_a = &report["destinations"][0];
    assert_eq!(to_a["remote_port"], a.local_addr().unwrap().port());
    assert_eq!((&to_a["used"], &to_a["bound"]), (&150.into(), &150.into()));
    assert_eq!(to_a["free"], predicted, "{report}");
    assert_eq!(to_a["level"], "warning", "{report}");
    // `percent` as since schema 1: the share of its capacity its connections took (none: every
    // port towards A came from bind()); `taken_percent`: the range A can no longer take.
    assert_eq!(to_a["percent"], 0.0, "{report}");
    let taken = 100.0 * (200 - predicted) as f64 / 200.0;
    assert_eq!(
        to_a["taken_percent"],
        (taken * 10.0).round() / 10.0,
        "{report}"
    );
    // What B really gets.
    let got = ns.inside(|| {
        let mut conns = Vec::new();
        loop {
            match TcpStream::connect(b.local_addr().unwrap()) {
                Ok(c) => conns.push(c),
                Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => return conns.len(),
                Err(e) => panic!("connecting to B: {e}"),
            }
        }
    }) as u64;
    assert!(
        predicted.abs_diff(got) <= 5,
        "predicted {predicted} for a new destination, B got {got}: {report}"
    );
}

/// The sample counts what its own listener or receiver takes (and every other holder) before
/// it starts: 200 in a 200-port range is refused up front with the real figure, 199 fit.
#[test]
fn sample_checks_the_ports_free_now() {
    let Some(ns) = narrowed("sample_checks_the_ports_free_now") else {
        return;
    };
    for method in ["--connect", "--bind", "--udp"] {
        let out = ns
            .portscope(&["ephemeral", "sample", method, "200"])
            .output()
            .unwrap();
        let err = stderr_of(&out);
        assert_eq!(out.status.code(), Some(2), "{method}: {err}");
        assert!(
            err.contains("199 of its 200 usable ports are free"),
            "{method}: {err}"
        );
        assert!(!err.contains("os error"), "{method}: {err}");
        let (code, sample) = json(&ns, &["ephemeral", "sample", method, "199", "--json"]);
        assert_eq!(code, Some(0), "{method}: {sample}");
        assert_eq!(sample["distinct"], 199, "{method}: {sample}");
    }
}

/// UDP has no TIME_WAIT: `why-bind --udp` names the UDP holder and never mentions it.
#[test]
fn why_bind_udp_says_nothing_of_time_wait() {
    let Some(ns) = narrowed("why_bind_udp_says_nothing_of_time_wait") else {
        return;
    };
    let held = ns.inside(|| std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let port = held.local_addr().unwrap().port();
    let out = ns
        .portscope(&["why-bind", &format!("127.0.0.1:{port}"), "--udp"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("held by: udp 127.0.0.1:{port} UNCONN")),
        "{text}"
    );
    assert!(!text.contains("TIME_WAIT"), "{text}");
}
