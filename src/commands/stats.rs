//! `portscope stats`: the counters that explain trouble, once or per second between looks.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::output;
use crate::Exit;
use crate::cli::StatsArgs;
use crate::host::Host;
use crate::interrupt;
use crate::render::stats::StatRows;
use crate::render::{self, Style};
use crate::stats;

pub fn run(host: &dyn Host, args: &StatsArgs, style: Style) -> Result<Exit> {
    if args
        .interval
        .is_some_and(|every| every < Duration::from_millis(50))
    {
        bail!("--interval must be at least 50ms");
    }
    interrupt::install();
    let mut out = output::stdout();
    let mut earlier = host.counters()?;
    let mut at = Instant::now();
    let Some(every) = args.interval else {
        let report = stats::report(&earlier, None);
        show(&mut out, &report, None, args, &style)?;
        return Ok(Exit::Success);
    };
    let mut shown = 0;
    while args.count.is_none_or(|count| shown < count) {
        if interrupt::sleep(every) {
            return Ok(Exit::Interrupted);
        }
        let now = host.counters()?;
        let elapsed = at.elapsed();
        at = Instant::now();
        let report = stats::report(&now, Some((&earlier, elapsed)));
        show(&mut out, &report, Some(elapsed.as_secs_f64()), args, &style)?;
        earlier = now;
        shown += 1;
    }
    Ok(Exit::Success)
}

fn show(
    out: &mut dyn Write,
    report: &[stats::Stat],
    interval: Option<f64>,
    args: &StatsArgs,
    style: &Style,
) -> Result<()> {
    if args.json {
        render::stats::json(out, report, interval)?;
    } else {
        if let Some(secs) = interval {
            writeln!(out, "per second over the last {secs:.1} s:")?;
        }
        let rows = StatRows {
            stats: report,
            rates: interval.is_some(),
        };
        render::rows(out, &rows, style)?;
    }
    out.flush()?;
    Ok(())
}
