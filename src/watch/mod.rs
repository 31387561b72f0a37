//! The socket table over time: each look diffed against the last one.

pub mod rates;
pub mod tracker;

use std::collections::HashMap;
use std::time::Instant;

use anyhow::Result;
use rustc_hash::FxHashMap;

use crate::host::{DestroyFeed, Host};
use crate::inventory::Collector;
use crate::model::{Inventory, Places, Process, Socket, UnixSocket};
use crate::query::{DetailLevel, Query};
use rates::{ConnectionRate, RateMeter};
use tracker::{Change, Tracker};

/// How many looks a process no socket names any more is remembered: the screen shows a
/// closed socket for three refreshes, with its owner, and a BOUND one is reported closed a
/// look late (the tracker gives it one more look).
const REMEMBERED: u64 = 5;

/// Names a look's namespaces and containers.
pub type Placer<'h> = Box<dyn Fn(&mut Inventory) + 'h>;

/// What changed at one look: TCP and UDP sockets, and Unix sockets when watched.
#[derive(Debug, Default)]
pub struct Changes {
    pub ip: Vec<Change<Socket>>,
    pub unix: Vec<Change<UnixSocket>>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.unix.is_empty()
    }
}

/// One look at the table, diffed against the last one.
pub struct Watcher<'h> {
    query: Query,
    collector: Collector<'h>,
    feed: Option<DestroyFeed>,
    pub tracker: Tracker<Socket>,
    pub unix: Tracker<UnixSocket>,
    /// Processes of this look and of the last few, so a closed socket still names its owner
    /// (the screen shows closed sockets for a few refreshes).
    pub processes: HashMap<u32, Process>,
    /// The look each process was last seen at; those unseen for `REMEMBERED` looks are let go.
    seen: FxHashMap<u32, u64>,
    looks: u64,
    pub users: HashMap<u32, String>,
    /// How the last look read the table (a fallback, say), for the user to hear once.
    pub notes: Vec<String>,
    /// With details asked for (`watch --rates`): bytes per second between the last two looks.
    meter: Option<RateMeter>,
    pub rates: Vec<ConnectionRate>,
    /// Seconds the rates were measured over; 0 before there were two looks.
    pub rate_secs: f64,
    /// Names each look's namespaces and containers (`--all-netns`); None: not placed.
    pub placer: Option<Placer<'h>>,
    places: Places,
}

impl<'h> Watcher<'h> {
    pub fn new(host: &'h dyn Host, query: Query) -> Watcher<'h> {
        let feed = host.destroy_feed(&query.protos);
        let meter = (query.details != DetailLevel::None).then(RateMeter::default);
        Watcher {
            query,
            collector: Collector::new(host),
            feed,
            tracker: Tracker::default(),
            unix: Tracker::default(),
            processes: HashMap::new(),
            seen: FxHashMap::default(),
            looks: 0,
            users: HashMap::new(),
            notes: Vec::new(),
            meter,
            rates: Vec::new(),
            rate_secs: 0.0,
            placer: None,
            places: Places::default(),
        }
    }

    /// Whether bytes per second are measured.
    pub fn measures_rates(&self) -> bool {
        self.meter.is_some()
    }

    /// Whether Unix sockets are watched.
    pub fn watches_unix(&self) -> bool {
        self.query.unix
    }

    pub fn look(&mut self) -> Result<Changes> {
        // The byte counters are read by the dump, which starts the collection (owners come
        // after or alongside): the look's time is its start.
        let at = Instant::now();
        let mut inv = self.collector.collect(&self.query)?;
        self.looks += 1;
        let look = self.looks;
        for pid in inv.processes.keys() {
            self.seen.insert(*pid, look);
        }
        self.seen.retain(|_, at| look - *at < REMEMBERED);
        let remembered = |pid: &u32| self.seen.contains_key(pid);
        if let Some(place) = &self.placer {
            place(&mut inv);
            // Containers of processes gone lately are kept: a closed socket still names its own.
            let last = std::mem::take(&mut self.places);
            let mut places = std::mem::take(&mut inv.places);
            for (pid, c) in last.by_pid.into_iter().filter(|(pid, _)| remembered(pid)) {
                places.by_pid.entry(pid).or_insert(c);
            }
            self.places = places;
        }
        if let Some(meter) = &mut self.meter {
            (self.rates, self.rate_secs) = meter.measure(&inv.sockets, at);
        }
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
            unix,
            processes,
            users,
            notes,
            ..
        } = inv;
        self.notes = notes;
        let previous = std::mem::replace(&mut self.processes, processes);
        for (pid, process) in previous.into_iter().filter(|(pid, _)| remembered(pid)) {
            self.processes.entry(pid).or_insert(process);
        }
        self.users.extend(users);
        Ok(Changes {
            ip: self.tracker.update_with(sockets, destroyed),
            unix: self.unix.update(unix),
        })
    }

    /// How many sockets the last look saw.
    pub fn len(&self) -> usize {
        self.tracker.len() + self.unix.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An inventory holding these sockets, for the renderers.
    pub fn inventory(&self, sockets: Vec<Socket>, unix: Vec<UnixSocket>) -> Inventory {
        Inventory {
            sockets,
            unix,
            processes: self.processes.clone(),
            users: self.users.clone(),
            owners_looked_up: true,
            places: self.places.clone(),
            ..Inventory::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeHost;
    use crate::model::TcpState;
    use tracker::ChangeKind;

    fn tcp(local: u16, remote: u16, state: TcpState, inode: u32) -> Socket {
        let pids: &[u32] = if inode == 0 { &[] } else { &[42] };
        crate::fixtures::loopback_tcp(local, remote, state, inode, pids)
    }

    #[test]
    fn looks_become_changes() {
        let listen = tcp(80, 0, TcpState::Listen, 1);
        let host = FakeHost::new(vec![
            vec![listen.clone()],
            vec![listen.clone(), tcp(50000, 80, TcpState::Established, 2)],
            vec![listen.clone(), tcp(50000, 80, TcpState::FinWait2, 0)],
            vec![],
        ]);
        let mut watcher = Watcher::new(&host, Query::everything());
        let kinds = |changes: Changes| -> Vec<(u16, ChangeKind)> {
            changes
                .ip
                .iter()
                .map(|c| (c.socket.local.port, c.kind))
                .collect()
        };
        assert!(
            watcher.look().unwrap().is_empty(),
            "the first look is the baseline"
        );
        assert_eq!(
            kinds(watcher.look().unwrap()),
            [(50000, ChangeKind::Opened)]
        );
        assert_eq!(
            kinds(watcher.look().unwrap()),
            [(
                50000,
                ChangeKind::State {
                    from: TcpState::Established
                }
            )]
        );
        let mut last = kinds(watcher.look().unwrap());
        last.sort_by_key(|(port, _)| *port);
        assert_eq!(
            last,
            [(80, ChangeKind::Closed), (50000, ChangeKind::Closed)]
        );
        assert_eq!(host.looks_taken(), 4);
    }

    /// Watches a socket of pid 42's in `state` that is gone after the first look, beside
    /// pid 43's listener that stays: the look it is reported closed at, and whether pid 42 is
    /// known at each of 7 looks.
    fn owner_after_close(state: TcpState) -> (usize, Vec<bool>) {
        let gone = crate::fixtures::loopback_tcp(80, 0, state, 1, &[42]);
        let stays = crate::fixtures::loopback_tcp(81, 0, TcpState::Listen, 2, &[43]);
        let mut looks = vec![vec![gone, stays.clone()]];
        looks.extend(std::iter::repeat_n(vec![stays], 6));
        let mut host = FakeHost::new(looks);
        for pid in [42, 43] {
            let process = Process {
                pid,
                name: "server".to_string(),
                user: None,
                cmdline: String::new(),
            };
            host.processes.insert(pid, process);
        }
        let mut watcher = Watcher::new(&host, Query::everything());
        let (mut closed_at, mut named) = (None, Vec::new());
        for look in 0..7 {
            let changes = watcher.look().unwrap();
            let closed = |c: &Change<Socket>| c.kind == ChangeKind::Closed && c.socket.inode == 1;
            if changes.ip.iter().any(closed) {
                closed_at = Some(look);
            }
            named.push(watcher.processes.contains_key(&42));
        }
        assert!(watcher.processes.contains_key(&43));
        (closed_at.expect("reported closed"), named)
    }

    #[test]
    fn a_closed_sockets_owner_is_named_while_the_screen_shows_it_then_let_go() {
        // A BOUND socket is reported closed a look late (the tracker's grace look).
        for state in [TcpState::Listen, TcpState::Bound] {
            let (closed_at, named) = owner_after_close(state);
            // The closed row is shown at the look it closed and the two after (GONE_FOR).
            assert_eq!(
                named[closed_at..closed_at + 3],
                [true; 3],
                "{state:?}: closed at look {closed_at}; owner known per look: {named:?}"
            );
            assert!(!named[6], "{state:?}: still remembered: {named:?}");
        }
    }
}
