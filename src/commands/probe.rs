//! `portscope probe HOST PORTS`: resolve, probe in rounds, print as the results come.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};

use super::output;
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::ProbeArgs;
use crate::interrupt::{self, interrupted};
use crate::model::Proto;
use crate::ports::parse_ports;
use crate::probe::model::{Outcome, Status, Target};
use crate::probe::{self, Plan, payload};
use crate::render::probe as render;

/// Above this many probes a progress bar shows on a terminal's stderr.
const PROGRESS_FROM: usize = 300;

pub fn run(args: &ProbeArgs) -> Result<Exit> {
    let ports = parse_ports(&args.ports).context("PORTS")?;
    let addrs = addr::resolve(&args.host, Families::from_flags(args.ipv4, args.ipv6))?;
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let given = args.payload.as_deref().map(payload::parse).transpose()?;
    let targets = probe::targets(&args.host, &addrs, &ports, proto);
    let payload = |port| given.clone().unwrap_or_else(|| payload::well_known(port));
    let plan = Plan {
        timeout: Duration::from_millis(args.timeout),
        parallel: args.parallel.unwrap_or_else(default_parallel).max(1),
        payload: &payload,
    };
    let mut all: Vec<Outcome> = Vec::new();
    let mut out = output::stdout();
    let mut attempt = 0;
    let finished = loop {
        attempt += 1;
        // Interrupted or not, what this round found is shown.
        let mut round = probe_round(&targets, attempt, &plan)?;
        round.sort_by_key(|o| (targets[o.target].port, o.target));
        if !args.json {
            for o in round
                .iter()
                .filter(|o| !args.open || o.status == Status::Open)
            {
                writeln!(
                    out,
                    "{}",
                    render::line(&targets[o.target], o, args.count != 1)
                )?;
            }
            out.flush()?;
        }
        all.extend(round);
        if interrupted() {
            break false;
        }
        if args.count != 0 && attempt >= args.count {
            break true;
        }
        if interrupt::sleep(Duration::from_millis(args.interval)) {
            break false;
        }
    };
    if args.json {
        render::json(&mut out, &targets, &all, args.count != 1)?;
    } else if args.count != 1 {
        render::statistics(&mut out, &targets, &all)?;
    } else {
        writeln!(out, "{}", render::summary(&all))?;
    }
    out.flush()?;
    if !finished {
        return Ok(Exit::Interrupted);
    }
    Ok(Exit::found(all.iter().all(|o| o.status == Status::Open)))
}

/// One round, with a progress bar when it is long.
fn probe_round(targets: &[Target], attempt: u64, plan: &Plan) -> Result<Vec<Outcome>> {
    let bar = (targets.len() > PROGRESS_FROM)
        .then(|| {
            output::progress(
                targets.len(),
                "{bar:40} {pos}/{len} probes  {per_sec}  eta {eta}",
            )
        })
        .flatten();
    let round = probe::round(targets, attempt, plan, &|| output::tick(&bar))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(round)
}

/// From the open-files limit (raised to its hard maximum first): most of it, at most 1024,
/// since poll's cost grows with the set (a filtered sweep is bounded by the timeout anyway).
fn default_parallel() -> usize {
    (crate::fdlimit::raise().saturating_sub(64) as usize).clamp(16, 1024)
}
