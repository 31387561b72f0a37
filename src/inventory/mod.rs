//! An inventory: the host's sockets that match a query, with their owners, processes and
//! users. The host reads; this module decides what to read and puts the answers together.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::net::SocketAddr;

use anyhow::Result;

mod places;
pub use places::place;

use crate::host::{Host, Scope, Table};
use crate::model::{Inventory, Process, Proto, Socket};
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
    owners: HashMap<u32, Vec<u32>>,
    /// Inodes looked up already, found or not (an owner that cannot be seen is not sought
    /// again at every refresh).
    looked: HashSet<u32>,
    processes: HashMap<u32, Process>,
    unreadable: usize,
}

impl<'h> Collector<'h> {
    pub fn new(host: &'h dyn Host) -> Collector<'h> {
        Collector {
            host,
            remember: true,
            owners: HashMap::new(),
            looked: HashSet::new(),
            processes: HashMap::new(),
            unreadable: 0,
        }
    }

    /// A collector for one look: nothing kept, the query's owner scan as asked.
    fn forgetful(mut self) -> Collector<'h> {
        self.remember = false;
        self
    }

    pub fn collect(&mut self, query: &Query) -> Result<Inventory> {
        let Table { mut sockets, notes } = self.host.sockets(query)?;
        sockets.retain(|s| query.matches_kernel_fields(s));
        if let Some(scope) = scope(query.owners) {
            self.find_owners(&mut sockets, scope);
        }
        let pids: BTreeSet<u32> = sockets
            .iter()
            .flat_map(|s| s.pids.iter().copied())
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
        Ok(self.finish(query, sockets, processes, notes))
    }

    /// Owners for the sockets whose backend did not report them, from what is remembered and
    /// one scan for the inodes not looked up before.
    fn find_owners(&mut self, sockets: &mut [Socket], scope: Scope) {
        let current: HashSet<u32> = sockets
            .iter()
            .filter(|s| s.inode != 0 && s.pids.is_empty())
            .map(|s| s.inode)
            .collect();
        self.owners.retain(|inode, _| current.contains(inode));
        self.looked.retain(|inode| current.contains(inode));
        let new: Vec<u32> = current
            .iter()
            .copied()
            .filter(|i| !self.looked.contains(i))
            .collect();
        if !new.is_empty() {
            // After the first look only a few new inodes are sought: stop once they are found.
            let scope = match scope {
                Scope::All { stop_early } => Scope::All {
                    stop_early: stop_early || !self.looked.is_empty(),
                },
                pid => pid,
            };
            let found = self.host.owners(&new, scope);
            self.unreadable = found.unreadable;
            self.looked.extend(new);
            self.owners.extend(found.by_inode);
        }
        for socket in sockets.iter_mut().filter(|s| s.pids.is_empty()) {
            if let Some(pids) = self.owners.get(&socket.inode) {
                socket.pids = pids.clone();
            }
        }
    }

    /// The owner filters, users and the rest of an inventory around collected sockets.
    fn finish(
        &self,
        query: &Query,
        mut sockets: Vec<Socket>,
        processes: HashMap<u32, Process>,
        notes: Vec<String>,
    ) -> Inventory {
        sockets.retain(|s| query.matches_owner(s, |pid| processes.get(&pid)));
        let uids: BTreeSet<u32> = sockets
            .iter()
            .filter(|s| s.inode != 0)
            .map(|s| s.uid)
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
            processes,
            users,
            owners_looked_up: query.owners != OwnerLookup::Skip,
            unreadable_processes: self.unreadable,
            notes,
            places: Default::default(),
        }
    }
}

fn scope(lookup: OwnerLookup) -> Option<Scope> {
    match lookup {
        OwnerLookup::Skip => None,
        OwnerLookup::Scan { stop_early } => Some(Scope::All { stop_early }),
        OwnerLookup::Pid(pid) => Some(Scope::Pid(pid)),
    }
}

#[cfg(test)]
mod tests;
