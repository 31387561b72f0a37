//! `portscope lifecycle`: the TCP lifecycle lab, step by step.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::cli::{CloseKind, LifecycleArgs};
use crate::host::Host;
use crate::lifecycle::model::Step;
use crate::lifecycle::{self, Close, Lab};
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &LifecycleArgs, style: Style) -> Result<Exit> {
    let interactive = args.step && std::io::stdin().is_terminal();
    let mut first = true;
    let mut show = |step: &Step| -> Result<()> {
        if args.json {
            return Ok(());
        }
        if interactive && !first {
            let _ = write!(std::io::stderr(), "press Enter for the next step… ");
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
        }
        first = false;
        let mut out = output::stdout_lines();
        render::lifecycle::step(&mut out, step, &style)?;
        out.flush()?;
        Ok(())
    };
    let segments = if args.packets {
        lifecycle::capture()
            .map_err(|why| output::notes(&[why]))
            .ok()
    } else {
        None
    };
    let close = match args.close {
        CloseKind::ClientFirst => Close::ClientFirst,
        CloseKind::ServerFirst => Close::ServerFirst,
        CloseKind::Rst => Close::Rst,
        CloseKind::HalfClose => Close::HalfClose,
    };
    let mut lab = Lab::new(host, &mut show, segments);
    lifecycle::connection(&mut lab, close)?;
    if !args.no_overflow {
        lifecycle::overflow(&mut lab)?;
    }
    output::notes(&lab.notes);
    if args.json {
        let mut out = output::stdout();
        render::lifecycle::json(&mut out, &lab.steps)?;
        out.flush()?;
    }
    Ok(Exit::Success)
}
