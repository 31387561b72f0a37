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

/// How the ports that connections hold through bind() (bind-before-connect) were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// No connection holds a range port that could be bind()'s.
    Nothing,
    /// A trial connect per port, limited to that port (IP_LOCAL_PORT_RANGE): the kernel refuses
    /// connect() a port whose bind bucket bind() made, whatever the destination. Exact.
    Trial,
    /// From the ports' parity (bind() takes the parity opposite to the range's low end first,
    /// connect() the other) and sharing (a port used towards several destinations is
    /// connect()'s): an estimate, used where trials cannot run.
    Parity,
}

/// Range ports held by connections through bind(), and how they were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindHeld {
    pub ports: BTreeSet<u16>,
    pub evidence: Evidence,
}

impl BindHeld {
    pub fn none() -> BindHeld {
        BindHeld {
            ports: BTreeSet::new(),
            evidence: Evidence::Nothing,
        }
    }

    pub fn is_estimate(&self) -> bool {
        self.evidence == Evidence::Parity
    }
}

/// Range ports of TCP connections (any state but LISTEN, TIME_WAIT included) that are not a
/// listener's: the ports whose bind bucket may be bind()'s or connect()'s.
pub fn connection_ports(settings: &PortSettings, sockets: &[Socket]) -> BTreeSet<u16> {
    let listening = listening_ports(sockets);
    sockets
        .iter()
        .filter(|s| s.proto == Proto::Tcp && s.state != TcpState::Listen && s.remote.port != 0)
        .map(|s| s.local.port)
        .filter(|p| settings.in_range(*p) && !listening.contains(p))
        .collect()
}

/// The estimate where trials cannot run: ports of bind()'s parity used by one connection only.
pub fn by_parity(settings: &PortSettings, sockets: &[Socket]) -> BindHeld {
    let candidates = connection_ports(settings, sockets);
    let mut uses: HashMap<u16, usize> = HashMap::new();
    for s in sockets.iter().filter(|s| {
        s.proto == Proto::Tcp && s.remote.port != 0 && candidates.contains(&s.local.port)
    }) {
        *uses.entry(s.local.port).or_default() += 1;
    }
    let bind_parity = (settings.range.0 + 1) % 2;
    let ports: BTreeSet<u16> = candidates
        .into_iter()
        .filter(|p| p % 2 == bind_parity && uses.get(p) == Some(&1))
        .collect();
    BindHeld {
        evidence: if ports.is_empty() {
            Evidence::Nothing
        } else {
            Evidence::Parity
        },
        ports,
    }
}

/// Listeners and bound-only sockets: ports held by bind() alone, as the table shows them.
fn listening_ports(sockets: &[Socket]) -> HashSet<u16> {
    sockets
        .iter()
        .filter(|s| s.proto == Proto::Tcp && s.state.is_unconnected())
        .map(|s| s.local.port)
        .collect()
}

/// connect() ports only need to be unique per (local address, remote address, remote port);
/// a port bind() took is taken for every destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub local: IpAddr,
    pub remote: IpAddr,
    pub remote_port: u16,
    /// Distinct local ports of the range in use towards it.
    pub used: usize,
    /// Of those, ports its connections took through bind() (bind-before-connect): counted
    /// against every destination, in `capacity`.
    pub bound: usize,
    pub time_wait: usize,
    /// Ports a connect() towards it can pick from: the range, less reserved ports and every
    /// port held through bind() (the same for every destination).
    pub capacity: usize,
    /// The range less reserved ports.
    pub usable: usize,
}

impl Destination {
    /// Ports a new connect() towards it can still take.
    pub fn free(&self) -> usize {
        self.capacity.saturating_sub(self.used - self.bound)
    }

    /// Share of its capacity (the ports a connect() towards it can pick) that its connections
    /// took: JSON's `percent` and the exporter's capacity ratio, unchanged since schema 1.
    pub fn percent(&self) -> f64 {
        if self.capacity == 0 {
            100.0
        } else {
            100.0 * (self.capacity - self.free()) as f64 / self.capacity as f64
        }
    }

    /// Share of the usable range (less reserved ports) a connect() towards it can no longer
    /// take, ports held through bind() anywhere included: what its level follows.
    pub fn taken_percent(&self) -> f64 {
        if self.usable == 0 {
            100.0
        } else {
            100.0 * (self.usable - self.free()) as f64 / self.usable as f64
        }
    }

    pub fn level(&self) -> Level {
        match self.taken_percent() {
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
    /// Range ports held through bind() (listeners, and connections bound before connect()):
    /// taken from every destination.
    pub tcp_bind_held: usize,
    /// Of those, ports held by connections bound before connect(), and how they were found.
    pub bind_before_connect: BindHeld,
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

/// The report from the table, with the connections' ports found held through bind().
pub fn build(settings: &PortSettings, sockets: &[Socket], bind_held: &BindHeld) -> Report {
    let in_range = |s: &Socket| settings.in_range(s.local.port);
    let listening_ports = listening_ports(sockets);
    let held: BTreeSet<u16> = listening_ports
        .iter()
        .chain(&bind_held.ports)
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
        bind_before_connect: bind_held.clone(),
        destinations: Vec::new(),
        bound: Vec::new(),
    };
    let capacity = report.capacity();
    let usable = settings
        .range_size()
        .saturating_sub(settings.reserved_in_range());
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
                bound: ports.intersection(&bind_held.ports).count(),
                time_wait,
                capacity,
                usable,
            },
        )
        .collect();
    report.destinations.sort_by(|a, b| {
        a.free()
            .cmp(&b.free())
            .then(b.used.cmp(&a.used))
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
        let report = build(&settings, &sockets, &BindHeld::none());
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
        // `percent` keeps its schema-1 meaning: used / capacity when no connection was bound
        // before connect(); `taken_percent` counts the bind()-held ports of the range too.
        assert_eq!(busiest.percent(), 100.0 * 30.0 / 189.0);
        assert_eq!(busiest.taken_percent(), 100.0 * 31.0 / 190.0);
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

    /// Ports bind() took count against every destination; without trials, the ports of
    /// bind()'s parity used by one connection only are the estimate.
    #[test]
    fn bind_held_ports_count_against_every_destination() {
        let settings = PortSettings {
            range: (40000, 40199),
            reserved: vec![],
            unprivileged_port_start: Some(1024),
            tcp_tw_reuse: Some(2),
            tcp_fin_timeout: Some(60),
        };
        let mut sockets = vec![tcp(("127.0.0.1", 40001), ("0.0.0.0", 0), TcpState::Listen)];
        // 10 bound clients (odd ports) and 4 connect()ed ones (even) towards the listener.
        for port in (40011..40031).step_by(2) {
            sockets.push(tcp(
                ("127.0.0.1", port),
                ("127.0.0.1", 40001),
                TcpState::Established,
            ));
        }
        for port in [40100, 40102, 40104, 40106] {
            sockets.push(tcp(
                ("127.0.0.1", port),
                ("127.0.0.1", 40001),
                TcpState::Established,
            ));
        }
        // An odd port shared by two destinations is connect()'s.
        sockets.push(tcp(
            ("127.0.0.1", 40151),
            ("10.0.0.1", 80),
            TcpState::Established,
        ));
        sockets.push(tcp(
            ("127.0.0.1", 40151),
            ("10.0.0.2", 80),
            TcpState::Established,
        ));
        let estimate = by_parity(&settings, &sockets);
        assert_eq!(estimate.evidence, Evidence::Parity);
        assert_eq!(estimate.ports.len(), 10, "{estimate:?}");
        let report = build(&settings, &sockets, &estimate);
        assert_eq!(
            report.tcp_bind_held, 11,
            "the listener and the bound clients"
        );
        assert_eq!(report.capacity(), 189);
        let to_listener = report
            .destinations
            .iter()
            .find(|d| d.remote_port == 40001)
            .unwrap();
        assert_eq!((to_listener.used, to_listener.bound), (14, 10));
        assert_eq!(to_listener.free(), 189 - 4);
        assert_eq!(
            to_listener.percent(),
            100.0 * 4.0 / 189.0,
            "of its capacity"
        );
        assert_eq!(to_listener.taken_percent(), 100.0 * 15.0 / 200.0);
        let elsewhere = report
            .destinations
            .iter()
            .find(|d| d.remote_port == 80)
            .unwrap();
        assert_eq!(elsewhere.free(), 189 - 1, "the bound ports count there too");
    }
}
