//! An inventory: the host's sockets that match a query, with their owners, processes and
//! users. The host reads; this module decides what to read and puts the answers together.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Result;
use rustc_hash::{FxHashMap, FxHashSet};

mod places;
pub use places::place;

use crate::host::{Host, Owners, Scope, Table};
use crate::model::{FileId, Inventory, Process, Proto, Socket, UnixSocket};
use crate::query::{OwnerLookup, Query};

/// Collects the sockets the query asks for, with their processes and users.
pub fn collect(host: &dyn Host, query: &Query) -> Result<Inventory> {
    Collector::new(host).forgetful().collect(query)
}

/// Every socket on a local port, any state, with every holder: what `who`, `why-bind` and
/// an endpoint's "address in use" report on.
pub fn holders(host: &dyn Host, port: u16, protos: &[Proto]) -> Result<Inventory> {
    collect(host, &Query::port(port).protos(protos))
}

/// Every Unix socket bound to `name` (a path, however spelt, or `@name` in the abstract
/// namespace) and every socket connected to one of them, with their holders and their
/// peers' holders: `who /path/to.sock`. A path is matched by the socket file it names, so a
/// relative path or a symlink finds the socket too. Also returns the inodes of the sockets
/// bound to the name (the others are their clients).
pub fn unix_holders(host: &dyn Host, name: &OsStr) -> Result<(Inventory, HashSet<u32>)> {
    let query = Query::unix_sockets();
    let mut table = host.sockets(&query)?;
    let file = if name.as_encoded_bytes().starts_with(b"@") {
        None
    } else {
        host.file_id(Path::new(name))
    };
    // Names are listed with bytes that are not UTF-8 replaced; compared the same way.
    let name = name.to_string_lossy();
    let bound: Vec<&UnixSocket> = table
        .unix
        .iter()
        .filter(|s| bound_to(s, &name, file))
        .collect();
    let named: HashSet<u32> = bound.iter().map(|s| s.inode).collect();
    // Clients whose connections wait in a listener's accept queue: connected, though no
    // socket at the server's end names them as its peer yet.
    let waiting: HashSet<u32> = bound
        .iter()
        .flat_map(|s| s.waiting.iter().copied())
        .collect();
    table.unix.retain(|s| {
        named.contains(&s.inode) || named.contains(&s.peer_inode) || waiting.contains(&s.inode)
    });
    let inv = Collector::new(host).forgetful().assemble(&query, table);
    Ok((inv, named))
}

/// Whether a socket is bound to this name: the same socket file when both are known, else
/// the same name as bound.
fn bound_to(s: &UnixSocket, name: &str, file: Option<FileId>) -> bool {
    match (file, s.file) {
        (Some(wanted), Some(theirs)) => wanted == theirs,
        _ => s.path.as_deref() == Some(name),
    }
}

/// The kernel's entry for one connection, found by its 4-tuple, without owners: how a socket
/// is followed after its process closed it (FIN_WAIT2, TIME_WAIT, LAST_ACK).
pub fn find_socket(
    host: &dyn Host,
    proto: Proto,
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<Option<Socket>> {
    let table = host.sockets(&Query::connection(proto, local, remote))?;
    // Address and port only: the table's endpoints carry no scope id, a socket's own do.
    let same = |e: &crate::model::Endpoint, a: SocketAddr| e.ip == a.ip() && e.port == a.port();
    Ok(table
        .sockets
        .into_iter()
        .find(|s| s.proto == proto && same(&s.local, local) && same(&s.remote, remote)))
}

/// Collections that remember, for a caller that asks again and again (`watch`, `ephemeral
/// --watch`): owners of inodes already looked up and processes already described are not
/// read again, so a steady table costs one kernel dump.
pub struct Collector<'h> {
    host: &'h dyn Host,
    remember: bool,
    owners: FxHashMap<u32, Vec<u32>>,
    /// Inodes looked up already, found or not (an owner that cannot be seen is not sought
    /// again at every refresh).
    looked: FxHashSet<u32>,
    processes: HashMap<u32, Process>,
    unreadable: usize,
    /// Owners of every socket, read while the table was (a first, broad look).
    early: Option<Owners>,
}

impl<'h> Collector<'h> {
    pub fn new(host: &'h dyn Host) -> Collector<'h> {
        Collector {
            host,
            remember: true,
            owners: FxHashMap::default(),
            looked: FxHashSet::default(),
            processes: HashMap::new(),
            unreadable: 0,
            early: None,
        }
    }

    /// A collector for one look: nothing kept, the query's owner scan as asked.
    fn forgetful(mut self) -> Collector<'h> {
        self.remember = false;
        self
    }

    pub fn collect(&mut self, query: &Query) -> Result<Inventory> {
        // One look only: a collector that remembers would never look again for the owner of
        // a socket born while the two ran (`looked` takes every inode of the table).
        if !self.remember && query.is_broad() && scope(query) == Some(Scope::All) {
            let (table, owners) = self.read_alongside(query);
            self.early = owners;
            return Ok(self.assemble(query, table?));
        }
        let table = self.host.sockets(query)?;
        Ok(self.assemble(query, table))
    }

    /// The table, and meanwhile on another thread every process's sockets (None when the
    /// host has no such scan or no thread can be started). A large table takes the kernel as
    /// long to dump as a core takes to read a third of the processes, so the two overlap;
    /// for a narrow query the dump is short and the scan for a few inodes is cheaper alone.
    /// A socket born while both run may miss its owners (as with `ss -p`, which reads the
    /// processes first); every socket that existed when the look began has them.
    fn read_alongside(&self, query: &Query) -> (Result<Table>, Option<Owners>) {
        std::thread::scope(|scope| {
            let scan = std::thread::Builder::new()
                .name("owners".into())
                .spawn_scoped(scope, || self.host.every_owner());
            let table = self.host.sockets(query);
            let owners = scan.ok().and_then(|s| s.join().ok()).flatten();
            (table, owners)
        })
    }

    /// An inventory from a table read: kernel-field filters, owners, processes, owner
    /// filters, users.
    fn assemble(&mut self, query: &Query, table: Table) -> Inventory {
        let Table {
            mut sockets,
            mut unix,
            notes,
        } = table;
        sockets.retain(|s| query.matches_kernel_fields(s));
        unix.retain(|s| query.matches_unix_kernel_fields(s));
        if let Some(scope) = scope(query) {
            self.find_owners(&mut sockets, &mut unix, scope);
        }
        let pids: BTreeSet<u32> = sockets
            .iter()
            .flat_map(|s| s.pids.iter())
            .chain(unix.iter().flat_map(|s| s.pids.iter().chain(&s.peer_pids)))
            .copied()
            .collect();
        self.processes.retain(|pid, _| pids.contains(pid));
        let new: Vec<u32> = pids
            .into_iter()
            .filter(|p| !self.processes.contains_key(p))
            .collect();
        self.processes.extend(self.host.processes(&new));
        let processes = if self.remember {
            self.processes.clone()
        } else {
            std::mem::take(&mut self.processes)
        };
        self.finish(query, sockets, unix, processes, notes)
    }

    /// Owners for the sockets whose backend did not report them (and for the peers of Unix
    /// sockets), from what is remembered and one scan for the inodes not looked up before.
    fn find_owners(&mut self, sockets: &mut [Socket], unix: &mut [UnixSocket], scope: Scope) {
        let current: FxHashSet<u32> = sockets
            .iter()
            .filter(|s| s.inode != 0 && s.pids.is_empty())
            .map(|s| s.inode)
            .chain(unix.iter().flat_map(|s| [s.inode, s.peer_inode]))
            .filter(|inode| *inode != 0)
            .collect();
        self.owners.retain(|inode, _| current.contains(inode));
        self.looked.retain(|inode| current.contains(inode));
        let new: Vec<u32> = current
            .iter()
            .copied()
            .filter(|i| !self.looked.contains(i))
            .collect();
        if !new.is_empty() {
            let found = match self.early.take() {
                Some(every) => every,
                None => self.host.owners(&new, scope),
            };
            self.unreadable = found.unreadable;
            self.looked.extend(new);
            let current_only = found
                .by_inode
                .into_iter()
                .filter(|(i, _)| current.contains(i));
            self.owners.extend(current_only);
        }
        let owners = |inode: u32| self.owners.get(&inode).cloned().unwrap_or_default();
        for socket in sockets.iter_mut().filter(|s| s.pids.is_empty()) {
            socket.pids = owners(socket.inode);
        }
        for socket in unix.iter_mut() {
            socket.pids = owners(socket.inode);
            if socket.peer_inode != 0 {
                socket.peer_pids = owners(socket.peer_inode);
            }
        }
    }

    /// The owner filters, users and the rest of an inventory around collected sockets.
    fn finish(
        &self,
        query: &Query,
        mut sockets: Vec<Socket>,
        mut unix: Vec<UnixSocket>,
        processes: HashMap<u32, Process>,
        notes: Vec<String>,
    ) -> Inventory {
        let processes_of = |pid: u32| processes.get(&pid);
        sockets.retain(|s| query.matches_owner(&s.pids, processes_of));
        unix.retain(|s| query.matches_owner(&s.pids, processes_of));
        let uids: BTreeSet<u32> = sockets
            .iter()
            .filter(|s| s.inode != 0)
            .map(|s| s.uid)
            .chain(unix.iter().filter_map(|s| s.uid))
            .collect();
        let users = uids
            .into_iter()
            .map(|uid| {
                let name = self.host.user_name(uid);
                (uid, name.unwrap_or_else(|| uid.to_string()))
            })
            .collect();
        Inventory {
            sockets,
            unix,
            processes,
            users,
            owners_looked_up: query.owners != OwnerLookup::Skip,
            unreadable_processes: self.unreadable,
            notes,
            places: Default::default(),
        }
    }
}

/// Which processes to read for the query's owners. A pid filter still reads every process
/// unless the first holder is enough: the row shows all of a socket's holders.
fn scope(query: &Query) -> Option<Scope> {
    match (query.owners, query.pid) {
        (OwnerLookup::Skip, _) => None,
        (OwnerLookup::Complete, _) => Some(Scope::All),
        (OwnerLookup::First, Some(pid)) => Some(Scope::Pid(pid)),
        (OwnerLookup::First, None) => Some(Scope::FirstHolder),
    }
}

#[cfg(test)]
mod tests;
