//! `portscope lifecycle`: the TCP lifecycle lab, step by step.

use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Result, bail};

use super::output;
use crate::Exit;
use crate::cli::{CloseKind, LifecycleArgs};
use crate::host::Host;
use crate::interrupt::{self, interrupted};
use crate::lifecycle::model::Step;
use crate::lifecycle::{self, Close, Lab};
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &LifecycleArgs, style: Style) -> Result<Exit> {
    interrupt::install();
    let interactive = args.step && std::io::stdin().is_terminal();
    let mut first = true;
    let mut show = |step: &Step| -> Result<()> {
        // Ctrl-C ends the lab between steps; the sockets close as it unwinds.
        if interrupted() {
            bail!("interrupted");
        }
        if args.json {
            return Ok(());
        }
        if interactive && !first {
            let _ = write!(std::io::stderr(), "press Enter for the next step… ");
            enter()?;
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
    let ran = lifecycle::connection(&mut lab, close).and_then(|()| {
        if args.no_overflow {
            Ok(())
        } else {
            lifecycle::overflow(&mut lab)
        }
    });
    // A signal may surface as any error on the way (EINTR from a socket call).
    if interrupted() {
        return Ok(Exit::Interrupted);
    }
    ran?;
    output::notes(&lab.notes);
    if args.json {
        let mut out = output::stdout();
        render::lifecycle::json(&mut out, &lab.steps)?;
        out.flush()?;
    }
    Ok(Exit::Success)
}

/// Waits for a line on stdin, watching for Ctrl-C: read_line alone retries through EINTR.
fn enter() -> Result<()> {
    let mut stdin = [crate::poll::entry(libc::STDIN_FILENO, crate::poll::IN)];
    while crate::poll::wait(&mut stdin, Duration::from_millis(100))? == 0 {
        if interrupted() {
            bail!("interrupted");
        }
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(())
}
