//! `portscope kill`: free a port by signalling every process holding it, or close single
//! connections (`destroy`). `plan` builds the one target list that a dry run shows and a real
//! run signals; `run::execute` signals through pidfds and waits for the port to be free.

pub mod destroy;
pub mod run;
pub mod signal;

use std::collections::{BTreeMap, HashSet};

use anyhow::Result;

use crate::host::{Host, Scope, Vitals};
use crate::inventory;
use crate::model::{Inventory, Process};
use crate::ports::PortSet;
use crate::query::{OwnerLookup, Query};

/// Every holder of the sockets on the asked ports, and what stands in the way.
#[derive(Debug, Default)]
pub struct Plan {
    /// The sockets on the ports, with every holder (`who`'s lookup).
    pub inventory: Inventory,
    /// One per holding process, by pid.
    pub targets: Vec<Target>,
    /// Sockets that have, or may have, holders out of sight: no holder could be seen, or the
    /// socket is another user's and some processes could not be read (an unprivileged user
    /// sees its own nginx workers, not the root master holding the same listener).
    pub unseen: usize,
}

/// A process holding at least one of the sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub pid: u32,
    /// Name, user and command line; None when it exited before it could be described.
    pub process: Option<Process>,
    /// Its start time (its identity with the pid) and kind; None when it is gone already.
    pub vitals: Option<Vitals>,
    /// Why it must not be signalled, if it must not.
    pub refusal: Option<Refusal>,
    /// Indexes of the sockets it holds in the plan's inventory.
    pub sockets: Vec<usize>,
}

/// Processes `kill` never signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// pid 1: the init system (a socket-activated service's listener is held by it).
    Init,
    /// portscope itself.
    Itself,
    /// The shell (or terminal, or session) that started portscope.
    Ancestor,
    KernelThread,
}

impl Plan {
    /// Nothing holds the ports: no process, none out of sight.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.unseen == 0
    }
}

/// The target list: every socket on a local port of `ports` that `query` (protocols,
/// families, states) admits, with every holder, each holder checked once. The dry run and the
/// real run both call this, so they list the same processes.
pub fn plan(host: &dyn Host, query: &Query, ports: &PortSet) -> Result<Plan> {
    let on_ports = Query {
        local_port: Some(ports.clone()),
        owners: OwnerLookup::Complete,
        ..query.clone()
    };
    let inv = inventory::collect(host, &on_ports)?;
    let mut holders: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, s) in inv.sockets.iter().enumerate() {
        for pid in &s.pids {
            holders.entry(*pid).or_default().push(i);
        }
    }
    let me = std::process::id();
    let ancestors = ancestors(host, me);
    let targets = holders
        .into_iter()
        .map(|(pid, sockets)| {
            let inodes: Vec<u32> = sockets.iter().map(|i| inv.sockets[*i].inode).collect();
            // Read after the scan: confirmed by the process still holding the sockets, the
            // start time is the holder's, not that of a process given its pid since.
            let vitals = host
                .vitals(pid)
                .filter(|_| !host.owners(&inodes, Scope::Pid(pid)).by_inode.is_empty());
            let refusal = refusal(pid, vitals, me, &ancestors);
            Target {
                pid,
                process: inv.processes.get(&pid).cloned(),
                vitals,
                refusal,
                sockets,
            }
        })
        .collect();
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let partial = inv.unreadable_processes > 0;
    let unseen = inv
        .sockets
        .iter()
        .filter(|s| s.inode != 0 && (s.pids.is_empty() || (partial && s.uid != uid)))
        .count();
    Ok(Plan {
        inventory: inv,
        targets,
        unseen,
    })
}

/// portscope's parent, its parent, and so on up to pid 1.
fn ancestors(host: &dyn Host, me: u32) -> HashSet<u32> {
    let mut found = HashSet::new();
    let mut pid = me;
    while let Some(v) = host.vitals(pid) {
        if v.parent <= 1 || !found.insert(v.parent) {
            break;
        }
        pid = v.parent;
    }
    found
}

fn refusal(pid: u32, vitals: Option<Vitals>, me: u32, ancestors: &HashSet<u32>) -> Option<Refusal> {
    if pid == 1 {
        Some(Refusal::Init)
    } else if pid == me {
        Some(Refusal::Itself)
    } else if ancestors.contains(&pid) {
        Some(Refusal::Ancestor)
    } else if vitals.is_some_and(|v| v.kernel_thread) {
        Some(Refusal::KernelThread)
    } else {
        None
    }
}

#[cfg(test)]
mod tests;
