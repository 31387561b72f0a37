//! The compact second line of `ls -i` and `who -i`: what a person looks for first.

use std::fmt::Write as _;

use crate::model::{Socket, SocketMemory, TcpInfo, Timer};
use crate::render::FIELD_BREAK;

use super::json::timer_name;
use super::ms;

/// `keepalive:7199900ms`, `retransmit:204ms/3` (3 retransmissions so far).
pub(super) fn timer(t: &Timer, out: &mut String) {
    let _ = write!(out, "{}:{}ms", timer_name(t.kind), t.expires_ms);
    if t.retransmits > 0 {
        let _ = write!(out, "/{}", t.retransmits);
    }
}

fn bytes(n: u64, out: &mut String) {
    super::super::text::binary_size(n as f64, "", out);
}

/// A rate given in bytes per second, shown in bits per second as ss shows it.
pub fn rate(bytes_per_second: u64, out: &mut String) {
    let bits = bytes_per_second as f64 * 8.0;
    let (value, unit) = match bits {
        b if b >= 1e9 => (b / 1e9, "Gbit/s"),
        b if b >= 1e6 => (b / 1e6, "Mbit/s"),
        b if b >= 1e3 => (b / 1e3, "kbit/s"),
        b => (b, "bit/s"),
    };
    let _ = write!(out, "{value:.1} {unit}");
}

/// The compact line: what a person looks for first, the rest on request (JSON).
/// `cubic rtt 0.045/0.012ms cwnd 10 mss 32768 retrans 0/0 sent 1.0 MiB acked 1.0 MiB …`,
/// its fields separated by `FIELD_BREAK` (where a table may wrap it).
pub fn line(s: &Socket, out: &mut String) {
    let details = s.details.as_deref();
    let start = out.len();
    if let Some(cong) = details.and_then(|d| d.congestion.as_deref()) {
        crate::text::escape_into(cong, out);
        out.push(FIELD_BREAK);
    }
    if let Some(t) = connection_info(s) {
        tcp_line(t, s.state.is_synchronized(), out);
    }
    if let Some(m) = details.and_then(|d| d.memory) {
        memory_line(&m, out);
    }
    if let Some(t) = s.timer {
        out.push_str("timer ");
        timer(&t, out);
        out.push(FIELD_BREAK);
    }
    if out.len() == start {
        out.push_str("(no details: the kernel keeps none for this state)");
    }
    while out.ends_with(FIELD_BREAK) {
        out.pop();
    }
}

/// The line with its fields a space apart, for text no table wraps (`who -i`).
pub fn spaced_line(s: &Socket, out: &mut String) {
    let start = out.len();
    line(s, out);
    let fields = out.split_off(start);
    out.extend(
        fields
            .chars()
            .map(|c| if c == FIELD_BREAK { ' ' } else { c }),
    );
}

/// tcp_info where it describes a connection: a listener's or a bound socket's holds no
/// RTT or window (JSON still carries what the kernel sent).
pub(super) fn connection_info(s: &Socket) -> Option<&TcpInfo> {
    let tcp = s.details.as_deref()?.tcp.as_ref()?;
    (!s.state.is_unconnected()).then_some(tcp)
}

/// `synchronized`: the handshake is done, so a zero window is the peer's (not the absence of
/// one yet).
fn tcp_line(t: &TcpInfo, synchronized: bool, out: &mut String) {
    // 0: no sample yet (a handshake not answered); ss leaves it out too.
    if t.rtt_us > 0 {
        out.push_str("rtt ");
        ms(t.rtt_us, out);
        out.push('/');
        ms(t.rttvar_us, out);
        out.push_str("ms");
        out.push(FIELD_BREAK);
    }
    let _ = write!(out, "cwnd {}{FIELD_BREAK}", t.cwnd);
    if let Some(ssthresh) = t.ssthresh {
        let _ = write!(out, "ssthresh {ssthresh}{FIELD_BREAK}");
    }
    let _ = write!(
        out,
        "mss {}{FIELD_BREAK}retrans {}/{}{FIELD_BREAK}",
        t.snd_mss, t.retransmits, t.total_retrans
    );
    if t.lost > 0 {
        let _ = write!(out, "lost {}{FIELD_BREAK}", t.lost);
    }
    if t.ca_state != 0 {
        let _ = write!(out, "{}{FIELD_BREAK}", t.ca_state_name());
    }
    let mut field = |name: &str, value: &dyn Fn(&mut String)| {
        out.push_str(name);
        out.push(' ');
        value(out);
        out.push(FIELD_BREAK);
    };
    field("sent", &|out| {
        bytes(t.bytes_sent.unwrap_or(t.bytes_acked), out)
    });
    field("acked", &|out| bytes(t.bytes_acked, out));
    field("recv", &|out| bytes(t.bytes_received, out));
    if let Some(r) = t.delivery_rate.filter(|r| *r > 0) {
        field("delivery", &|out| rate(r, out));
    }
    if let Some(r) = t.pacing_rate.filter(|r| *r > 0) {
        field("pacing", &|out| rate(r, out));
    }
    let mut limited = |what: &str, share: Option<f64>| {
        if let Some(share) = share.filter(|s| *s > 0.0) {
            let _ = write!(out, "{what}-limited {:.0}%{FIELD_BREAK}", share * 100.0);
        }
    };
    limited("rwnd", t.rwnd_limited_share());
    limited("sndbuf", t.sndbuf_limited_share());
    if synchronized && t.snd_wnd == Some(0) {
        out.push_str("zero-window");
        out.push(FIELD_BREAK);
    }
}

fn memory_line(m: &SocketMemory, out: &mut String) {
    out.push_str("mem r ");
    bytes(u64::from(m.rmem_alloc), out);
    out.push('/');
    bytes(u64::from(m.rcvbuf), out);
    out.push_str(" w ");
    bytes(u64::from(m.wmem_queued.max(m.wmem_alloc)), out);
    out.push('/');
    bytes(u64::from(m.sndbuf), out);
    out.push(FIELD_BREAK);
    if let Some(drops) = m.drops.filter(|d| *d > 0) {
        let _ = write!(out, "drops {drops}{FIELD_BREAK}");
    }
}
