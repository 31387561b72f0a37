//! TCP sockets after bind() and before listen() or connect(): they hold their port, so they
//! are listed (BOUND) and named as holders; why-bind's holders agree with its trial bind.

use std::net::{SocketAddr, TcpListener};

use socket2::{Domain, Socket, Type};

use crate::support::*;

/// A TCP socket bound to `addr` and left there; `v6only` for an IPv6 one.
fn bound(addr: &str, v6only: Option<bool>) -> Socket {
    let addr: SocketAddr = addr.parse().unwrap();
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).unwrap();
    if let Some(only) = v6only {
        socket.set_only_v6(only).unwrap();
    }
    socket.bind(&addr.into()).unwrap();
    socket
}

#[test]
fn a_bound_only_socket_is_listed_as_bound_with_its_owner() {
    let test = "a_bound_only_socket_is_listed_as_bound_with_its_owner";
    let Some(ns) = Netns::new(test) else { return };
    let held = ns.inside(|| bound("127.0.0.1:7100", None));
    let me = std::process::id();
    let rows = ns.ls_json(&["--state", "bound"]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].state.as_str(), rows[0].local_port, rows[0].pids()),
        ("BOUND", 7100, vec![me])
    );
    assert!(ns.ls_json(&["-t"]).iter().any(|s| s.state == "BOUND"));
    assert!(
        ns.ls_json(&["-l"]).is_empty(),
        "-l lists listeners, not bound-only sockets"
    );
    let out = ns.portscope(&["who", "7100"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    assert!(
        text.starts_with("7100/tcp BOUND on 127.0.0.1 — ") && text.contains(&format!("(pid {me}")),
        "{text}"
    );
    drop(held);
}

/// What why-bind --json says about one address.
struct Verdict {
    holders: Vec<String>,
    time_wait: u64,
    bindable: bool,
}

fn why_bind(ns: &Netns, args: &[&str]) -> Verdict {
    let mut all = vec!["why-bind", "--json"];
    all.extend_from_slice(args);
    let out = ns.portscope(&all).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr_of(&out)));
    let bindable = v["bindable"].as_bool().unwrap();
    assert_eq!(
        out.status.code(),
        Some(if bindable { 0 } else { 1 }),
        "{args:?}"
    );
    Verdict {
        holders: v["holders"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| format!("{}:{} {}", h["local_addr"], h["local_port"], h["state"]))
            .collect(),
        time_wait: v["time_wait"].as_u64().unwrap(),
        bindable,
    }
}

/// For each kind of holder, why-bind finds one exactly when its own trial bind fails.
#[test]
fn why_bind_finds_a_holder_exactly_when_the_trial_bind_fails() {
    let test = "why_bind_finds_a_holder_exactly_when_the_trial_bind_fails";
    let Some(ns) = Netns::new(test) else { return };
    let held = ns.inside(|| {
        let bound_only = bound("127.0.0.1:7201", None);
        let listening = TcpListener::bind("0.0.0.0:7202").unwrap();
        // A connection from the fixed port 7203, closed by the client first: TIME_WAIT there.
        let server = TcpListener::bind("127.0.0.1:7204").unwrap();
        let client = bound("127.0.0.1:7203", None);
        client
            .connect(&"127.0.0.1:7204".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let (accepted, _) = server.accept().unwrap();
        drop(client);
        let mut byte = [0u8];
        // The client's FIN arrives: read returns 0; then the server side closes too.
        assert_eq!(std::io::Read::read(&mut &accepted, &mut byte).unwrap(), 0);
        drop(accepted);
        let dual = bound("[::]:7205", Some(false));
        dual.listen(8).unwrap();
        let v4 = TcpListener::bind("0.0.0.0:7206").unwrap();
        let v6only = bound("[::]:7207", Some(true));
        v6only.listen(8).unwrap();
        (bound_only, listening, server, dual, v4, v6only)
    });
    eventually("TIME_WAIT on 7203", || {
        let tw = ns.ls_json(&["--state", "time-wait", "--sport", "7203"]);
        seen(!tw.is_empty(), tw)
    });
    let cases: [(&[&str], &str); 7] = [
        (&["127.0.0.1:7201"], "bound-only"),
        (&["127.0.0.1:7202"], "listening on 0.0.0.0"),
        (&["127.0.0.1:7203"], "TIME_WAIT"),
        (&["0.0.0.0:7205"], "[::] taking IPv4 too"),
        (&["[::]:7206"], "0.0.0.0 against a [::] bind"),
        (&["0.0.0.0:7207"], "[::] with IPV6_V6ONLY: no overlap"),
        (&["127.0.0.1:7208"], "nothing"),
    ];
    for (args, what) in cases {
        let v = why_bind(&ns, args);
        let found = !v.holders.is_empty() || v.time_wait > 0;
        assert_eq!(
            found, !v.bindable,
            "{what}: holders {:?}, TIME_WAIT {}, bindable {}",
            v.holders, v.time_wait, v.bindable
        );
        let expected_holder = match what {
            "bound-only" => Some("\"127.0.0.1\":7201 \"BOUND\""),
            "listening on 0.0.0.0" => Some("\"0.0.0.0\":7202 \"LISTEN\""),
            "[::] taking IPv4 too" => Some("\"::\":7205 \"LISTEN\""),
            "0.0.0.0 against a [::] bind" => Some("\"0.0.0.0\":7206 \"LISTEN\""),
            _ => None,
        };
        match expected_holder {
            Some(h) => assert_eq!(v.holders, [h], "{what}"),
            None => assert!(v.holders.is_empty(), "{what}: {:?}", v.holders),
        }
    }
    // The text names the bound-only holder and its process.
    let out = ns
        .portscope(&["why-bind", "127.0.0.1:7201"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(
        text.contains("held by: tcp 127.0.0.1:7201 BOUND — ")
            && text.contains(&format!("(pid {}", std::process::id())),
        "{text}"
    );
    assert!(
        text.contains("verdict: binding 127.0.0.1:7201/tcp fails"),
        "{text}"
    );
    drop(held);
}

/// SO_REUSEADDR advice against a bound-only holder agrees with the trial bind: it helps when
/// the holder set SO_REUSEADDR too, not when it did not.
#[test]
fn why_bind_reuseaddr_advice_on_a_bound_holder_follows_the_trial() {
    for holder_reuses in [true, false] {
        let holder = bound_tcp(holder_reuses);
        let addr = holder
            .local_addr()
            .unwrap()
            .as_socket()
            .unwrap()
            .to_string();
        let out = portscope(&["why-bind", &addr, "--json"]).output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stderr_of(&out)));
        let advice = v["reuseaddr"].as_str().unwrap();
        let trial_ok = v["trial"]["reuseaddr"] == "ok";
        assert_eq!(trial_ok, holder_reuses, "{v}");
        assert_eq!(
            advice.starts_with("would help:"),
            trial_ok,
            "holder with SO_REUSEADDR {holder_reuses}: {advice}"
        );
        drop(holder);
    }
}

/// Every advice line of why-bind, against bound-only holders and listeners with and without
/// SO_REUSEADDR or SO_REUSEPORT, says "would help" exactly when its trial bind succeeds and
/// "would not help" when the trial meets the holder; a real bind+listen with that option then
/// does what the advice said.
#[test]
fn why_bind_advice_lines_agree_with_what_the_kernel_then_does() {
    for (listening, option) in [false, true]
        .into_iter()
        .flat_map(|l| ["", "reuseaddr", "reuseport"].map(|o| (l, o)))
    {
        let holder = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        holder.set_reuse_address(option == "reuseaddr").unwrap();
        holder.set_reuse_port(option == "reuseport").unwrap();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        holder.bind(&any.into()).unwrap();
        if listening {
            holder.listen(8).unwrap();
        }
        let addr = holder.local_addr().unwrap().as_socket().unwrap();
        let out = portscope(&["why-bind", &addr.to_string(), "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", stderr_of(&out)));
        let case = format!("holder listening {listening}, option {option:?}: {v}");
        for key in ["reuseaddr", "reuseport"] {
            let advice = v[key].as_str().unwrap();
            let trial_ok = v["trial"][key] == "ok";
            assert_eq!(advice.starts_with("would help:"), trial_ok, "{key}: {case}");
            assert_eq!(
                advice.starts_with("would not help"),
                !trial_ok,
                "{key}: {case}"
            );
            let real = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            real.set_reuse_address(key == "reuseaddr").unwrap();
            real.set_reuse_port(key == "reuseport").unwrap();
            let bound = real.bind(&addr.into()).and_then(|()| real.listen(8));
            assert_eq!(
                bound.is_ok(),
                trial_ok,
                "{key}: the kernel then says {bound:?}; {case}"
            );
        }
        drop(holder);
    }
}

/// `watch` follows a bound-only socket by its inode, as a listener: two sharing an address
/// (SO_REUSEADDR) are two sockets, and listen() on one is a state change from BOUND.
#[test]
fn watch_follows_bound_sockets_into_listen() {
    let test = "watch_follows_bound_sockets_into_listen";
    let Some(ns) = Netns::new(test) else { return };
    let (first, second) = ns.inside(|| {
        let reusing = || {
            let s = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
            s.set_reuse_address(true).unwrap();
            let addr: SocketAddr = "127.0.0.1:7400".parse().unwrap();
            s.bind(&addr.into()).unwrap();
            s
        };
        (reusing(), reusing())
    });
    let watch = Running::spawn(ns.portscope(&["watch", "-t", "--json", "--interval", "0.05"]));
    let started = watch.err_line("watching");
    assert!(started.contains("watching 2 sockets"), "{started}");
    first.listen(8).unwrap();
    let lines = watch.out_lines_until("\"LISTEN\"");
    let events: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "one event, the state change: {lines:#?}");
    assert_eq!(
        (&events[0]["event"], &events[0]["from"], &events[0]["to"]),
        (&"state".into(), &"BOUND".into(), &"LISTEN".into()),
        "{lines:#?}"
    );
    watch.signal(libc::SIGINT);
    drop((first, second));
}
