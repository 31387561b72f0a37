//! Bytes per second per connection and per process, from the byte counters tcp_info keeps
//! (bytes_acked out, bytes_received in), compared between two looks: no packet capture, no
//! privileges for one's own sockets. Plain data, no I/O.

use std::collections::BTreeMap;
use std::time::Instant;

use rustc_hash::FxHashMap;

use crate::model::{Endpoint, Socket};

/// One connection's rates over the last interval.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionRate {
    pub inode: u32,
    pub local: Endpoint,
    pub remote: Endpoint,
    /// The scope of a link-local address, as the socket has it.
    pub iface: Option<String>,
    /// The socket's network namespace (0 when not placed).
    pub netns: u64,
    pub pids: Vec<u32>,
    pub in_per_s: f64,
    pub out_per_s: f64,
}

/// One process's rates: the sum over the connections it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessRate {
    pub pid: u32,
    pub in_per_s: f64,
    pub out_per_s: f64,
    pub connections: usize,
}

/// The byte counters of the last look, by socket inode: unique while the socket lives, and
/// cheap to hash 20,000 times a second. A connection its process closed (inode 0: orphans,
/// TIME_WAIT) belongs to no process and is not measured.
#[derive(Debug, Default)]
pub struct RateMeter {
    last: FxHashMap<u32, (u64, u64)>,
    /// The map being filled, kept between looks so its memory is reused.
    next: FxHashMap<u32, (u64, u64)>,
    at: Option<Instant>,
}

impl RateMeter {
    /// Rates since the last call for connections seen both times that moved bytes; the first
    /// call only remembers. Also the seconds since the last call.
    pub fn measure(&mut self, sockets: &[Socket], now: Instant) -> (Vec<ConnectionRate>, f64) {
        self.next.clear();
        let mut rates = Vec::new();
        let secs = self
            .at
            .map(|at| now.duration_since(at).as_secs_f64())
            .unwrap_or(0.0);
        for s in sockets.iter().filter(|s| s.inode != 0) {
            let Some(t) = s.details.as_deref().and_then(|d| d.tcp.as_ref()) else {
                continue;
            };
            let bytes = (t.bytes_received, t.bytes_acked);
            if let Some((was_in, was_out)) = self.last.get(&s.inode).filter(|_| secs > 0.0) {
                let moved_in = bytes.0.saturating_sub(*was_in);
                let moved_out = bytes.1.saturating_sub(*was_out);
                if moved_in > 0 || moved_out > 0 {
                    rates.push(ConnectionRate {
                        inode: s.inode,
                        local: s.local.clone(),
                        remote: s.remote.clone(),
                        iface: s.iface.clone(),
                        netns: s.netns,
                        pids: s.pids.clone(),
                        in_per_s: moved_in as f64 / secs,
                        out_per_s: moved_out as f64 / secs,
                    });
                }
            }
            self.next.insert(s.inode, bytes);
        }
        std::mem::swap(&mut self.last, &mut self.next);
        self.at = Some(now);
        rates.sort_by(|a, b| (b.in_per_s + b.out_per_s).total_cmp(&(a.in_per_s + a.out_per_s)));
        (rates, secs)
    }
}

/// The connections' rates summed per holding process, busiest first. A connection shared by
/// several processes counts for each.
pub fn per_process(rates: &[ConnectionRate]) -> Vec<ProcessRate> {
    let mut by_pid: BTreeMap<u32, ProcessRate> = BTreeMap::new();
    for rate in rates {
        for pid in &rate.pids {
            let p = by_pid.entry(*pid).or_insert(ProcessRate {
                pid: *pid,
                in_per_s: 0.0,
                out_per_s: 0.0,
                connections: 0,
            });
            p.in_per_s += rate.in_per_s;
            p.out_per_s += rate.out_per_s;
            p.connections += 1;
        }
    }
    let mut processes: Vec<ProcessRate> = by_pid.into_values().collect();
    processes.sort_by(|a, b| (b.in_per_s + b.out_per_s).total_cmp(&(a.in_per_s + a.out_per_s)));
    processes
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{Details, TcpInfo, TcpState};

    fn connection(inode: u32, received: u64, acked: u64, pid: u32) -> Socket {
        let local = 40000 + inode as u16;
        let established = TcpState::Established;
        let mut s = crate::fixtures::loopback_tcp(local, 80, established, inode, &[pid]);
        s.details = Some(Box::new(Details {
            tcp: Some(TcpInfo {
                bytes_received: received,
                bytes_acked: acked,
                ..TcpInfo::default()
            }),
            ..Details::default()
        }));
        s
    }

    #[test]
    fn rates_between_looks_per_connection_and_process() {
        let mut meter = RateMeter::default();
        let start = Instant::now();
        let first = [
            connection(1, 0, 1000, 7),
            connection(2, 500, 0, 7),
            connection(3, 0, 0, 9),
        ];
        assert_eq!(meter.measure(&first, start).0, []);
        let second = [
            connection(1, 0, 3000, 7),
            connection(2, 1500, 0, 7),
            connection(3, 0, 0, 9),
            connection(4, 100, 100, 9),
        ];
        let (rates, secs) = meter.measure(&second, start + Duration::from_secs(2));
        assert_eq!(secs, 2.0);
        let moved: Vec<(f64, f64)> = rates.iter().map(|r| (r.in_per_s, r.out_per_s)).collect();
        assert_eq!(
            moved,
            [(0.0, 1000.0), (500.0, 0.0)],
            "idle and new ones left out"
        );
        let processes = per_process(&rates);
        assert_eq!(processes.len(), 1);
        assert_eq!(
            (
                processes[0].pid,
                processes[0].in_per_s,
                processes[0].out_per_s
            ),
            (7, 500.0, 1000.0)
        );
        assert_eq!(processes[0].connections, 2);
    }
}
