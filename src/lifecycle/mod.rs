//! `portscope lifecycle`: the TCP lifecycle lab on loopback.

mod lab;
pub mod model;
mod table;

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use crate::cli::LifecycleArgs;
use crate::exit::Exit;
use crate::render::{self, Style};
use lab::Lab;

pub fn run(args: &LifecycleArgs, style: Style) -> Result<Exit> {
    let interactive = args.step && std::io::stdin().is_terminal();
    let mut first = true;
    let mut show = |step: &model::Step| -> Result<()> {
        if args.json {
            return Ok(());
        }
        if interactive && !first {
            eprint!("press Enter for the next step… ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
        }
        first = false;
        let mut out = std::io::stdout().lock();
        render::lifecycle::step(&mut out, step, &style)?;
        out.flush()?;
        Ok(())
    };
    let mut lab = Lab::new(&mut show);
    lab::connection(&mut lab, args.close)?;
    if !args.no_overflow {
        lab::overflow(&mut lab)?;
    }
    if args.json {
        let mut out = crate::commands::stdout();
        render::lifecycle::json(&mut out, &lab.steps)?;
        out.flush()?;
    }
    Ok(Exit::Success)
}
