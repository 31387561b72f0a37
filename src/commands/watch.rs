//! `portscope watch`: the socket table over time, as a live screen or a stream of changes.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::namespaces::{self, Everywhere};
use super::{filters, output, watch_screen};
use crate::Exit;
use crate::cli::WatchArgs;
use crate::host::Host;
use crate::interrupt::{self, install};
use crate::model::Inventory;
use crate::query::DetailLevel;
use crate::render::{self, Style};
use crate::watch::Watcher;

pub fn run(host: &dyn Host, args: &WatchArgs, style: Style) -> Result<Exit> {
    if args.interval < Duration::from_millis(50) {
        bail!("--interval must be at least 50ms");
    }
    install();
    let mut query = filters::query(host, &args.filter, true, false)?;
    if args.rates {
        // The screen shows rates alone; the JSON events carry each socket's whole `info`, as
        // `ls -i --json` does (docs/json.md).
        query.details = if args.json {
            DetailLevel::All
        } else {
            DetailLevel::TcpInfo
        };
    }
    // The namespaces present at start; one entered later is not seen.
    let everywhere = args.namespaces.all_netns.then(|| Everywhere::enter(host));
    let watcher = match &everywhere {
        Some(all) => {
            let mut watcher = Watcher::new(&all.host, query);
            watcher.placer = Some(Box::new(|inv: &mut Inventory| {
                namespaces::place(inv, Some(all))
            }));
            watcher
        }
        None => Watcher::new(host, query),
    };
    let every = args.interval;
    if args.json || !style.terminal {
        return stream(watcher, every);
    }
    // A terminal on stdout but no controlling terminal to read keys from (setsid, some
    // schedulers): the event stream, as in a pipe.
    match watch_screen::Terminal::enter() {
        Ok(terminal) => {
            watch_screen::run(terminal, watcher, every, filters::order(args.sort), style)
        }
        Err(_) => stream(watcher, every),
    }
}

/// One JSON object per change, one per line, flushed after each look.
fn stream(mut watcher: Watcher, every: Duration) -> Result<Exit> {
    let started = Instant::now();
    let mut out = output::stdout();
    let mut baseline = true;
    loop {
        let next = Instant::now() + every;
        let changes = watcher.look()?;
        output::notes(&watcher.notes);
        if baseline {
            baseline = false;
            // Changes from now on are reported: a script starting watch can go ahead.
            output::diagnostic(&format!(
                "watching {}; changes follow",
                crate::text::count(watcher.len(), "socket")
            ));
        }
        if !changes.is_empty() {
            let t_ms = started.elapsed().as_secs_f64() * 1000.0;
            let inv = watcher.inventory(Vec::new(), Vec::new());
            for change in &changes.ip {
                render::watch::event(&mut out, t_ms, change, &inv)?;
            }
            for change in &changes.unix {
                render::watch::event(&mut out, t_ms, change, &inv)?;
            }
            out.flush()?;
        }
        if watcher.measures_rates() && watcher.rate_secs > 0.0 {
            let t_ms = started.elapsed().as_secs_f64() * 1000.0;
            let inv = watcher.inventory(Vec::new(), Vec::new());
            render::watch::rates(&mut out, t_ms, watcher.rate_secs, &watcher.rates, &inv)?;
            out.flush()?;
        }
        if interrupt::sleep(next.saturating_duration_since(Instant::now())) {
            return Ok(Exit::Interrupted);
        }
    }
}
