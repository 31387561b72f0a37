//! Every `ls` filter, inside a private network namespace holding a known set of sockets.

use std::net::{Shutdown, TcpListener, TcpStream, UdpSocket};

use crate::support::*;

/// The namespace's sockets: a v4 listener with one connection, a v6 listener, a closed
/// connection in TIME_WAIT, a bound and a connected UDP socket.
struct Scene {
    ns: Netns,
    listen_port: u16,
    client_port: u16,
    v6_port: u16,
    tw_port: u16,
    udp_port: u16,
    _held: Vec<Box<dyn Send>>,
}

fn scene(test: &str) -> Option<Scene> {
    let ns = Netns::new(test)?;
    let (ports, held) = ns.inside(|| {
        let mut held: Vec<Box<dyn Send>> = Vec::new();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (server, _) = l.accept().unwrap();
        let v6 = TcpListener::bind("[::1]:0").unwrap();
        let tw_client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (tw_server, _) = l.accept().unwrap();
        let tw_port = tw_client.local_addr().unwrap().port();
        tw_client.shutdown(Shutdown::Both).unwrap();
        drop((tw_client, tw_server));
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        peer.connect(udp.local_addr().unwrap()).unwrap();
        let ports = [
            l.local_addr().unwrap().port(),
            client.local_addr().unwrap().port(),
            v6.local_addr().unwrap().port(),
            tw_port,
            udp.local_addr().unwrap().port(),
        ];
        held.push(Box::new(l));
        held.push(Box::new(client));
        held.push(Box::new(server));
        held.push(Box::new(v6));
        held.push(Box::new(udp));
        held.push(Box::new(peer));
        (ports, held)
    });
    let [listen_port, client_port, v6_port, tw_port, udp_port] = ports;
    let scene = Scene {
        ns,
        listen_port,
        client_port,
        v6_port,
        tw_port,
        udp_port,
        _held: held,
    };
    eventually("TIME_WAIT", || {
        let tw = scene.ns.ls_json(&["--state", "time_wait"]);
        seen(!tw.is_empty(), tw)
    });
    Some(scene)
}

fn ports(sockets: &[JsonSocket]) -> Vec<(String, u16, String)> {
    let mut v: Vec<_> = sockets
        .iter()
        .map(|s| (s.proto.clone(), s.local_port, s.state.clone()))
        .collect();
    v.sort();
    v
}

#[test]
fn every_filter() {
    let Some(sc) = scene("every_filter") else {
        return;
    };
    let ns = &sc.ns;
    let all = ns.ls_json(&[]);
    assert_eq!(all.len(), 7, "the whole scene: {all:#?}");

    let tcp = ns.ls_json(&["-t"]);
    assert!(tcp.iter().all(|s| s.proto == "tcp") && tcp.len() == 5);
    let udp = ns.ls_json(&["--udp"]);
    assert!(udp.iter().all(|s| s.proto == "udp") && udp.len() == 2);
    let v6 = ns.ls_json(&["-6"]);
    assert_eq!(
        ports(&v6),
        vec![("tcp".into(), sc.v6_port, "LISTEN".into())]
    );
    assert_eq!(ns.ls_json(&["-4"]).len(), 6);

    let listening = ns.ls_json(&["-l"]);
    assert_eq!(ports(&listening), {
        let mut v = vec![
            ("tcp".to_string(), sc.listen_port, "LISTEN".to_string()),
            ("tcp".to_string(), sc.v6_port, "LISTEN".to_string()),
            ("udp".to_string(), sc.udp_port, "UNCONN".to_string()),
        ];
        v.sort();
        v
    });
    for spelling in ["time-wait", "TIME_WAIT", "Time-Wait", "time_wait"] {
        let tw = ns.ls_json(&["--state", spelling]);
        assert_eq!(
            ports(&tw),
            vec![("tcp".into(), sc.tw_port, "TIME_WAIT".into())],
            "{spelling}"
        );
    }
    let two = ns.ls_json(&["--state", "listen,unconn"]);
    assert_eq!(two.len(), 3);
    let est = ns.ls_json(&["-t", "--state", "established"]);
    assert_eq!(est.len(), 2);

    let port = sc.listen_port.to_string();
    // --port: local or remote; the listener, its accepted side, the client, the TIME_WAIT.
    assert_eq!(ns.ls_json(&["--port", &port]).len(), 4);
    assert_eq!(ns.ls_json(&["--sport", &port]).len(), 2);
    let dport = ns.ls_json(&["--dport", &port]);
    assert_eq!(dport.len(), 2);
    assert!(dport.iter().any(|s| s.local_port == sc.client_port));
    let both = ns.ls_json(&["--sport", &sc.client_port.to_string(), "--dport", &port]);
    assert_eq!(both.len(), 1);

    let me = std::process::id().to_string();
    let mine = ns.ls_json(&["--pid", &me]);
    assert_eq!(mine.len(), 6, "all but the TIME_WAIT are ours: {mine:#?}");
    assert!(mine.iter().all(|s| s.pids() == vec![std::process::id()]));
    assert!(ns.ls_json(&["--pid", "1"]).is_empty());
    let name = &mine[0].processes[0].name;
    let part = &name[..name.len().min(4)];
    assert_eq!(ns.ls_json(&["--process", part]).len(), 6);
    assert!(
        ns.ls_json(&["--process", "no-such-process-name"])
            .is_empty()
    );

    assert_eq!(
        ns.ls_json(&["--user", "root"]).len(),
        6,
        "TIME_WAIT has no user"
    );
    assert_eq!(ns.ls_json(&["--user", "0"]).len(), 6);
    assert!(ns.ls_json(&["--user", "65534"]).is_empty());

    // Combined filters AND together.
    assert_eq!(ns.ls_json(&["-t", "-l", "-4"]).len(), 1);
    assert!(ns.ls_json(&["-u", "--state", "time-wait"]).is_empty());
    let out = ns
        .portscope(&["ls", "-u", "--state", "time-wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing matched");
}

#[test]
fn sort_orders() {
    let Some(sc) = scene("sort_orders") else {
        return;
    };
    let listed = sc.ns.ls_json(&[]);
    let first_non_listener = listed
        .iter()
        .position(|s| s.state != "LISTEN" && s.state != "UNCONN");
    let last_listener = listed
        .iter()
        .rposition(|s| s.state == "LISTEN" || s.state == "UNCONN");
    assert!(
        last_listener < first_non_listener,
        "listeners first by default"
    );
    let by_port = sc.ns.ls_json(&["--sort", "port"]);
    assert!(
        by_port
            .windows(2)
            .all(|w| w[0].local_port <= w[1].local_port)
    );
    let by_proto = sc.ns.ls_json(&["--sort", "proto"]);
    let first_udp = by_proto.iter().position(|s| s.proto == "udp").unwrap();
    assert!(by_proto[first_udp..].iter().all(|s| s.proto == "udp"));
    let by_pid = sc.ns.ls_json(&["--sort", "pid"]);
    assert!(
        by_pid.last().unwrap().processes.is_empty(),
        "no owner sorts last"
    );
    let by_state = sc.ns.ls_json(&["--sort", "state"]);
    assert_eq!(by_state[0].state, "LISTEN");
    assert_eq!(by_state.last().unwrap().state, "TIME_WAIT");
}

/// `-4` keeps what carries IPv4: a `[::]` listener with IPV6_V6ONLY off (marked tcp46,
/// `dual_stack`) and the connection it accepted from IPv4; a v6-only listener stays out.
#[test]
fn ipv4_filter_includes_dual_stack_sockets() {
    let Some(ns) = Netns::new("ipv4_filter_includes_dual_stack_sockets") else {
        return;
    };
    let (ports, _held) = ns.inside(|| {
        let v6 = |only: bool| {
            let s =
                socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
            s.set_only_v6(only).unwrap();
            s.bind(&"[::]:0".parse::<std::net::SocketAddr>().unwrap().into())
                .unwrap();
            s.listen(8).unwrap();
            TcpListener::from(s)
        };
        let (dual, only) = (v6(false), v6(true));
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let dual_port = dual.local_addr().unwrap().port();
        let client = TcpStream::connect(("127.0.0.1", dual_port)).unwrap();
        let (server, _) = dual.accept().unwrap();
        let port = |l: &TcpListener| l.local_addr().unwrap().port();
        let ports = (port(&dual), port(&only), port(&v4));
        (ports, (dual, only, v4, client, server))
    });
    let (dual_port, only_port, v4_port) = ports;
    let listening = ns.ls_json(&["-4", "-l"]);
    let mut seen: Vec<(u16, bool)> = listening
        .iter()
        .map(|s| (s.local_port, s.dual_stack))
        .collect();
    seen.sort();
    let mut want = vec![(dual_port, true), (v4_port, false)];
    want.sort();
    assert_eq!(seen, want, "{listening:#?}");
    assert!(!seen.iter().any(|(p, _)| *p == only_port));
    let text = stdout_of(&ns.portscope(&["ls", "-4", "-l", "-H"]).output().unwrap());
    assert!(
        text.lines()
            .any(|l| l.starts_with("tcp46 ") && l.contains(&format!("[::]:{dual_port}"))),
        "{text}"
    );
    // The accepted connection: an IPv6 socket talking IPv4 (::ffff:127.0.0.1).
    let accepted = ns.ls_json(&[
        "-4",
        "--sport",
        &dual_port.to_string(),
        "--state",
        "established",
    ]);
    assert_eq!(accepted.len(), 1, "{accepted:#?}");
    assert_eq!(accepted[0].local_addr, "::ffff:127.0.0.1");
    // -6 -l: both IPv6 listeners.
    assert_eq!(ns.ls_json(&["-6", "-l"]).len(), 2);
}
