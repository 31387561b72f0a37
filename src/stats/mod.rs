//! `portscope stats`: the few kernel counters that explain trouble (refused and dropped
//! connections, retransmissions, resets, memory, UDP drops), each with what it means, as
//! totals or, between two looks, per second. Pure: it takes the counters the host read.

use std::time::Duration;

use crate::host::Counters;

/// Whether a value counts events (a rate makes sense) or is a level (sockets, pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// A counter worth showing: where the kernel keeps it and what it means.
#[derive(Debug, PartialEq, Eq)]
pub struct Known {
    pub section: &'static str,
    pub name: &'static str,
    pub kind: Kind,
    pub meaning: &'static str,
}

const fn counter(section: &'static str, name: &'static str, meaning: &'static str) -> Known {
    Known {
        section,
        name,
        kind: Kind::Counter,
        meaning,
    }
}

const fn gauge(section: &'static str, name: &'static str, meaning: &'static str) -> Known {
    Known {
        section,
        name,
        kind: Kind::Gauge,
        meaning,
    }
}

/// The counters shown, in the order of the questions they answer: are connections refused,
/// is data lost, are connections torn down, is memory short, are datagrams dropped.
pub const KNOWN: &[Known] = &[
    counter(
        "TcpExt",
        "ListenOverflows",
        "a handshake completed but the listener's accept queue was full: the application accepts too slowly or its backlog is too small",
    ),
    counter(
        "TcpExt",
        "ListenDrops",
        "connections a listener dropped (overflows included)",
    ),
    counter(
        "TcpExt",
        "TCPReqQFullDrop",
        "SYNs dropped: the SYN queue was full and syncookies were off",
    ),
    counter(
        "TcpExt",
        "TCPReqQFullDoCookies",
        "SYN queue full, answered with a syncookie: a SYN flood or a burst of connections",
    ),
    counter(
        "TcpExt",
        "SyncookiesSent",
        "syncookies sent because the SYN queue overflowed",
    ),
    counter(
        "TcpExt",
        "SyncookiesFailed",
        "ACKs carrying an invalid syncookie",
    ),
    counter(
        "TcpExt",
        "TCPSynRetrans",
        "SYNs and SYN-ACKs sent again: a peer or path that does not answer",
    ),
    counter(
        "Tcp",
        "RetransSegs",
        "segments retransmitted: loss on the path or a peer that is slow to acknowledge",
    ),
    counter(
        "TcpExt",
        "TCPTimeouts",
        "retransmission timeouts: no acknowledgement for a whole RTO",
    ),
    counter(
        "TcpExt",
        "TCPLostRetransmit",
        "retransmitted segments that were lost again",
    ),
    counter(
        "Tcp",
        "OutRsts",
        "resets sent: connections to closed ports refused, or connections aborted",
    ),
    counter(
        "Tcp",
        "AttemptFails",
        "connection attempts that failed (refused, reset or timed out in the handshake)",
    ),
    counter("Tcp", "EstabResets", "established connections reset"),
    counter(
        "TcpExt",
        "TCPAbortOnTimeout",
        "connections given up after too many retransmissions",
    ),
    counter(
        "TcpExt",
        "TCPAbortOnMemory",
        "connections aborted because TCP was out of memory (tcp_mem or too many orphans)",
    ),
    counter(
        "TcpExt",
        "TCPMemoryPressures",
        "times TCP entered memory pressure (tcp_mem's middle value passed)",
    ),
    counter(
        "TcpExt",
        "PruneCalled",
        "receive queues pruned to free memory",
    ),
    counter(
        "TcpExt",
        "TCPRcvQDrop",
        "segments dropped: the receive buffer was full and no memory could be had",
    ),
    counter(
        "TcpExt",
        "TCPBacklogDrop",
        "segments dropped: the socket's backlog was full while its owner held it",
    ),
    counter(
        "TcpExt",
        "TCPZeroWindowDrop",
        "segments dropped because our receive window was zero",
    ),
    counter(
        "TcpExt",
        "TCPTimeWaitOverflow",
        "TIME_WAIT entries not made: tcp_max_tw_buckets reached",
    ),
    counter(
        "Udp",
        "RcvbufErrors",
        "datagrams dropped: a socket's receive buffer was full (its reader is too slow)",
    ),
    counter(
        "Udp",
        "InErrors",
        "datagrams that could not be delivered (receive buffer drops included)",
    ),
    counter(
        "Udp",
        "NoPorts",
        "datagrams to a port nothing is bound to (answered with ICMP port unreachable)",
    ),
    counter(
        "Udp",
        "SndbufErrors",
        "datagrams not sent: the send buffer was full",
    ),
    gauge(
        "Tcp",
        "CurrEstab",
        "connections now ESTABLISHED or CLOSE_WAIT",
    ),
    gauge(
        "sockstat",
        "TCP_inuse",
        "IPv4 TCP sockets in use, listeners included (TIME_WAIT not)",
    ),
    gauge("sockstat", "TCP6_inuse", "IPv6 TCP sockets in use"),
    gauge("sockstat", "TCP_tw", "sockets in TIME_WAIT (both families)"),
    gauge(
        "sockstat",
        "TCP_orphan",
        "orphans on the whole host (not per namespace): closed by their process, the kernel still finishing (past tcp_max_orphans they are reset)",
    ),
    gauge(
        "sockstat",
        "TCP_mem",
        "pages TCP's buffers hold on the whole host (memory pressure above tcp_mem's middle value)",
    ),
    gauge("sockstat", "UDP_inuse", "IPv4 UDP sockets in use"),
    gauge("sockstat", "UDP6_inuse", "IPv6 UDP sockets in use"),
    gauge(
        "sockstat",
        "UDP_mem",
        "pages UDP's buffers hold on the whole host (pressure above udp_mem's middle value)",
    ),
];

/// One counter's value now and, between two looks, its change per second.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub known: &'static Known,
    pub value: i64,
    /// Counters only, when there was an earlier look.
    pub per_second: Option<f64>,
    /// A limit the value is measured against (tcp_mem's pressure value, tcp_max_orphans).
    pub limit: Option<(&'static str, i64)>,
}

/// The known counters this kernel has, with rates against `before` (the earlier look and the
/// time since it).
pub fn report(now: &Counters, before: Option<(&Counters, Duration)>) -> Vec<Stat> {
    KNOWN
        .iter()
        .filter_map(|known| {
            let value = now.get(known.section, known.name)?;
            let per_second = match (known.kind, before) {
                (Kind::Counter, Some((earlier, elapsed))) if !elapsed.is_zero() => {
                    let was = earlier.get(known.section, known.name)?;
                    Some((value - was) as f64 / elapsed.as_secs_f64())
                }
                _ => None,
            };
            let limit = limit_of(known).and_then(|name| Some((name, now.get("limits", name)?)));
            Some(Stat {
                known,
                value,
                per_second,
                limit,
            })
        })
        .collect()
}

fn limit_of(known: &Known) -> Option<&'static str> {
    match (known.section, known.name) {
        ("sockstat", "TCP_mem") => Some("tcp_mem_pressure"),
        ("sockstat", "UDP_mem") => Some("udp_mem_pressure"),
        ("sockstat", "TCP_orphan") => Some("tcp_max_orphans"),
        ("sockstat", "TCP_tw") => Some("tcp_max_tw_buckets"),
        _ => None,
    }
}

/// How much a counter grew between two looks (0 when either lacks it).
pub fn growth(before: &Counters, after: &Counters, section: &str, name: &str) -> i64 {
    match (before.get(section, name), after.get(section, name)) {
        (Some(b), Some(a)) => a - b,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(overflows: i64, orphans: i64) -> Counters {
        let mut c = Counters::default();
        c.add_text(&format!(
            "TcpExt: ListenOverflows ListenDrops\nTcpExt: {overflows} {overflows}\n"
        ));
        c.add_sockstat(&format!(
            "TCP: inuse 3 orphan {orphans} tw 0 alloc 3 mem 1\n"
        ));
        c.add_limits(&["tcp_max_orphans"], "4096\n");
        c
    }

    #[test]
    fn counters_get_rates_and_gauges_do_not() {
        let before = counters(10, 5);
        let now = counters(30, 9);
        let stats = report(&now, Some((&before, Duration::from_secs(2))));
        let overflows = stats
            .iter()
            .find(|s| s.known.name == "ListenOverflows")
            .unwrap();
        assert_eq!((overflows.value, overflows.per_second), (30, Some(10.0)));
        let orphans = stats.iter().find(|s| s.known.name == "TCP_orphan").unwrap();
        assert_eq!(orphans.per_second, None);
        assert_eq!(orphans.limit, Some(("tcp_max_orphans", 4096)));
        assert!(
            !stats.iter().any(|s| s.known.name == "RetransSegs"),
            "absent here"
        );
        assert_eq!(growth(&before, &now, "TcpExt", "ListenOverflows"), 20);
    }

    #[test]
    fn one_look_has_no_rates() {
        let stats = report(&counters(1, 0), None);
        assert!(stats.iter().all(|s| s.per_second.is_none()));
    }
}
