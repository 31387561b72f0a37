//! `portscope watch`: the socket table over time, as a live screen or a stream of changes.

mod screen;
pub mod tracker;

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cli::WatchArgs;
use crate::exit::Exit;
use crate::interrupt::{install, interrupted};
use crate::inventory::{self, Memory};
use crate::model::{Inventory, Process, Socket};
use crate::query::Query;
use crate::render::{self, Style};
use tracker::{Change, Tracker};

/// One look at the table, diffed against the last one.
pub struct Watcher {
    query: Query,
    memory: Memory,
    feed: Option<inventory::DestroyFeed>,
    pub tracker: Tracker,
    /// Processes of this look and the last one, so a closed socket still names its owner.
    pub processes: HashMap<u32, Process>,
    pub users: HashMap<u32, String>,
}

impl Watcher {
    pub fn new(args: &WatchArgs) -> Result<Watcher> {
        let query = Query::from_filters(&args.filter, true, false)?;
        let feed = inventory::destroy_feed(&query.protos);
        Ok(Watcher {
            query,
            memory: Memory::default(),
            feed,
            tracker: Tracker::default(),
            processes: HashMap::new(),
            users: HashMap::new(),
        })
    }

    pub fn look(&mut self) -> Result<Vec<Change>> {
        let inv = inventory::collect_again(&self.query, &mut self.memory)?;
        let destroyed: Vec<Socket> = self
            .feed
            .as_mut()
            .map(|feed| feed())
            .unwrap_or_default()
            .into_iter()
            .filter(|s| self.query.matches_kernel_fields(s))
            .collect();
        let Inventory {
            sockets,
            processes,
            users,
            ..
        } = inv;
        let previous = std::mem::replace(&mut self.processes, processes);
        for (pid, process) in previous {
            self.processes.entry(pid).or_insert(process);
        }
        self.users.extend(users);
        Ok(self.tracker.update(sockets, destroyed))
    }

    /// An inventory holding `sockets`, for the renderers.
    pub fn inventory(&self, sockets: Vec<Socket>) -> Inventory {
        Inventory {
            sockets,
            processes: self.processes.clone(),
            users: self.users.clone(),
            owners_looked_up: true,
            ..Inventory::default()
        }
    }
}

pub fn run(args: &WatchArgs, style: Style) -> Result<Exit> {
    if args.interval < 0.05 {
        bail!("--interval must be at least 0.05 seconds");
    }
    install();
    let watcher = Watcher::new(args)?;
    if args.json || !style.terminal {
        stream(watcher, args)
    } else {
        screen::run(watcher, args, style)
    }
}

/// One JSON object per change, one per line, flushed after each look.
fn stream(mut watcher: Watcher, args: &WatchArgs) -> Result<Exit> {
    let started = Instant::now();
    let every = Duration::from_secs_f64(args.interval);
    let mut out = crate::commands::stdout();
    loop {
        let next = Instant::now() + every;
        let changes = watcher.look()?;
        if !changes.is_empty() {
            let t_ms = started.elapsed().as_secs_f64() * 1000.0;
            let inv = watcher.inventory(Vec::new());
            for change in &changes {
                render::watch::event(&mut out, t_ms, change, &inv)?;
            }
            out.flush()?;
        }
        while Instant::now() < next {
            if interrupted() {
                return Ok(Exit::Interrupted);
            }
            std::thread::sleep(
                next.saturating_duration_since(Instant::now())
                    .min(Duration::from_millis(20)),
            );
        }
    }
}
