//! How fast a sweep may go and still hear the truth: a closed UDP port answers with ICMP port
//! unreachable, and the target's kernel rate-limits those (net.ipv4.icmp_ratelimit per
//! prober address, icmp_msgs_per_sec host-wide), so faster probes meet silence that looks
//! like open|filtered.

use std::io;

use super::engine::{Plan, round};
use super::model::{Outcome, Status, Target};
use crate::model::{IcmpLimits, LimitSource, Proto};

/// Port unreachables a target sends at once before its limit applies (XRLIM_BURST_FACTOR).
pub const ICMP_BURST: usize = 6;

/// The pace of a sweep: the probes' rate and the answers' rate.
#[derive(Debug, Clone)]
pub struct Pace {
    /// Probes started per second at most; None: unpaced.
    pub rate: Option<f64>,
    /// The target's ICMP limits (UDP only).
    pub limits: Option<IcmpLimits>,
}

impl Pace {
    /// `--rate` as asked, or for a UDP sweep longer than the burst, the target's answer rate.
    pub fn of(proto: Proto, targets: &[Target], asked: Option<f64>) -> Pace {
        // Within the burst, every answer comes whatever the pace: no limits to look for.
        let limits = match (proto, targets.first()) {
            (Proto::Udp, Some(t)) if targets.len() > ICMP_BURST => {
                Some(crate::host::icmp_limits(t.addr.ip()))
            }
            _ => None,
        };
        let answers = limits.as_ref().and_then(IcmpLimits::answers_per_sec);
        let rate = asked.or(answers.filter(|_| targets.len() > ICMP_BURST));
        Pace { rate, limits }
    }

    fn answers_per_sec(&self) -> Option<f64> {
        self.limits.as_ref().and_then(IcmpLimits::answers_per_sec)
    }

    /// Whether `probes` probes at this pace outrun the target's answers, so that silence may
    /// be a suppressed "closed".
    pub fn outruns(&self, probes: usize) -> bool {
        match self.answers_per_sec() {
            None => false,
            Some(answers) => probes > ICMP_BURST && self.rate.is_none_or(|r| r > answers * 1.05),
        }
    }

    /// Where the limit comes from, in words.
    pub fn limit_source(&self) -> Option<String> {
        let l = self.limits.as_ref()?;
        let limit = format!(
            "net.ipv4.icmp_ratelimit {} ms, icmp_msgs_per_sec {}",
            l.ratelimit_ms, l.msgs_per_sec
        );
        Some(match &l.source {
            LimitSource::Loopback => "an address of this namespace: answers over loopback, \
                                      unlimited"
                .to_string(),
            // Whatever `ip netns add` was given: it reaches a terminal.
            LimitSource::Namespace(name) => format!(
                "{limit} in network namespace {}, which holds the address",
                crate::text::escaped(name)
            ),
            LimitSource::Assumed => format!("{limit} here, assumed for the target"),
        })
    }
}

/// Probes the round's open|filtered UDP targets once more (nmap's retransmission: a reply or
/// an answer lost once is not lost twice at a pace the target keeps up with), then marks
/// those still silent unreliable when the pace outran the target's answers.
pub fn settle(
    targets: &[Target],
    outcomes: &mut [Outcome],
    plan: &Plan,
    pace: &Pace,
    tick: &(dyn Fn() + Sync),
) -> io::Result<()> {
    let silent: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| o.status == Status::OpenFiltered)
        .map(|(i, _)| i)
        .collect();
    if silent.is_empty() {
        return Ok(());
    }
    let again: Vec<Target> = silent
        .iter()
        .map(|i| targets[outcomes[*i].target].clone())
        .collect();
    let attempt = outcomes[silent[0]].attempt;
    for o in round(&again, attempt, plan, tick)? {
        let slot = &mut outcomes[silent[o.target]];
        *slot = Outcome {
            target: slot.target,
            ..o
        };
    }
    let outran = pace.outruns(targets.len());
    for o in outcomes
        .iter_mut()
        .filter(|o| o.status == Status::OpenFiltered)
    {
        o.unreliable = outran;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A namespace's name is whatever `ip netns add` was given (it takes an ESC): the pace
    /// note that names it reaches the terminal, so it must come escaped.
    #[test]
    fn the_namespace_named_in_the_pace_note_is_escaped() {
        let pace = Pace {
            rate: Some(1.0),
            limits: Some(IcmpLimits {
                ratelimit_ms: 1000,
                ratemask: 6168,
                msgs_per_sec: 1000,
                source: LimitSource::Namespace("revf-e\u{1b}[31mred".to_string()),
            }),
        };
        let said = pace.limit_source().expect("a source");
        assert!(!said.contains('\u{1b}'), "raw ESC in {said:?}");
    }
}
