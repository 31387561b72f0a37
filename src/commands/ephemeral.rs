//! `portscope ephemeral`: the dynamic-port report, once or refreshed; `ephemeral sample`.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::cli::{EphemeralArgs, EphemeralCommand};
use crate::ephemeral::{self, Ended};
use crate::host::Host;
use crate::interrupt;
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &EphemeralArgs, style: Style) -> Result<Exit> {
    match &args.command {
        Some(EphemeralCommand::Sample(sample)) => super::unix::sample(host, sample, style),
        None => report_loop(host, args, style),
    }
}

fn report_loop(host: &dyn Host, args: &EphemeralArgs, style: Style) -> Result<Exit> {
    interrupt::install();
    let mut out = output::stdout();
    let every = args.watch.map(|d| d.max(Duration::from_millis(100)));
    let ended = ephemeral::reports(host, every, &mut |report, inv| {
        if args.json {
            render::ephemeral::json(&mut out, report, inv)?;
        } else {
            if every.is_some() && style.terminal {
                // Redraw in place: home the cursor and clear the screen.
                write!(out, "\x1b[H\x1b[2J")?;
            }
            render::ephemeral::text(&mut out, report, inv, &style)?;
        }
        out.flush()?;
        output::report_gaps(inv);
        Ok(true)
    })?;
    Ok(match ended {
        Ended::Done => Exit::Success,
        Ended::Interrupted => Exit::Interrupted,
    })
}
