//! Verdicts from one socket's own counters (tcp_info, SK_MEMINFO) at both looks: loss, an
//! unanswered SYN, a closed or limiting window, a limiting send buffer, UDP drops.

use std::time::Duration;

use super::connections::finding;
use super::{Finding, Severity, Subject};
use crate::model::{Endpoint, Inventory, Proto, Socket, TcpInfo, TcpState, TimerKind};

/// A share of the busy time a limit must take to be a verdict, and the busy time that makes
/// the share meaningful.
const LIMITED_SHARE: f64 = 0.5;
const LIMITED_BUSY: Duration = Duration::from_millis(100);

/// A connection's own trouble, from its tcp_info: loss, a closed window, buffer limits.
/// `earlier` is the connection at the first look: a limit counts since the connection began,
/// so it is a verdict only while it grows.
pub(super) fn transfer(
    s: &Socket,
    earlier: Option<&Socket>,
    inv: &Inventory,
    findings: &mut Vec<Finding>,
) {
    let Some(t) = tcp_of(s) else {
        return;
    };
    let before = earlier.and_then(tcp_of);
    let grew = |time: fn(&TcpInfo) -> Option<u64>| before.is_none_or(|b| time(t) > time(b));
    let timer = s.timer;
    if s.state == TcpState::SynSent {
        return unanswered(s, timer.map_or(0, |t| t.retransmits), findings);
    }
    if !s.state.is_synchronized() {
        return;
    }
    let retransmitting = t.retransmits > 0
        || timer.is_some_and(|t| t.kind == TimerKind::Retransmit && t.retransmits > 0);
    if retransmitting || t.lost > 0 {
        let mut f = finding(Severity::Warning, "retransmits", Subject::connection(s));
        f.evidence.push(format!(
            "retransmitting now ({} attempts, RTO {:.0} ms, backoff {}); {} segments \
             retransmitted in all, {} believed lost",
            t.retransmits.max(timer.map_or(0, |t| t.retransmits)),
            f64::from(t.rto_us) / 1000.0,
            t.backoff,
            t.total_retrans,
            t.lost
        ));
        f.advice = "segments to this peer are lost: a firewall dropping them, a congested or \
                    broken path, or a peer that went away; check the path (tcpdump, mtr)"
            .to_string();
        f.pids = s.pids.clone();
        findings.push(f);
    }
    let busy = t.busy_us.map(Duration::from_micros).unwrap_or_default();
    let zero = t.snd_wnd == Some(0)
        || t.probes > 0
        || timer.is_some_and(|t| t.kind == TimerKind::ZeroWindowProbe);
    let rwnd = t.rwnd_limited_share().unwrap_or(0.0);
    let rwnd_now = grew(|t| t.rwnd_limited_us);
    if zero || (rwnd >= LIMITED_SHARE && busy >= LIMITED_BUSY && rwnd_now) {
        let mut f = finding(
            Severity::Warning,
            "receiver-limited",
            Subject::connection(s),
        );
        if zero {
            f.evidence.push(format!(
                "the peer's receive window is zero; {} bytes wait to be sent",
                u64::from(s.send_q) + u64::from(t.notsent_bytes)
            ));
        }
        if t.probes > 0 {
            f.evidence
                .push(format!("{} zero-window probes unanswered", t.probes));
        }
        if rwnd > 0.0 {
            f.evidence.push(format!(
                "limited by the peer's receive window {:.0} % of {:.1} s busy",
                rwnd * 100.0,
                busy.as_secs_f64()
            ));
        }
        f.advice = "the receiving application does not read fast enough (or at all): fix the \
                    reader; a larger receive buffer only delays it"
            .to_string();
        f.pids = s.pids.clone();
        f.peer_pids = peer(s, inv).map(|p| p.pids.clone()).unwrap_or_default();
        findings.push(f);
    }
    let sndbuf = t.sndbuf_limited_share().unwrap_or(0.0);
    if sndbuf >= LIMITED_SHARE && busy >= LIMITED_BUSY && grew(|t| t.sndbuf_limited_us) {
        let mut f = finding(Severity::Info, "sndbuf-limited", Subject::connection(s));
        f.evidence.push(format!(
            "limited by its own send buffer {:.0} % of {:.1} s busy",
            sndbuf * 100.0,
            busy.as_secs_f64()
        ));
        f.advice = "the send buffer caps throughput: raise SO_SNDBUF or net.ipv4.tcp_wmem's \
                    maximum (long fat paths need bandwidth × RTT)"
            .to_string();
        f.pids = s.pids.clone();
        findings.push(f);
    }
}

/// A connect() whose SYN went unanswered and is being sent again.
fn unanswered(s: &Socket, retransmits: u8, findings: &mut Vec<Finding>) {
    if retransmits == 0 {
        return;
    }
    let mut f = finding(
        Severity::Warning,
        "connect-unanswered",
        Subject::connection(s),
    );
    f.evidence.push(format!(
        "SYN sent {} times without an answer",
        u32::from(retransmits) + 1
    ));
    f.advice = "the server does not answer: its accept queue is full (see accept-queue-full), a \
                firewall drops the SYN, or the host is down"
        .to_string();
    f.pids = s.pids.clone();
    findings.push(f);
}

fn tcp_of(s: &Socket) -> Option<&TcpInfo> {
    s.details.as_deref()?.tcp.as_ref()
}

/// The other end of a connection when it is on this host (loopback, or a local address).
/// An IPv6 socket's end shows an IPv4 peer as `::ffff:a.b.c.d`, the peer itself as a.b.c.d.
fn peer<'a>(s: &Socket, inv: &'a Inventory) -> Option<&'a Socket> {
    let same =
        |a: &Endpoint, b: &Endpoint| a.port == b.port && a.ip.to_canonical() == b.ip.to_canonical();
    inv.sockets
        .iter()
        .find(|p| p.proto == s.proto && same(&p.local, &s.remote) && same(&p.remote, &s.local))
}

/// A UDP socket that dropped datagrams: its receive buffer filled up.
pub(super) fn udp_drops(
    s: &Socket,
    earlier: Option<&Socket>,
    elapsed: Duration,
    findings: &mut Vec<Finding>,
) {
    let drops_of = |s: &Socket| s.details.as_deref().and_then(|d| d.memory?.drops);
    let Some(drops) = drops_of(s).filter(|d| *d > 0 && s.proto == Proto::Udp) else {
        return;
    };
    let rose = earlier
        .and_then(drops_of)
        .map(|before| drops.saturating_sub(before));
    // Drops between the looks (or on a socket made since the first) happen now; drops only
    // before it are told, not alarmed: a count since the socket was made never goes down.
    let severity = if rose == Some(0) {
        Severity::Info
    } else {
        Severity::Warning
    };
    let mut f = finding(severity, "udp-drops", Subject::socket(s));
    f.evidence.push(format!(
        "{drops} datagrams dropped since the socket was made"
    ));
    if let Some(rose) = rose {
        f.evidence
            .push(format!("{rose} in the last {:.1} s", elapsed.as_secs_f64()));
    }
    if let Some(m) = s.details.as_deref().and_then(|d| d.memory) {
        f.evidence.push(format!(
            "receive buffer {} of {} bytes in use",
            m.rmem_alloc, m.rcvbuf
        ));
    }
    f.advice = "the reader does not keep up: read faster (more threads, recvmmsg), or raise \
                SO_RCVBUF (capped by net.core.rmem_max)"
        .to_string();
    f.pids = s.pids.clone();
    findings.push(f);
}
