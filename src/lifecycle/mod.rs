//! `portscope lifecycle`: the TCP lifecycle lab on loopback.

mod closes;
mod lab;
pub mod model;
#[cfg(target_os = "linux")]
mod packets;
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
    let segments = if args.packets { capture() } else { None };
    let mut lab = Lab::new(&mut show, segments);
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

/// The packet capture, when it can run: Linux, root (a private network namespace and an
/// AF_PACKET socket). Otherwise one note, and the lab runs without it.
#[cfg(target_os = "linux")]
fn capture() -> Option<lab::Segments> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!(
            "portscope: note: --packets needs root (a private network namespace and an AF_PACKET socket); running without it"
        );
        return None;
    }
    match packets::Capture::start() {
        Ok(mut capture) => Some(Box::new(move |names| {
            capture.take(&|addr| names.get(&addr).copied().unwrap_or("?"))
        })),
        Err(e) => {
            eprintln!("portscope: note: cannot capture packets ({e}); running without them");
            None
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn capture() -> Option<lab::Segments> {
    eprintln!("portscope: note: --packets exists on Linux only; running without it");
    None
}
