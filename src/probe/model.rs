//! What a probe asks and what it found: plain data.

use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::model::Proto;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    Open,
    Closed,
    Filtered,
    OpenFiltered,
    Unreachable,
    Error,
}

impl Status {
    pub fn name(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Closed => "closed",
            Status::Filtered => "filtered",
            Status::OpenFiltered => "open|filtered",
            Status::Unreachable => "unreachable",
            Status::Error => "error",
        }
    }
}

/// One address and port to probe; `host` is what the user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Arc<str>,
    pub addr: IpAddr,
    pub port: u16,
    pub proto: Proto,
}

/// The answer to one probe of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Index into the round's targets.
    pub target: usize,
    pub attempt: u64,
    pub status: Status,
    /// Time to the answer (handshake, RST, reply or ICMP); none without an answer.
    pub rtt: Option<Duration>,
    pub local_port: Option<u16>,
    /// The OS's words for an `error` status.
    pub error: Option<String>,
    /// Why, for people: `RST`, `ICMP port unreachable`, `no answer in 1000 ms`.
    pub detail: Option<Cow<'static, str>>,
}
