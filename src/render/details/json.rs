//! The `info` object of a socket in JSON (docs/json.md).

use serde::Serialize;

use crate::model::{Details, Socket, TimerKind};

/// The `info` object of a socket in the `ls --json` schema (docs/json.md).
#[derive(Debug, Serialize)]
pub struct JsonInfo<'a> {
    pub congestion: Option<&'a str>,
    pub tcp: Option<JsonTcp>,
    pub memory: Option<JsonMemory>,
    pub timer: Option<JsonTimer>,
}

#[derive(Debug, Serialize)]
pub struct JsonTcp {
    pub rtt_ms: f64,
    pub rttvar_ms: f64,
    pub min_rtt_ms: f64,
    pub rto_ms: f64,
    pub cwnd: u32,
    pub ssthresh: Option<u32>,
    pub mss: u32,
    pub rcv_mss: u32,
    pub ca_state: &'static str,
    pub retransmits: u8,
    pub retrans: u32,
    pub total_retrans: u32,
    pub lost: u32,
    pub unacked: u32,
    pub probes: u8,
    pub backoff: u8,
    pub bytes_sent: Option<u64>,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub bytes_retrans: Option<u64>,
    pub notsent_bytes: u32,
    pub delivery_rate: Option<u64>,
    pub pacing_rate: Option<u64>,
    pub busy_ms: Option<f64>,
    pub rwnd_limited_ms: Option<f64>,
    pub sndbuf_limited_ms: Option<f64>,
    pub snd_wnd: Option<u32>,
    pub rcv_wnd: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct JsonMemory {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub wmem_queued: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub optmem: u32,
    pub backlog: u32,
    pub drops: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct JsonTimer {
    pub kind: &'static str,
    pub expires_ms: u32,
    pub retransmits: u8,
}

fn ms_of(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

fn ms_of_long(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl<'a> JsonInfo<'a> {
    /// None for a socket read without details.
    pub fn of(s: &'a Socket) -> Option<JsonInfo<'a>> {
        let details: &Details = s.details.as_deref()?;
        Some(JsonInfo {
            congestion: details.congestion.as_deref(),
            tcp: details.tcp.as_ref().map(|t| JsonTcp {
                rtt_ms: ms_of(t.rtt_us),
                rttvar_ms: ms_of(t.rttvar_us),
                min_rtt_ms: ms_of(t.min_rtt_us),
                rto_ms: ms_of(t.rto_us),
                cwnd: t.cwnd,
                ssthresh: t.ssthresh,
                mss: t.snd_mss,
                rcv_mss: t.rcv_mss,
                ca_state: t.ca_state_name(),
                retransmits: t.retransmits,
                retrans: t.retrans,
                total_retrans: t.total_retrans,
                lost: t.lost,
                unacked: t.unacked,
                probes: t.probes,
                backoff: t.backoff,
                bytes_sent: t.bytes_sent,
                bytes_acked: t.bytes_acked,
                bytes_received: t.bytes_received,
                bytes_retrans: t.bytes_retrans,
                notsent_bytes: t.notsent_bytes,
                delivery_rate: t.delivery_rate,
                pacing_rate: t.pacing_rate,
                busy_ms: t.busy_us.map(ms_of_long),
                rwnd_limited_ms: t.rwnd_limited_us.map(ms_of_long),
                sndbuf_limited_ms: t.sndbuf_limited_us.map(ms_of_long),
                snd_wnd: t.snd_wnd,
                rcv_wnd: t.rcv_wnd,
            }),
            memory: details.memory.map(|m| JsonMemory {
                rmem_alloc: m.rmem_alloc,
                rcvbuf: m.rcvbuf,
                wmem_alloc: m.wmem_alloc,
                wmem_queued: m.wmem_queued,
                sndbuf: m.sndbuf,
                fwd_alloc: m.fwd_alloc,
                optmem: m.optmem,
                backlog: m.backlog,
                drops: m.drops,
            }),
            timer: s.timer.map(|t| JsonTimer {
                kind: timer_name(t.kind),
                expires_ms: t.expires_ms,
                retransmits: t.retransmits,
            }),
        })
    }
}

pub fn timer_name(kind: TimerKind) -> &'static str {
    match kind {
        TimerKind::Retransmit => "retransmit",
        TimerKind::KeepAlive => "keepalive",
        TimerKind::TimeWait => "timewait",
        TimerKind::ZeroWindowProbe => "zero-window-probe",
    }
}
