//! What a probe asks and what it found: plain data.

use std::borrow::Cow;
use std::net::SocketAddr;
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

/// One address and port to probe (with its scope, for a link-local address); `host` is what
/// the user typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Arc<str>,
    pub addr: SocketAddr,
    pub proto: Proto,
}

impl Target {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
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
    /// An open|filtered verdict that may be a closed port whose ICMP answer the target's rate
    /// limit suppressed (probes went faster than it answers).
    pub unreliable: bool,
}

/// What the probes of one target found so far, kept as running figures so that memory stays
/// bounded however long `--count 0` runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetStats {
    pub probes: u64,
    pub open: u64,
    /// Probes that got an answer with a round-trip time: open, or closed by an RST or ICMP
    /// port unreachable (a refusal is an answer, as tcping counts it).
    pub answered: u64,
    pub rtt_min: Option<Duration>,
    pub rtt_max: Option<Duration>,
    pub rtt_sum: Duration,
}

impl TargetStats {
    pub fn rtt_avg(&self) -> Option<Duration> {
        let answered = u32::try_from(self.answered).ok().filter(|n| *n > 0)?;
        Some(self.rtt_sum / answered)
    }

    /// Probes that got no answer, in percent.
    pub fn loss_percent(&self) -> f64 {
        if self.probes == 0 {
            return 0.0;
        }
        100.0 * (self.probes - self.answered) as f64 / self.probes as f64
    }
}

/// Every probe of a run, summed up: per status, and per target (by index) for as many
/// targets as it was made for.
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    pub targets: Vec<TargetStats>,
    pub statuses: std::collections::BTreeMap<Status, u64>,
    /// Outcomes marked unreliable.
    pub unreliable: u64,
}

impl Tally {
    pub fn new(targets: usize) -> Tally {
        Tally {
            targets: vec![TargetStats::default(); targets],
            statuses: Default::default(),
            unreliable: 0,
        }
    }

    pub fn add(&mut self, o: &Outcome) {
        *self.statuses.entry(o.status).or_default() += 1;
        self.unreliable += u64::from(o.unreliable);
        let Some(stats) = self.targets.get_mut(o.target) else {
            return;
        };
        stats.probes += 1;
        stats.open += u64::from(o.status == Status::Open);
        if let (Status::Open | Status::Closed, Some(rtt)) = (o.status, o.rtt) {
            stats.answered += 1;
            stats.rtt_sum += rtt;
            stats.rtt_min = Some(stats.rtt_min.map_or(rtt, |m| m.min(rtt)));
            stats.rtt_max = Some(stats.rtt_max.map_or(rtt, |m| m.max(rtt)));
        }
    }

    pub fn probes(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub fn all_open(&self) -> bool {
        self.statuses.keys().all(|s| *s == Status::Open)
    }
}
