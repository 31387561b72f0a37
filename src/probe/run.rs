//! The probe command: resolve, probe in rounds, print as the results come.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use super::engine::{self, Plan};
use super::model::{Outcome, Status, Target};
use super::payload;
use crate::cli::ProbeArgs;
use crate::endpoint::addr::{self, Families};
use crate::exit::Exit;
use crate::interrupt::{install, interrupted};
use crate::model::Proto;
use crate::ports::parse_ports;
use crate::render::probe as render;
use crate::terminal::stderr_is_terminal;

/// Above this many probes a progress bar shows on a terminal's stderr.
const PROGRESS_FROM: usize = 300;

pub fn run(args: &ProbeArgs) -> Result<Exit> {
    let ports = parse_ports(&args.ports).context("PORTS")?;
    let addrs = addr::resolve(&args.host, Families::from_flags(args.ipv4, args.ipv6))?;
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let given = args.payload.as_deref().map(payload::parse).transpose()?;
    let host: std::sync::Arc<str> = args.host.as_str().into();
    let targets: Vec<Target> = ports
        .iter()
        .flat_map(|port| {
            let host = &host;
            addrs.iter().map(move |addr| Target {
                host: host.clone(),
                addr: *addr,
                port: *port,
                proto,
            })
        })
        .collect();
    install();
    let payload = |port| given.clone().unwrap_or_else(|| payload::well_known(port));
    let plan = Plan {
        timeout: Duration::from_millis(args.timeout),
        parallel: args.parallel.unwrap_or_else(default_parallel).max(1),
        payload: &payload,
    };
    let mut all: Vec<Outcome> = Vec::new();
    let mut out = crate::commands::stdout();
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
        if pause(Duration::from_millis(args.interval)) {
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
    let bar = (targets.len() > PROGRESS_FROM && stderr_is_terminal()).then(|| {
        let bar = ProgressBar::new(targets.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} probes  {per_sec}  eta {eta}")
        {
            bar.set_style(style);
        }
        bar
    });
    let tick = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    let round = engine::round(targets, attempt, plan, &tick)?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(round)
}

/// Sleeps in small steps; true if Ctrl-C came meanwhile.
fn pause(total: Duration) -> bool {
    let end = std::time::Instant::now() + total;
    while std::time::Instant::now() < end {
        if interrupted() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20).min(total));
    }
    interrupted()
}

/// From the open-files limit (raised to its hard maximum first): most of it, at most 1024,
/// since poll's cost grows with the set (a filtered sweep is bounded by the timeout anyway).
fn default_parallel() -> usize {
    (crate::fdlimit::raise().saturating_sub(64) as usize).clamp(16, 1024)
}
