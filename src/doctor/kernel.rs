//! Verdicts from the kernel's counters (this network namespace as a whole): memory pressure,
//! orphans, SYN floods seen as syncookies, UDP receive-buffer drops.

use super::{Evidence, Finding, Severity, Subject};
use crate::host::Counters;
use crate::model::Proto;
use crate::stats::growth;

pub fn check(e: &Evidence<'_>) -> Vec<Finding> {
    let Some(now) = &e.second.counters else {
        return Vec::new();
    };
    let mut findings = Vec::new();
    memory(now, &mut findings);
    orphans(now, &mut findings);
    if let Some(before) = &e.first.counters {
        let secs = e.elapsed.as_secs_f64();
        let rose = |section: &str, name: &str| growth(before, now, section, name);
        let aborts = rose("TcpExt", "TCPAbortOnMemory");
        if aborts > 0 {
            findings.push(verdict(
                Proto::Tcp,
                Severity::Critical,
                "memory-aborts",
                format!("TcpExt.TCPAbortOnMemory rose by {aborts} in {secs:.1} s"),
                "connections are being reset for lack of memory: too many orphans or tcp_mem \
                 exhausted; close sockets sooner, raise net.ipv4.tcp_mem / tcp_max_orphans",
            ));
        }
        let cookies = rose("TcpExt", "SyncookiesSent") + rose("TcpExt", "TCPReqQFullDrop");
        if cookies > 0 {
            findings.push(verdict(
                Proto::Tcp,
                Severity::Warning,
                "syn-flood",
                format!(
                    "SYN queue overflowed {cookies} times in {secs:.1} s \
                     (TcpExt.SyncookiesSent + TCPReqQFullDrop)"
                ),
                "more SYNs arrive than handshakes complete: a SYN flood or a burst; keep \
                 net.ipv4.tcp_syncookies=1, raise tcp_max_syn_backlog and the listener's backlog",
            ));
        }
        let udp = rose("Udp", "RcvbufErrors");
        if udp > 0 && !e.filtered {
            findings.push(verdict(
                Proto::Udp,
                Severity::Warning,
                "udp-rcvbuf-errors",
                format!("Udp.RcvbufErrors rose by {udp} in {secs:.1} s"),
                "UDP sockets drop datagrams because their readers fall behind: see the \
                 udp-drops findings, or `portscope ls -ui` (drops per socket)",
            ));
        }
    }
    findings
}

fn verdict(
    proto: Proto,
    severity: Severity,
    kind: &'static str,
    evidence: String,
    advice: &str,
) -> Finding {
    Finding {
        severity,
        kind,
        subject: Subject::Protocol(proto),
        evidence: vec![evidence],
        advice: advice.to_string(),
        pids: Vec::new(),
        peer_pids: Vec::new(),
    }
}

/// A warning from `warning` on, critical from `critical` on.
fn level(value: i64, warning: i64, critical: i64) -> Option<Severity> {
    if value >= critical {
        Some(Severity::Critical)
    } else {
        (value >= warning).then_some(Severity::Warning)
    }
}

/// TCP's buffer memory against tcp_mem's pressure and high marks (pages).
fn memory(now: &Counters, findings: &mut Vec<Finding>) {
    let (Some(pages), Some(pressure), Some(high)) = (
        now.get("sockstat", "TCP_mem"),
        now.get("limits", "tcp_mem_pressure"),
        now.get("limits", "tcp_mem_high"),
    ) else {
        return;
    };
    let Some(severity) = level(pages, pressure, high) else {
        return;
    };
    findings.push(verdict(
        Proto::Tcp,
        severity,
        "memory-pressure",
        format!("TCP buffers hold {pages} pages; tcp_mem pressure {pressure}, high {high}"),
        "TCP is under memory pressure: buffers shrink and, past the high mark, packets are \
         dropped; find the sockets with large queues (`portscope ls -ti`) or raise tcp_mem",
    ));
}

/// Orphans (closed by their process, still finishing) against tcp_max_orphans.
fn orphans(now: &Counters, findings: &mut Vec<Finding>) {
    let (Some(orphans), Some(max)) = (
        now.get("sockstat", "TCP_orphan"),
        now.get("limits", "tcp_max_orphans"),
    ) else {
        return;
    };
    if max <= 0 {
        return;
    }
    // Half the limit is early warning enough.
    let Some(severity) = level(orphans, (max + 1) / 2, max) else {
        return;
    };
    findings.push(verdict(
        Proto::Tcp,
        severity,
        "orphans",
        format!("{orphans} orphaned sockets; tcp_max_orphans {max}"),
        "many sockets closed with data unsent or unacknowledged; past the limit the kernel \
         resets them: peers that stop reading, or tcp_fin_timeout too long",
    ));
}
