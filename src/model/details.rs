//! What the kernel knows inside one socket (`ls -i`): TCP's own view of the connection
//! (struct tcp_info), the socket's memory and the congestion control algorithm, as sock_diag
//! sends them with the table when asked (no call per socket).

use std::borrow::Cow;

/// A socket's details; any part may be missing (UDP has no tcp_info, TIME_WAIT and handshake
/// entries have none of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub tcp: Option<TcpInfo>,
    pub memory: Option<SocketMemory>,
    /// The congestion control algorithm (`cubic`, `bbr`, …); the kernel's own names are
    /// not copied for each of 20,000 sockets at every look.
    pub congestion: Option<Cow<'static, str>>,
}

/// The fields of struct tcp_info people diagnose with. Times are in microseconds as the
/// kernel keeps them; the fields newer kernels added are None on kernels without them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpInfo {
    /// tcpi_ca_state: 0 open, 1 disorder, 2 CWR, 3 recovery, 4 loss.
    pub ca_state: u8,
    /// Retransmissions of the current unacknowledged segment (tcpi_retransmits).
    pub retransmits: u8,
    /// Zero-window probes sent without an answer (tcpi_probes).
    pub probes: u8,
    /// Exponential backoff of the retransmission timer (tcpi_backoff).
    pub backoff: u8,
    pub rto_us: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    /// Segments sent and not acknowledged (LISTEN: the accept queue).
    pub unacked: u32,
    /// Segments the kernel believes lost.
    pub lost: u32,
    /// Segments being retransmitted now (tcpi_retrans).
    pub retrans: u32,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub min_rtt_us: u32,
    /// Slow start threshold; the kernel's "infinite" (0x7fffffff) is None.
    pub ssthresh: Option<u32>,
    pub cwnd: u32,
    pub total_retrans: u32,
    /// Bytes per second; None when the kernel sets no pacing (u64::MAX).
    pub pacing_rate: Option<u64>,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    /// Bytes written by the application and not yet sent.
    pub notsent_bytes: u32,
    pub delivery_rate: Option<u64>,
    /// Time with data in flight, and the parts of it the peer's receive window or our send
    /// buffer held the sender back.
    pub busy_us: Option<u64>,
    pub rwnd_limited_us: Option<u64>,
    pub sndbuf_limited_us: Option<u64>,
    pub bytes_sent: Option<u64>,
    pub bytes_retrans: Option<u64>,
    /// The peer's advertised receive window (0: it cannot take more), and ours.
    pub snd_wnd: Option<u32>,
    pub rcv_wnd: Option<u32>,
}

/// SK_MEMINFO: the socket's buffers in bytes, and the packets it dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketMemory {
    /// Received data held, and the receive buffer's limit.
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    /// Data sent and held until acknowledged (or in the device queue), and the limit.
    pub wmem_alloc: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub wmem_queued: u32,
    pub optmem: u32,
    pub backlog: u32,
    /// Packets dropped on this socket (a full receive buffer, a filter); Linux 4.0+.
    pub drops: Option<u32>,
}

impl TcpInfo {
    /// The congestion state's name, as ss would not tell it.
    pub fn ca_state_name(&self) -> &'static str {
        match self.ca_state {
            0 => "open",
            1 => "disorder",
            2 => "cwr",
            3 => "recovery",
            4 => "loss",
            _ => "unknown",
        }
    }

    /// Share of the busy time the peer's receive window limited the sender, 0 to 1.
    pub fn rwnd_limited_share(&self) -> Option<f64> {
        share(self.rwnd_limited_us?, self.busy_us?)
    }

    pub fn sndbuf_limited_share(&self) -> Option<f64> {
        share(self.sndbuf_limited_us?, self.busy_us?)
    }
}

fn share(part: u64, busy: u64) -> Option<f64> {
    (busy > 0).then(|| (part as f64 / busy as f64).min(1.0))
}
