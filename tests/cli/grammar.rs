//! One grammar for every command (issue 13): durations with units, targets as `HOST:PORT`,
//! `[V6]:PORT` or nc's `HOST PORT`, port lists and ranges in every port filter, errors that
//! name the argument the user typed.

use std::net::{TcpListener, TcpStream, UdpSocket};

use crate::support::*;

fn code(mut cmd: std::process::Command) -> (Option<i32>, String, String) {
    let out = cmd.stdin(std::process::Stdio::null()).output().unwrap();
    (out.status.code(), stdout_of(&out), stderr_of(&out))
}

#[test]
fn targets_as_host_port_brackets_or_nc_s_two_arguments() {
    let (l, port) = listener();
    let port = port.to_string();
    let v4 = format!("127.0.0.1:{port}");
    for args in [
        vec!["probe", v4.as_str()],
        vec!["probe", "127.0.0.1", &port],
        vec![
            "tcp",
            "connect",
            "127.0.0.1",
            &port,
            "-q",
            "--hold",
            "0",
            "--follow",
            "0",
        ],
        vec!["tcp", "connect", &v4, "-q", "--hold", "0", "--follow", "0"],
        vec!["wait", &v4, "--timeout", "5s"],
        vec!["wait", "127.0.0.1", &port, "--timeout", "5s"],
        vec!["wait", &port, "--host", "127.0.0.1", "--timeout", "5s"],
    ] {
        let (status, _, err) = code(portscope(&args));
        assert_eq!(status, Some(0), "{args:?}: {err}");
    }
    drop(l);
    if let Ok(v6) = TcpListener::bind("[::1]:0") {
        let p6 = v6.local_addr().unwrap().port().to_string();
        for args in [
            vec!["probe".to_string(), format!("[::1]:{p6}")],
            vec!["probe".into(), "::1".into(), p6.clone()],
            vec![
                "wait".into(),
                "::1".into(),
                p6.clone(),
                "--timeout".into(),
                "5s".into(),
            ],
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let (status, _, err) = code(portscope(&args));
            assert_eq!(status, Some(0), "{args:?}: {err}");
        }
    }
    // udp send HOST PORT TEXT, as nc -u would be given them.
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uport = udp.local_addr().unwrap().port().to_string();
    let (status, _, err) = code(portscope(&[
        "udp",
        "send",
        "127.0.0.1",
        &uport,
        "hello",
        "-q",
        "--wait",
        "0",
    ]));
    assert_eq!(status, Some(0), "{err}");
    udp.set_read_timeout(Some(HANG)).unwrap();
    let mut buf = [0u8; 16];
    let (n, _) = udp.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello");
    // tcp listen ADDR PORT, in nc -l's order.
    let listen = Running::spawn(portscope(&[
        "tcp",
        "listen",
        "127.0.0.1",
        "0",
        "--once",
        "--json",
    ]));
    let ready = listen.out_line("\"listening\"");
    assert!(ready.contains("\"local\":\"127.0.0.1:"), "{ready}");
    // Forms that cannot be meant: one line each, naming what to write instead.
    for (args, says) in [
        (vec!["probe", "127.0.0.1"], "give a port too"),
        (vec!["tcp", "connect", "localhost"], "give a port too"),
        (
            vec!["tcp", "connect", "127.0.0.1:1", "2"],
            "already has a port",
        ),
        (
            vec!["wait", "127.0.0.1:1", "--free"],
            "--free and --udp are about ports on this host",
        ),
        (
            vec!["udp", "send", "127.0.0.1:9", "a", "b"],
            "after the text",
        ),
        (
            vec!["tcp", "connect", "127.0.0.1", "80,443"],
            "'80,443': one port here, not a list",
        ),
        (
            vec!["tcp", "listen", "127.0.0.1:8000-8100"],
            "'8000-8100': one port here",
        ),
        // nc's order says the same (clap refused it with its own wording before).
        (
            vec!["udp", "send", "127.0.0.1", "9", "a", "b"],
            "'b' after the text",
        ),
    ] {
        let (status, _, err) = code(portscope(&args));
        assert_eq!(status, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

/// Listeners on 7001, 7002, 7005 and 8000 and a connection to 8000, in a namespace.
fn ports_scene(test: &str) -> Option<(Netns, Vec<Box<dyn Send>>)> {
    let ns = Netns::new(test)?;
    let held = ns.inside(|| {
        let mut held: Vec<Box<dyn Send>> = Vec::new();
        for port in [7001, 7002, 7005] {
            held.push(Box::new(TcpListener::bind(("127.0.0.1", port)).unwrap()));
        }
        let web = TcpListener::bind("127.0.0.1:8000").unwrap();
        let client = TcpStream::connect("127.0.0.1:8000").unwrap();
        let (server, _) = web.accept().unwrap();
        held.push(Box::new(web));
        held.push(Box::new(client));
        held.push(Box::new(server));
        held
    });
    Some((ns, held))
}

fn local_ports(sockets: &[JsonSocket]) -> Vec<u16> {
    let mut ports: Vec<u16> = sockets.iter().map(|s| s.local_port).collect();
    ports.sort_unstable();
    ports
}

#[test]
fn port_lists_and_ranges_in_every_port_filter() {
    let Some((ns, _held)) = ports_scene("port_lists_and_ranges_in_every_port_filter") else {
        return;
    };
    let listening = ns.ls_json(&["-l", "--sport", "7001-7003,8000"]);
    assert_eq!(local_ports(&listening), [7001, 7002, 8000]);
    // Local or remote: the listener, the server side and the client, whose remote port it is.
    let either = ns.ls_json(&["--port", "7005,7999-8001"]);
    assert_eq!(either.len(), 4, "{either:#?}");
    let to = ns.ls_json(&["--dport", "1-7999,8000"]);
    assert_eq!(to.len(), 1, "the client only: {to:#?}");
    let who = json_of(ns.portscope(&["who", "7001,7002,8000", "--json"]));
    assert_eq!(local_ports(&who), [7001, 7002, 8000, 8000]);
    let (status, out, err) = code(ns.portscope(&["wait", "7001,7002", "--timeout", "5s"]));
    assert_eq!((status, out.as_str()), (Some(0), ""), "{err}");
    let (status, _, err) = code(ns.portscope(&["wait", "7001,7009", "--timeout", "200ms"]));
    assert_eq!(status, Some(1), "{err}");
    assert!(
        err.contains(
            "gave up after 0.2 s waiting for something to listen on every port of 7001,7009/tcp"
        ),
        "{err}"
    );
    let (status, _, err) = code(ns.portscope(&["wait", "127.0.0.1:7001,7005", "--timeout", "5s"]));
    assert_eq!(status, Some(0), "{err}");
    // watch: only what the list lets through is reported.
    let watch = Running::spawn(ns.portscope(&[
        "watch",
        "--json",
        "--interval",
        "50ms",
        "--sport",
        "7100-7101",
    ]));
    watch.err_line("changes follow");
    let _new = ns.inside(|| {
        (
            TcpListener::bind("127.0.0.1:7200").unwrap(),
            TcpListener::bind("127.0.0.1:7101").unwrap(),
        )
    });
    let event = watch.out_line("\"opened\"");
    assert!(event.contains("\"local_port\":7101"), "{event}");
}

#[test]
fn errors_name_the_argument_the_user_typed() {
    for (args, says) in [
        (vec!["who", "8080,x"], "PORT '8080,x': unknown port 'x'"),
        (
            vec!["ls", "--dport", "8o"],
            "--dport '8o': unknown port '8o'",
        ),
        (
            vec!["ls", "--sport", "80,70000"],
            "--sport '80,70000': invalid port '70000'",
        ),
        (
            vec!["ls", "--port", "5-3"],
            "--port '5-3': invalid port range '5-3'",
        ),
        (
            vec!["probe", "127.0.0.1", "22,x"],
            "PORTS '22,x': unknown port 'x'",
        ),
        (vec!["wait", "8080,x"], "PORTS '8080,x': unknown port 'x'"),
    ] {
        let (status, _, err) = code(portscope(&args));
        assert_eq!(status, Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(
            !err.contains("--sport") || args.contains(&"--sport"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn process_filter_matches_the_command_line() {
    let Some(ns) = Netns::new("process_filter_matches_the_command_line") else {
        return;
    };
    let listen = Running::spawn(ns.portscope(&["tcp", "listen", "127.0.0.1:7010", "--json"]));
    listen.out_line("\"listening\"");
    let pid = listen.child.id();
    for text in ["listen 127.0.0.1:7010", "portscope"] {
        let found = ns.ls_json(&["--process", text]);
        assert_eq!(found.len(), 1, "{text}: {found:#?}");
        assert_eq!(found[0].pids(), [pid], "{text}");
    }
    assert!(
        ns.ls_json(&["--process", "listen 127.0.0.1:7011"])
            .is_empty()
    );
}

#[test]
fn durations_take_units_on_every_command() {
    let (l, port) = listener();
    let port = port.to_string();
    let target = format!("127.0.0.1:{port}");
    for args in [
        vec![
            "probe",
            &target,
            "--timeout",
            "1.5",
            "--count",
            "2",
            "--interval",
            "10ms",
        ],
        vec![
            "tcp",
            "connect",
            &target,
            "-q",
            "--timeout",
            "2s",
            "--hold",
            "10ms",
            "--follow",
            "0",
        ],
        vec!["wait", &port, "--timeout", "1m"],
        vec!["kill", &port, "--dry-run", "--timeout", "2.5s"],
        vec![
            "exporter",
            "--once",
            "--probe",
            &target,
            "--probe-timeout",
            "500ms",
        ],
    ] {
        let (status, _, err) = code(portscope(&args));
        assert_eq!(status, Some(0), "{args:?}: {err}");
    }
    drop(l);
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let free = udp.local_addr().unwrap().port().to_string();
    drop(udp);
    let (status, _, err) = code(portscope(&["wait", "--udp", &free, "--timeout", "300ms"]));
    assert_eq!(status, Some(1), "{err}");
    assert!(err.contains("gave up after 0.3 s"), "{err}");
    let (status, _, err) = code(portscope(&["watch", "--interval", "10ms"]));
    assert_eq!(status, Some(2), "{err}");
    assert!(err.contains("--interval must be at least 50ms"), "{err}");
}

/// `--timeout 0` (or under a millisecond) in probe and tcp connect gave up at once and
/// reported "no answer in 0 ms": a verdict on the network that the network never gave.
#[test]
fn answer_timeouts_under_a_millisecond_are_refused() {
    let (_l, port) = listener();
    let target = format!("127.0.0.1:{port}");
    for command in [vec!["probe"], vec!["tcp", "connect"]] {
        for timeout in ["0", "0.0001", "500us"] {
            let mut args = command.clone();
            args.extend([target.as_str(), "--timeout", timeout]);
            let (status, out, err) = code(portscope(&args));
            assert_eq!(status, Some(2), "{args:?}: {out}{err}");
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("portscope: "), "{args:?}: {err}");
            assert!(err.contains("--timeout"), "{args:?}: {err}");
            assert!(err.contains(timeout), "{args:?}: {err}");
        }
    }
}
