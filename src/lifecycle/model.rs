//! The lab's steps: what was called, by whom, and the kernel's table afterwards. Plain data.

use std::net::SocketAddr;

use crate::model::{TcpState, Timer};

/// One of the lab's sockets as the kernel reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub role: &'static str,
    pub local: SocketAddr,
    pub remote: Option<SocketAddr>,
    pub state: TcpState,
    pub recv_q: u32,
    pub send_q: u32,
    pub owner: Holder,
    pub timer: Option<Timer>,
}

/// Who holds a row's socket: processes (pid, name), or why none (`(accept queue)`,
/// `(closed)`).
#[derive(Debug, Clone, PartialEq)]
pub enum Holder {
    Processes(Vec<(u32, String)>),
    Nobody(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub number: usize,
    pub actor: &'static str,
    pub call: String,
    pub rows: Vec<Row>,
    pub explanation: String,
    /// The segments the step put on the wire (with --packets).
    pub segments: Vec<Segment>,
    /// Segments of the step the capture lost (its buffer overflowed): said, never hidden.
    pub segments_not_shown: usize,
}

/// What the capture read for one step.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Captured {
    pub segments: Vec<Segment>,
    pub not_shown: usize,
}

/// TCP segments seen on the wire, a run of like ones folded into one (`count`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub from: &'static str,
    pub to: &'static str,
    /// `SYN`, `SYN,ACK`, `ACK,PSH`, `ACK,FIN`, `RST`…
    pub flags: String,
    /// Sequence number relative to the sender's first one seen.
    pub seq: u32,
    /// Acknowledgement relative to the receiver's first sequence number, when ACK is set.
    pub ack: Option<u32>,
    /// Payload bytes (summed over a folded run).
    pub len: usize,
    pub count: usize,
}
