//! Verdicts from the socket table: listeners' accept queues, CLOSE_WAIT per process,
//! TIME_WAIT and ephemeral ports per destination, SYN floods; each socket's own counters are
//! judged in `traffic.rs`.

use std::collections::{BTreeMap, HashMap};

use super::{Evidence, Finding, Severity, Subject, traffic};
use crate::ephemeral::report::{self, Level};
use crate::model::{Endpoint, Inventory, Proto, Socket, TcpState};
use crate::stats::growth;

/// CLOSE_WAIT sockets one process may hold before it looks like a leak.
pub const CLOSE_WAIT_PILE: usize = 10;
/// TIME_WAIT entries towards one destination worth a word (short connections).
pub const TIME_WAIT_PILE: usize = 1000;
/// Half-open connections on one port that look like a SYN flood.
pub const SYN_RECV_PILE: usize = 128;

pub fn check(e: &Evidence<'_>) -> Vec<Finding> {
    let inv = &e.second.inventory;
    let mut findings = Vec::new();
    accept_queues(e, &mut findings);
    close_wait(inv, &mut findings);
    if let Some(settings) = e.settings {
        let report = report::build(settings, e.table, e.bind_held);
        destinations(&report, e.filtered.then_some(inv), &mut findings);
    }
    syn_recv(inv, &mut findings);
    let before: HashMap<u32, &Socket> = e
        .first
        .inventory
        .sockets
        .iter()
        .filter(|s| s.inode != 0)
        .map(|s| (s.inode, s))
        .collect();
    for s in &inv.sockets {
        let earlier = before.get(&s.inode).copied().filter(|_| s.inode != 0);
        traffic::transfer(s, earlier, inv, &mut findings);
        traffic::udp_drops(s, earlier, e.elapsed, &mut findings);
    }
    findings
}

pub(super) fn finding(severity: Severity, kind: &'static str, subject: Subject) -> Finding {
    Finding {
        severity,
        kind,
        subject,
        evidence: Vec::new(),
        advice: String::new(),
        pids: Vec::new(),
        peer_pids: Vec::new(),
    }
}

/// A listener's accept queue: Recv-Q is the connections waiting for accept(), Send-Q the
/// backlog; the kernel takes one more than the backlog, so Recv-Q above it is a full queue.
fn accept_queues(e: &Evidence<'_>, findings: &mut Vec<Finding>) {
    let overflows = match (&e.first.counters, &e.second.counters) {
        (Some(before), Some(after)) => growth(before, after, "TcpExt", "ListenOverflows"),
        _ => 0,
    };
    let listeners = e.second.inventory.sockets.iter();
    let mut full_seen = false;
    for s in listeners.filter(|s| s.proto == Proto::Tcp && s.state == TcpState::Listen) {
        let full = s.recv_q > s.send_q;
        let nearly = !full && s.send_q >= 8 && u64::from(s.recv_q) * 10 >= u64::from(s.send_q) * 9;
        if !full && !nearly {
            continue;
        }
        full_seen |= full;
        let severity = if full {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut f = finding(severity, "accept-queue-full", Subject::socket(s));
        f.evidence.push(format!(
            "{} connection(s) waiting for accept(), backlog {} (Recv-Q {} / Send-Q {})",
            s.recv_q, s.send_q, s.recv_q, s.send_q
        ));
        if overflows > 0 {
            f.evidence.push(format!(
                "TcpExt.ListenOverflows rose by {overflows} in {:.1} s: handshakes completed and \
                 were dropped (this network namespace)",
                e.elapsed.as_secs_f64()
            ));
        }
        f.advice = "the application is not calling accept() fast enough, or its backlog is too \
                    small: accept sooner (more workers), and raise listen()'s backlog (capped by \
                    net.core.somaxconn)"
            .to_string();
        f.pids = s.pids.clone();
        findings.push(f);
    }
    if overflows > 0 && !full_seen && !e.filtered {
        let mut f = finding(
            Severity::Warning,
            "listen-overflows",
            Subject::Protocol(Proto::Tcp),
        );
        f.evidence.push(format!(
            "TcpExt.ListenOverflows rose by {overflows} in {:.1} s, though no accept queue is \
             full now",
            e.elapsed.as_secs_f64()
        ));
        f.advice =
            "a listener's accept queue overflows in bursts: find it with `portscope ls -tl` \
                    (Recv-Q near Send-Q) and raise its backlog or accept faster"
                .to_string();
        findings.push(f);
    }
}

/// CLOSE_WAIT: the peer closed, our application never did. Counted for every holding
/// process (a socket shared after fork() stays open until each holder closes it).
fn close_wait(inv: &Inventory, findings: &mut Vec<Finding>) {
    let mut by_pid: BTreeMap<Option<u32>, usize> = BTreeMap::new();
    for s in inv
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::CloseWait)
    {
        if s.pids.is_empty() {
            *by_pid.entry(None).or_default() += 1;
        }
        for pid in &s.pids {
            *by_pid.entry(Some(*pid)).or_default() += 1;
        }
    }
    for (pid, count) in by_pid.into_iter().filter(|(_, n)| *n >= CLOSE_WAIT_PILE) {
        let mut f = finding(Severity::Warning, "close-wait", Subject::Process(pid));
        f.evidence.push(format!(
            "{count} connections in CLOSE_WAIT: their peers closed, the application has not"
        ));
        f.advice = "the application leaks connections: it must close() a socket once read() \
                    returns 0 (end of stream); until then each holds a descriptor and memory"
            .to_string();
        f.pids.extend(pid);
        findings.push(f);
    }
}

/// Per destination: ephemeral ports near exhaustion, or a pile of TIME_WAIT.
/// The destinations of the whole table's report; with a narrowed table (`narrowed`), those a
/// listed socket connects to.
fn destinations(
    report: &report::Report,
    narrowed: Option<&Inventory>,
    findings: &mut Vec<Finding>,
) {
    let listed = |d: &&report::Destination| {
        narrowed.is_none_or(|inv| {
            let to = |s: &Socket| s.remote.ip == d.remote && s.remote.port == d.remote_port;
            inv.sockets.iter().any(to)
        })
    };
    for d in report.destinations.iter().filter(listed) {
        let level = d.level();
        if level == Level::Ok && d.time_wait < TIME_WAIT_PILE {
            continue;
        }
        let severity = match level {
            Level::Critical => Severity::Critical,
            Level::Warning => Severity::Warning,
            Level::Ok => Severity::Info,
        };
        let kind = if level == Level::Ok {
            "time-wait"
        } else {
            "ephemeral-exhaustion"
        };
        let subject = Subject::Destination {
            local: d.local,
            remote: Endpoint {
                ip: d.remote,
                port: d.remote_port,
            },
        };
        let mut f = finding(severity, kind, subject);
        f.evidence.push(format!(
            "{} of {} ephemeral ports in use towards it ({:.0} %){}, {} in TIME_WAIT",
            d.used - d.bound,
            d.capacity,
            d.percent(),
            match d.bound {
                0 => String::new(),
                n => format!(" and {n} more held through bind() (bound before connect())"),
            },
            d.time_wait
        ));
        f.advice = "many short connections to one destination: reuse connections (keep-alive, a \
                    pool); widen net.ipv4.ip_local_port_range; tcp_tw_reuse=1 lets new \
                    connections take TIME_WAIT ports (see `portscope ephemeral`)"
            .to_string();
        findings.push(f);
    }
}

/// Many half-open connections on one port: a SYN flood, or a client burst the listener
/// cannot finish.
fn syn_recv(inv: &Inventory, findings: &mut Vec<Finding>) {
    let mut by_port: BTreeMap<u16, usize> = BTreeMap::new();
    for s in inv.sockets.iter().filter(|s| s.state == TcpState::SynRecv) {
        *by_port.entry(s.local.port).or_default() += 1;
    }
    for (port, count) in by_port.into_iter().filter(|(_, n)| *n >= SYN_RECV_PILE) {
        let mut f = finding(Severity::Warning, "syn-flood", Subject::Port(port));
        f.evidence.push(format!(
            "{count} half-open connections (SYN_RECV) on port {port}"
        ));
        f.advice = "SYNs arrive that never complete the handshake: a SYN flood or an unreachable \
                    return path; keep net.ipv4.tcp_syncookies=1 and filter the sources"
            .to_string();
        findings.push(f);
    }
}
