//! `portscope probe HOST PORTS`: resolve, probe in rounds, print as the results come.

use std::io::Write;

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::ProbeArgs;
use crate::interrupt::{self, interrupted};
use crate::model::Proto;
use crate::probe::model::{Outcome, Status, Tally, Target};
use crate::probe::pace::{self, Pace};
use crate::probe::{self, Plan, payload};
use crate::render::probe as render;

/// Above this many probes a progress bar shows on a terminal's stderr.
const PROGRESS_FROM: usize = 300;

/// Descriptors kept free beside the probes' sockets (output, /etc files, a progress bar).
const FD_MARGIN: u64 = 8;

pub fn run(args: &ProbeArgs) -> Result<Exit> {
    // Ctrl-C ends the run after showing what the interrupted round found.
    interrupt::install();
    let target = addr::Target::parse(&args.host, args.ports.as_deref())?;
    let ports: Vec<u16> = super::filters::ports(target.port, "PORTS")?.ports().collect();
    let addrs = addr::resolve(target.host, Families::from_flags(args.ipv4, args.ipv6))?;
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let given = args.payload.as_deref().map(payload::parse).transpose()?;
    let targets = probe::targets(target.host, &addrs, &ports, proto);
    let payload = |port| given.clone().unwrap_or_else(|| payload::well_known(port));
    if let Some(rate) = args.rate.filter(|r| !(r.is_finite() && *r > 0.0)) {
        anyhow::bail!("--rate {rate}: probes per second must be a number above 0");
    }
    let pace = Pace::of(proto, &targets, args.rate);
    if let (None, Some(rate), Some(source)) = (args.rate, pace.rate, pace.limit_source()) {
        output::diagnostic(&format!(
            "note: UDP probes paced at {rate:.0}/s, as fast as {} answers ({source}): about \
             {:.0} s; --rate N goes faster, marking silent ports unreliable",
            crate::text::escaped(&args.host),
            targets.len() as f64 / rate
        ));
    }
    let plan = Plan {
        timeout: args.timeout,
        parallel: parallel(args.parallel),
        payload: &payload,
        rate: pace.rate,
    };
    let numbered = args.count != 1;
    let mut rounds = Rounds {
        targets: &targets,
        plan: &plan,
        pace: &pace,
        args,
        attempt: 0,
        // Figures per target only for the repeat statistics; one round needs the counts.
        tally: Tally::new(if numbered { targets.len() } else { 0 }),
        ended: None,
        failed: None,
    };
    let mut out = output::stdout();
    if args.json {
        // Written as the rounds come: a long repeat run keeps no results, only the tally.
        render::json(&mut out, &targets, rounds.by_ref().flatten(), numbered)?;
    } else {
        for round in rounds.by_ref() {
            for o in round.iter().filter(|o| !args.open || o.status == Status::Open) {
                writeln!(out, "{}", render::line(&targets[o.target], o, numbered))?;
            }
            out.flush()?;
        }
        if numbered {
            render::statistics(&mut out, &targets, &rounds.tally)?;
        } else {
            writeln!(out, "{}", render::summary(&rounds.tally))?;
        }
    }
    out.flush()?;
    if let Some(e) = rounds.failed {
        return Err(e);
    }
    if rounds.ended == Some(Ended::Interrupted) {
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::found(rounds.tally.all_open()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Counted,
    Interrupted,
}

/// The rounds of a run, each sorted by port, counted into the tally as they come; ends after
/// `--count` rounds, on Ctrl-C (after showing what the interrupted round found) or an error.
struct Rounds<'a> {
    targets: &'a [Target],
    plan: &'a Plan<'a>,
    pace: &'a Pace,
    args: &'a ProbeArgs,
    attempt: u64,
    tally: Tally,
    ended: Option<Ended>,
    failed: Option<anyhow::Error>,
}

impl Iterator for Rounds<'_> {
    type Item = Vec<Outcome>;

    fn next(&mut self) -> Option<Vec<Outcome>> {
        if self.ended.is_some() || self.failed.is_some() {
            return None;
        }
        if self.attempt > 0 && interrupt::sleep(self.args.interval) {
            self.ended = Some(Ended::Interrupted);
            return None;
        }
        self.attempt += 1;
        // One sweep probes its silent UDP ports again; repeat mode counts every probe as it is.
        let pace = (self.args.count == 1).then_some(self.pace);
        let mut round = match probe_round(self.targets, self.attempt, self.plan, pace) {
            Ok(round) => round,
            Err(e) => {
                self.failed = Some(e);
                return None;
            }
        };
        round.sort_by_key(|o| (self.targets[o.target].port(), o.target));
        for o in &round {
            self.tally.add(o);
        }
        if interrupted() {
            self.ended = Some(Ended::Interrupted);
        } else if self.args.count != 0 && self.attempt >= self.args.count {
            self.ended = Some(Ended::Counted);
        }
        Some(round)
    }
}

/// One round, with a progress bar when it is long; given the pace, a UDP round probes its
/// silent ports again.
fn probe_round(
    targets: &[Target],
    attempt: u64,
    plan: &Plan,
    pace: Option<&Pace>,
) -> Result<Vec<Outcome>> {
    let bar = (targets.len() > PROGRESS_FROM)
        .then(|| {
            output::progress(
                targets.len(),
                "{bar:40} {pos}/{len} probes  {per_sec}  eta {eta}",
            )
        })
        .flatten();
    let mut round = probe::round(targets, attempt, plan, &|| output::tick(&bar))?;
    if let Some(pace) = pace.filter(|_| targets.first().is_some_and(|t| t.proto == Proto::Udp))
        && !interrupted()
    {
        pace::settle(targets, &mut round, plan, pace, &|| {})?;
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(round)
}

/// Probes in flight at once: as asked, or most of the free descriptors but at most 1024 (poll's
/// cost grows with the set; a filtered sweep is bounded by the timeout anyway). Never more
/// than the descriptors free: each probe holds one.
fn parallel(asked: Option<usize>) -> usize {
    let free = crate::fdlimit::free().saturating_sub(FD_MARGIN).max(1);
    let free = usize::try_from(free).unwrap_or(usize::MAX);
    match asked {
        Some(n) if n > free => {
            output::diagnostic(&format!(
                "note: --parallel {n} lowered to {free}: only {free} more descriptors may be \
                 opened (ulimit -n)"
            ));
            free
        }
        Some(n) => n.max(1),
        None => free.min(1024),
    }
}
