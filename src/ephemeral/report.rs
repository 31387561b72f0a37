//! The dynamic-port report computed from the socket table: plain data, no I/O.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use crate::model::{PortSettings, Proto, Socket, TcpState};

/// Share of a destination's capacity in use at which it is flagged.
pub const WARNING_PERCENT: f64 = 70.0;
pub const CRITICAL_PERCENT: f64 = 90.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Critical => "critical",
        }
    }
}

/// connect() ports only need to be unique per (local address, remote address, remote port).
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub local: IpAddr,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// Distinct local ports of the range in use towards it.
    pub used: usize,
    pub time_wait: usize,
    pub capacity: usize,
}

impl Destination {
    pub fn percent(&self) -> f64 {
        if self.capacity == 0 {
            100.0
        } else {
            100.0 * self.used as f64 / self.capacity as f64
        }
    }

    pub fn level(&self) -> Level {
        match self.percent() {
            p if p >= CRITICAL_PERCENT => Level::Critical,
            p if p >= WARNING_PERCENT => Level::Warning,
            _ => Level::Ok,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub settings: PortSettings,
    /// TCP sockets whose local port is in the range, by state.
    pub tcp_by_state: BTreeMap<TcpState, usize>,
    pub tcp: usize,
    pub udp: usize,
    pub time_wait: usize,
    /// Range ports held by TCP listeners: taken from every destination.
    pub tcp_bind_held: usize,
    pub destinations: Vec<Destination>,
    /// Indices (into the sockets given) of listeners and UDP sockets holding a range port.
    pub bound: Vec<usize>,
}

impl Report {
    /// Ports a connect() can pick per destination.
    pub fn capacity(&self) -> usize {
        self.settings
            .range_size()
            .saturating_sub(self.settings.reserved_in_range())
            .saturating_sub(self.tcp_bind_held)
    }
}

pub fn build(settings: &PortSettings, sockets: &[Socket]) -> Report {
    let in_range = |s: &Socket| settings.in_range(s.local.port);
    // Listeners and bound-only sockets: ports held by bind() alone.
    let listening_ports: HashSet<u16> = sockets
        .iter()
        .filter(|s| s.proto == Proto::Tcp && s.state.is_unconnected())
        .map(|s| s.local.port)
        .collect();
    let held: BTreeSet<u16> = listening_ports
        .iter()
        .copied()
        .filter(|p| settings.in_range(*p) && !settings.is_reserved(*p))
        .collect();
    let mut report = Report {
        settings: settings.clone(),
        tcp_by_state: BTreeMap::new(),
        tcp: 0,
        udp: 0,
        time_wait: 0,
        tcp_bind_held: held.len(),
        destinations: Vec::new(),
        bound: Vec::new(),
    };
    let capacity = report.capacity();
    let mut groups: HashMap<(IpAddr, IpAddr, u16), (BTreeSet<u16>, usize)> = HashMap::new();
    for (i, s) in sockets.iter().enumerate().filter(|(_, s)| in_range(s)) {
        match s.proto {
            Proto::Udp => {
                report.udp += 1;
                report.bound.push(i);
            }
            Proto::Tcp => {
                report.tcp += 1;
                *report.tcp_by_state.entry(s.state).or_default() += 1;
                if s.state == TcpState::TimeWait {
                    report.time_wait += 1;
                }
                if s.state.is_unconnected() {
                    report.bound.push(i);
                } else if s.remote.port != 0 && !listening_ports.contains(&s.local.port) {
                    // A connect()ed socket; accepted ones share their listener's port.
                    let group = groups
                        .entry((s.local.ip, s.remote.ip, s.remote.port))
                        .or_default();
                    group.0.insert(s.local.port);
                    group.1 += usize::from(s.state == TcpState::TimeWait);
                }
            }
        }
    }
    report.destinations = groups
        .into_iter()
        .map(
            |((local, remote, remote_port), (ports, time_wait))| Destination {
                local,
                remote,
                remote_port,
                used: ports.len(),
                time_wait,
                capacity,
            },
        )
        .collect();
    report.destinations.sort_by(|a, b| {
        b.used
            .cmp(&a.used)
            .then(b.time_wait.cmp(&a.time_wait))
            .then((a.remote, a.remote_port, a.local).cmp(&(b.remote, b.remote_port, b.local)))
    });
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Endpoint;

    fn tcp(local: (&str, u16), remote: (&str, u16), state: TcpState) -> Socket {
        let ep = |(ip, port): (&str, u16)| Endpoint {
            ip: ip.parse().unwrap(),
            port,
        };
        Socket::new(Proto::Tcp, ep(local), ep(remote), state)
    }

    #[test]
    fn groups_connect_ports_by_destination() {
        let settings = PortSettings {
            range: (40000, 40199),
            reserved: vec![(40000, 40009)],
            unprivileged_port_start: Some(1024),
            tcp_tw_reuse: Some(2),
            tcp_fin_timeout: Some(60),
        };
        let mut sockets = vec![
            tcp(("127.0.0.1", 40100), ("0.0.0.0", 0), TcpState::Listen),
            tcp(
                ("127.0.0.1", 40100),
                ("127.0.0.1", 40150),
                TcpState::Established,
            ),
            tcp(("127.0.0.1", 80), ("0.0.0.0", 0), TcpState::Listen),
        ];
        for port in 40150..40180 {
            sockets.push(tcp(
                ("127.0.0.1", port),
                ("127.0.0.1", 40100),
                TcpState::Established,
            ));
        }
        for port in 40180..40183 {
            sockets.push(tcp(
                ("127.0.0.1", port),
                ("10.0.0.1", 443),
                TcpState::TimeWait,
            ));
        }
        let report = build(&settings, &sockets);
        assert_eq!(report.tcp_bind_held, 1, "the listener on 40100");
        assert_eq!(report.capacity(), 200 - 10 - 1);
        assert_eq!(report.destinations.len(), 2, "{:?}", report.destinations);
        let busiest = &report.destinations[0];
        assert_eq!(
            (busiest.remote_port, busiest.used, busiest.time_wait),
            (40100, 30, 0)
        );
        assert_eq!(report.destinations[1].time_wait, 3);
        assert_eq!(report.time_wait, 3);
        assert_eq!(report.bound, vec![0], "the in-range listener only");
        assert_eq!(busiest.level(), Level::Ok);
        let full = Destination {
            used: 180,
            ..busiest.clone()
        };
        assert_eq!(full.level(), Level::Critical);
        let busy = Destination {
            used: 140,
            ..busiest.clone()
        };
        assert_eq!(busy.level(), Level::Warning);
    }
}
