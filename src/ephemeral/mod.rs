//! `portscope ephemeral`: how the kernel hands out dynamic ports and how close the host is to
//! running out; `ephemeral sample` measures the allocation; `why-bind` explains a bind.

mod allocation;
pub mod findings;
pub use allocation::{Allocation, Method};
pub mod report;
#[cfg(unix)]
mod sample;
#[cfg(unix)]
mod why_bind;

#[cfg(unix)]
pub use sample::run as sample;
#[cfg(unix)]
pub use why_bind::run as why_bind;

use std::io::Write;
use std::time::Duration;

use anyhow::{Result, bail};

use crate::cli::{EphemeralArgs, EphemeralCommand};
use crate::exit::Exit;
use crate::interrupt::{install, interrupted};
use crate::inventory;
use crate::query::Query;
use crate::render::{self, Style};

pub fn run(args: &EphemeralArgs, style: Style) -> Result<Exit> {
    match &args.command {
        #[cfg(unix)]
        Some(EphemeralCommand::Sample(sample_args)) => sample(sample_args, style),
        #[cfg(not(unix))]
        Some(EphemeralCommand::Sample(_)) => bail!("ephemeral sample exists on Unix systems only"),
        None => report_loop(args, style),
    }
}

fn report_loop(args: &EphemeralArgs, style: Style) -> Result<Exit> {
    install();
    let mut out = crate::commands::stdout();
    // With --watch, owners already found are not looked for again at each refresh.
    let mut memory = inventory::Memory::default();
    loop {
        let Some(settings) = inventory::port_settings() else {
            bail!("unsupported here: the ephemeral port range is read on Linux only");
        };
        let inv = inventory::collect_again(&Query::everything(), &mut memory)?;
        let report = report::build(&settings, &inv.sockets);
        if args.json {
            render::ephemeral::json(&mut out, &report, &inv)?;
        } else {
            if args.watch.is_some() && style.terminal {
                // Redraw in place: home the cursor and clear the screen.
                write!(out, "\x1b[H\x1b[2J")?;
            }
            render::ephemeral::text(&mut out, &report, &inv, &style)?;
        }
        out.flush()?;
        let Some(every) = args.watch else {
            crate::commands::report_gaps(&inv);
            return Ok(Exit::Success);
        };
        let until = std::time::Instant::now() + Duration::from_secs_f64(every.max(0.1));
        while std::time::Instant::now() < until {
            if interrupted() {
                return Ok(Exit::Interrupted);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
