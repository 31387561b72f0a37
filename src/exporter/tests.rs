//! The exporter's collection on a fake host: what each metric counts, the caps, and parts
//! that cannot be read.

use std::time::Duration;

use super::look::{HIDDEN_PROCESS, Limits, OTHER};
use super::*;
use crate::host::Counters;
use crate::host::fake::FakeHost;
use crate::model::{Endpoint, Family, PortSettings, Process, Proto, Socket, TcpState};

fn tcp(local: (&str, u16), remote: (&str, u16), state: TcpState) -> Socket {
    let ep = |(ip, port): (&str, u16)| Endpoint {
        ip: ip.parse().expect("address"),
        port,
    };
    Socket::new(Proto::Tcp, ep(local), ep(remote), state)
}

fn listener(port: u16, inode: u32, pids: &[u32]) -> Socket {
    let mut s = tcp(("0.0.0.0", port), ("0.0.0.0", 0), TcpState::Listen);
    s.inode = inode;
    s.pids = pids.to_vec();
    s.send_q = 4;
    s
}

fn settings() -> PortSettings {
    PortSettings {
        range: (40000, 40999),
        reserved: vec![],
        unprivileged_port_start: Some(1024),
        tcp_tw_reuse: Some(2),
        tcp_fin_timeout: Some(60),
    }
}

fn counters() -> Counters {
    let mut c = Counters::default();
    c.add_text("TcpExt: ListenOverflows ListenDrops\nTcpExt: 7 9\n");
    c
}

fn config(max_ports: usize) -> Config {
    Config {
        limits: Limits { top: 2, max_ports },
        probes: Vec::new(),
        probe_timeout: Duration::from_millis(100),
    }
}

/// nginx on 8080 with a full accept queue, three connections and a socket only bound to the
/// port, a hidden listener on 5432,
/// and this host's connections to two remote destinations.
fn table() -> Vec<Socket> {
    let mut web = listener(8080, 1, &[42, 41]);
    web.recv_q = 4;
    let mut sockets = vec![web, listener(5432, 2, &[])];
    for port in [50001, 50002] {
        sockets.push(tcp(
            ("10.0.0.5", 8080),
            ("10.0.0.8", port),
            TcpState::Established,
        ));
    }
    sockets.push(tcp(
        ("10.0.0.5", 8080),
        ("10.0.0.8", 50003),
        TcpState::TimeWait,
    ));
    // A second server bound to the port, not yet listening (SO_REUSEPORT).
    sockets.push(tcp(("10.0.0.5", 8080), ("0.0.0.0", 0), TcpState::Bound));
    for port in 40000..40005 {
        sockets.push(tcp(
            ("10.0.0.5", port),
            ("10.0.0.9", 443),
            TcpState::Established,
        ));
    }
    for port in 40005..40008 {
        sockets.push(tcp(
            ("10.0.0.5", port),
            ("10.0.0.7", 5432),
            TcpState::TimeWait,
        ));
    }
    sockets
}

fn host() -> FakeHost {
    let mut host = FakeHost::new(vec![table()]);
    for (pid, name) in [(41, "nginx"), (42, "nginx-worker")] {
        host.processes.insert(
            pid,
            Process {
                pid,
                name: name.to_string(),
                user: None,
                cmdline: name.to_string(),
            },
        );
    }
    host.settings = Some(settings());
    host.counters = Some(counters());
    // Trial connects find no port held by bind().
    host.bind_held = Some(Vec::new());
    host
}

#[test]
fn a_look_counts_what_each_metric_says() {
    let host = host();
    let snapshot = Collection::new(&host, config(10)).snapshot();
    assert!(snapshot.notes.is_empty(), "{:?}", snapshot.notes);
    assert_eq!(snapshot.errors_total, 0);
    let look = &snapshot.look;
    assert_eq!(look.sockets.len(), 2 * 12 + 2 * 2, "every legal series");
    let count = |state| {
        look.sockets
            .iter()
            .find(|(p, f, s, _)| (*p, *f, *s) == (Proto::Tcp, Family::Ipv4, state))
            .map(|row| row.3)
    };
    assert_eq!(count(TcpState::Established), Some(7));
    assert_eq!(count(TcpState::TimeWait), Some(4));
    assert_eq!(count(TcpState::Listen), Some(2));

    assert_eq!(look.listeners.len(), 2);
    let web = &look.listeners[0];
    assert_eq!(web.port, Some(8080), "the full accept queue first");
    assert_eq!(web.process, "nginx", "the lowest pid names a shared listener");
    assert_eq!((web.accept_queue, web.backlog), (4, 4));
    assert_eq!(web.connections[&TcpState::Established], 2);
    assert_eq!(web.connections[&TcpState::TimeWait], 1);
    assert_eq!(
        web.connections.get(&TcpState::Bound),
        None,
        "a socket only bound to the port is no connection"
    );
    let hidden = &look.listeners[1];
    assert_eq!((hidden.port, hidden.process.as_str()), (Some(5432), HIDDEN_PROCESS));
    assert_eq!(
        hidden.connections.get(&TcpState::Established),
        Some(&0),
        "a remote port 5432 is not this listener's"
    );

    let ephemeral = look.ephemeral.as_ref().expect("settings were readable");
    assert_eq!(ephemeral.range_size, 1000);
    assert_eq!(ephemeral.in_use[0].0, "10.0.0.9:443");
    assert_eq!(ephemeral.in_use[0].1, 5);
    assert!((ephemeral.in_use[0].2 - 5.0 / 1000.0).abs() < 1e-9);
    assert_eq!(ephemeral.time_wait, [("10.0.0.7:5432".to_string(), 3)]);
    assert_eq!(
        look.listen_counters.map(|c| (c.overflows, c.drops)),
        Some((7, 9))
    );
    assert!(look.owners_visible);
}

#[test]
fn listening_ports_past_the_cap_are_summed_as_other() {
    let mut sockets = Vec::new();
    for (i, port) in (9000..9005).enumerate() {
        sockets.push(listener(port, 100 + i as u32, &[]));
        for peer in 0..=i as u16 {
            sockets.push(tcp(
                ("10.0.0.5", port),
                ("10.0.0.8", 50000 + peer),
                TcpState::Established,
            ));
        }
    }
    let mut host = FakeHost::new(vec![sockets]);
    host.settings = Some(settings());
    host.counters = Some(counters());
    let look = Collection::new(&host, config(2)).snapshot().look;
    let shown: Vec<_> = look
        .listeners
        .iter()
        .map(|l| (l.port_label(), l.process.clone(), l.connections[&TcpState::Established]))
        .collect();
    assert_eq!(
        shown,
        [
            ("9004".to_string(), HIDDEN_PROCESS.to_string(), 5),
            ("9003".to_string(), HIDDEN_PROCESS.to_string(), 4),
            (OTHER.to_string(), OTHER.to_string(), 1 + 2 + 3),
        ],
        "the busiest two, then the rest summed"
    );
    assert_eq!(look.listeners[2].backlog, 3 * 4);
}

#[test]
fn what_cannot_be_read_is_left_out_and_counted() {
    let host = FakeHost::new(vec![table()]);
    let mut collection = Collection::new(&host, config(10));
    let first = collection.snapshot();
    assert_eq!(first.notes.len(), 2, "{:?}", first.notes);
    assert!(first.notes.iter().any(|n| n.contains("port settings")));
    assert!(first.notes.iter().any(|n| n.contains("TCP counters")));
    assert!(first.look.ephemeral.is_none());
    assert!(first.look.listen_counters.is_none());
    assert_eq!(first.look.listeners.len(), 2, "the rest is still there");
    assert_eq!(first.errors_total, 1);
    assert_eq!(collection.snapshot().errors_total, 2, "a counter, per look");
}

/// A scrape stays cheap: trial connects run once per TRIALS_EVERY, not per look; in between,
/// the port they found held through bind() still counts while a connection uses it.
#[test]
fn trial_connects_run_on_a_slow_cadence() {
    let mut held = host();
    held.bind_held = Some(vec![40000]);
    let mut collection = Collection::new(&held, config(10));
    let first = collection.snapshot().look.ephemeral;
    let second = collection.snapshot().look.ephemeral;
    assert_eq!(*held.trial_rounds.lock().unwrap(), 1);
    assert_eq!(first, second);
    let mut without = host();
    without.bind_held = Some(Vec::new());
    let unheld = Collection::new(&without, config(10)).snapshot().look.ephemeral;
    assert_ne!(first, unheld, "the held port changes the budget");
}
