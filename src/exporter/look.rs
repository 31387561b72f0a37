//! One look at a host, reduced to what the metrics show: plain data with bounded labels
//! (no remote address outside the top-N destinations, no 4-tuple), built without I/O.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use crate::ephemeral::report;
use crate::host::Counters;
use crate::model::{Family, Inventory, PortSettings, Proto, Socket, TcpState};

/// The label of a listener whose process could not be seen (another user's, unprivileged).
pub const HIDDEN_PROCESS: &str = "-";
/// The label of the bucket that holds the listening ports past the cap.
pub const OTHER: &str = "other";

/// How many series the look may hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Destinations shown for ephemeral use and TIME_WAIT.
    pub top: usize,
    /// Listening (proto, port, process) groups shown one by one; the rest are `other`.
    pub max_ports: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Look {
    /// Every legal (proto, family, state), zero included, so series never vanish.
    pub sockets: Vec<(Proto, Family, TcpState, u64)>,
    pub listeners: Vec<Listener>,
    /// No process's descriptors were unreadable: every owner could be seen.
    pub owners_visible: bool,
    pub ephemeral: Option<Ephemeral>,
    pub listen_counters: Option<ListenCounters>,
    pub probes: Vec<ProbeResult>,
}

/// Sockets listening on one port, by one process (or the `other` bucket).
#[derive(Debug, Clone, PartialEq)]
pub struct Listener {
    pub proto: Proto,
    /// None: the `other` bucket.
    pub port: Option<u16>,
    pub process: String,
    /// Connections on the listening port by state (ESTABLISHED always present).
    pub connections: BTreeMap<TcpState, u64>,
    /// TCP only: connections waiting for accept(), and the backlog, summed over the group.
    pub accept_queue: u64,
    pub backlog: u64,
}

impl Listener {
    pub fn port_label(&self) -> String {
        self.port.map_or_else(|| OTHER.to_string(), |p| p.to_string())
    }

    fn total(&self) -> u64 {
        self.connections.values().sum()
    }

    fn queue_full(&self) -> bool {
        self.backlog > 0 && self.accept_queue >= self.backlog
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ephemeral {
    pub range_size: u64,
    /// The busiest destinations: `ADDR:PORT`, ports in use, share of the capacity.
    pub in_use: Vec<(String, u64, f64)>,
    /// The destinations with most TIME_WAIT sockets left by this host's connects.
    pub time_wait: Vec<(String, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenCounters {
    pub overflows: u64,
    pub drops: u64,
}

impl ListenCounters {
    pub fn from_kernel(counters: &Counters) -> Option<ListenCounters> {
        let get = |name| {
            let value = counters.get("TcpExt", name)?;
            u64::try_from(value).ok()
        };
        Some(ListenCounters {
            overflows: get("ListenOverflows")?,
            drops: get("ListenDrops")?,
        })
    }
}

/// A `--probe` target: open on any of its addresses, and how long the answer took.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    pub target: String,
    pub success: bool,
    pub duration: Duration,
}

/// Counts of every socket in the table.
pub fn socket_counts(table: &[Socket]) -> Vec<(Proto, Family, TcpState, u64)> {
    let mut counts: HashMap<(Proto, Family, TcpState), u64> = HashMap::new();
    for s in table {
        *counts.entry((s.proto, s.family, s.state)).or_default() += 1;
    }
    let legal = |proto: Proto, state: TcpState| match proto {
        Proto::Tcp => state != TcpState::Unconn,
        Proto::Udp => matches!(state, TcpState::Unconn | TcpState::Established),
    };
    let mut all = Vec::new();
    for proto in [Proto::Tcp, Proto::Udp] {
        for family in [Family::Ipv4, Family::Ipv6] {
            for state in TcpState::ALL.into_iter().filter(|s| legal(proto, *s)) {
                let n = counts.get(&(proto, family, state)).copied().unwrap_or(0);
                all.push((proto, family, state, n));
            }
        }
    }
    all
}

/// Listeners (from an inventory of listening sockets with owners) and the connections on
/// their ports (from the whole table), grouped by (proto, port, process) and capped.
pub fn listeners(listening: &Inventory, table: &[Socket], max_ports: usize) -> Vec<Listener> {
    let process_of = |s: &Socket| {
        s.pids
            .iter()
            .min()
            .and_then(|pid| listening.processes.get(pid))
            .map_or_else(|| HIDDEN_PROCESS.to_string(), |p| p.name.clone())
    };
    let mut groups: Vec<Listener> = Vec::new();
    let mut index: HashMap<(Proto, u16, String), usize> = HashMap::new();
    // Each listening socket's group, by (proto, port): where its connections are counted.
    let mut by_port: HashMap<(Proto, u16), Vec<(&Socket, usize)>> = HashMap::new();
    for s in listening.sockets.iter().filter(|s| s.state.is_listening()) {
        let key = (s.proto, s.local.port, process_of(s));
        let at = *index.entry(key.clone()).or_insert_with(|| {
            groups.push(Listener {
                proto: s.proto,
                port: Some(s.local.port),
                process: key.2,
                connections: BTreeMap::from([(TcpState::Established, 0)]),
                accept_queue: 0,
                backlog: 0,
            });
            groups.len() - 1
        });
        if s.proto == Proto::Tcp {
            groups[at].accept_queue += u64::from(s.recv_q);
            groups[at].backlog += u64::from(s.send_q);
        }
        by_port.entry((s.proto, s.local.port)).or_default().push((s, at));
    }
    // A socket only bound to the port (a server that has not called listen() yet, a client
    // that bound before connecting) is no connection of the listener's.
    let connection = |s: &&Socket| !s.state.is_unconnected();
    for conn in table.iter().filter(connection) {
        let Some(candidates) = by_port.get(&(conn.proto, conn.local.port)) else {
            continue;
        };
        // The listener on the connection's own address, else a wildcard one of its family.
        let at = candidates
            .iter()
            .find(|(l, _)| l.local.ip == conn.local.ip)
            .or_else(|| {
                candidates
                    .iter()
                    .find(|(l, _)| l.local.ip.is_unspecified() && l.family == conn.family)
            })
            .unwrap_or(&candidates[0])
            .1;
        *groups[at].connections.entry(conn.state).or_default() += 1;
    }
    cap(groups, max_ports)
}

/// Keeps the `max_ports` groups that matter most (a full accept queue first, then the most
/// connections) and sums the rest into one `other` group per protocol.
fn cap(mut groups: Vec<Listener>, max_ports: usize) -> Vec<Listener> {
    groups.sort_by(|a, b| {
        (b.queue_full(), b.total())
            .cmp(&(a.queue_full(), a.total()))
            .then((a.proto, a.port, &a.process).cmp(&(b.proto, b.port, &b.process)))
    });
    if groups.len() <= max_ports {
        return groups;
    }
    let rest = groups.split_off(max_ports);
    for proto in [Proto::Tcp, Proto::Udp] {
        let mut other = Listener {
            proto,
            port: None,
            process: OTHER.to_string(),
            connections: BTreeMap::from([(TcpState::Established, 0)]),
            accept_queue: 0,
            backlog: 0,
        };
        let mut any = false;
        for group in rest.iter().filter(|g| g.proto == proto) {
            any = true;
            other.accept_queue += group.accept_queue;
            other.backlog += group.backlog;
            for (state, n) in &group.connections {
                *other.connections.entry(*state).or_default() += n;
            }
        }
        if any {
            groups.push(other);
        }
    }
    groups
}

/// Ephemeral-port use per destination: the same budget `portscope ephemeral` reports.
pub fn ephemeral(
    settings: &PortSettings,
    table: &[Socket],
    bind_held: &report::BindHeld,
    top: usize,
) -> Ephemeral {
    let report = report::build(settings, table, bind_held);
    let label = |d: &report::Destination| SocketAddr::new(d.remote, d.remote_port).to_string();
    // One series per destination: from several local addresses, the busiest (first) one.
    let mut seen = std::collections::HashSet::new();
    let in_use = report
        .destinations
        .iter()
        .filter(|d| seen.insert(label(d)))
        .take(top)
        .map(|d| (label(d), d.used as u64, d.percent() / 100.0))
        .collect();
    let mut by_time_wait: BTreeMap<String, u64> = BTreeMap::new();
    for d in report.destinations.iter().filter(|d| d.time_wait > 0) {
        *by_time_wait.entry(label(d)).or_default() += d.time_wait as u64;
    }
    let mut time_wait: Vec<(String, u64)> = by_time_wait.into_iter().collect();
    time_wait.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    time_wait.truncate(top);
    Ephemeral {
        range_size: settings.range_size() as u64,
        in_use,
        time_wait,
    }
}
