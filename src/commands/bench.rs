//! `portscope bench`: short vs long connections, measured on loopback.

use std::io::Write;

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::bench::{self, Bench};
use crate::cli::BenchArgs;
use crate::host::Host;
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &BenchArgs, style: Style) -> Result<Exit> {
    crate::interrupt::install();
    let config = Bench {
        requests: args.requests,
        size: args.size,
        concurrency: args.concurrency,
    };
    let bar = output::progress(
        2 * args.requests,
        "{bar:40} {pos}/{len} requests  {per_sec}",
    );
    let mut notes = Vec::new();
    let result = bench::run(host, &config, &|| output::tick(&bar), &mut notes);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    output::notes(&notes);
    let Some((short, long)) = result? else {
        return Ok(Exit::Interrupted);
    };
    let mut out = output::stdout();
    if args.json {
        render::bench::json(&mut out, &short, &long)?;
    } else {
        render::bench::text(&mut out, &config, &short, &long, &style)?;
    }
    out.flush()?;
    Ok(Exit::Success)
}
