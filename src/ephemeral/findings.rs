//! What `why-bind` found out: plain data for the renderer.

use std::net::SocketAddr;

use crate::model::Proto;

/// The kernel's answer to a real bind (and listen, for TCP) with each set of options; None
/// means it succeeded.
#[derive(Debug)]
pub struct Trial {
    pub plain: Option<std::io::Error>,
    pub reuseaddr: Option<std::io::Error>,
    pub reuseport: Option<std::io::Error>,
}

#[derive(Debug)]
pub struct Findings {
    pub want: SocketAddr,
    pub proto: Proto,
    /// Indices of live sockets whose address overlaps (TIME_WAIT apart).
    pub holders: Vec<usize>,
    pub time_wait: usize,
    /// A holder is a listener (TCP LISTEN) or a bound UDP socket.
    pub listening: bool,
    /// A holder is a TCP socket bound and neither listening nor connected.
    pub bound_only: bool,
    pub privileged: bool,
    pub start: Option<u16>,
    pub reserved: bool,
    pub in_range: bool,
    pub trial: Trial,
}
