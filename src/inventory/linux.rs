//! Linux: sock_diag for the table (falling back to /proc/net per table when the kernel cannot
//! answer), then /proc/*/fd for the owners of the sockets that survived the filters.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result};

use super::Collected;
use super::netlink::{Diag, PortFilter};
use super::procfs::{self, Scope};
use super::procnet;
use crate::model::{Family, Process, Proto, Socket};
use crate::query::{OwnerLookup, Query};

/// What repeated collections (`watch`) remember between refreshes, so that a steady table costs
/// one kernel dump and nothing else: owners of inodes already looked up, processes, users.
#[derive(Debug, Default)]
pub struct Memory {
    pub(super) owners: HashMap<u32, Vec<u32>>,
    /// Inodes looked up already, found or not (an owner that cannot be seen is not sought
    /// again at every refresh).
    pub(super) looked: HashSet<u32>,
    pub(super) processes: HashMap<u32, Process>,
    pub(super) unreadable: usize,
}

/// What the /proc/net tables cannot tell.
const LOSSES: &str = "(no timers or IPv6-only flag there)";

pub fn collect_sockets(query: &Query) -> Result<Collected> {
    let mut notes = Vec::new();
    let mut sockets = Vec::new();
    let mut diag = match Diag::open() {
        Ok(diag) => Some(diag),
        Err(e) => {
            notes.push(format!(
                "cannot open a sock_diag netlink socket ({e}); read /proc/net instead {LOSSES}"
            ));
            None
        }
    };
    let ports = PortFilter {
        local_or_remote: query.any_port,
        local: query.local_port,
        remote: query.remote_port,
    };
    for &family in &query.families {
        for &proto in &query.protos {
            let mask = query.states.kernel_mask(proto);
            if mask == 0 {
                continue;
            }
            let before = sockets.len();
            let dumped = match &mut diag {
                Some(diag) => diag.dump(family, proto, mask, &ports, &mut sockets),
                None => Err(std::io::ErrorKind::Unsupported.into()),
            };
            if let Err(e) = dumped {
                sockets.truncate(before);
                if diag.is_some() {
                    notes.push(fallback_note(family, proto, &e));
                }
                procnet::read(family, proto, &mut sockets).with_context(|| {
                    format!("reading the {} table from /proc/net", table(family, proto))
                })?;
            }
        }
    }
    sockets.retain(|s| query.matches_kernel_fields(s));
    let unreadable = find_owners(&mut sockets, query.owners);
    Ok(Collected {
        sockets,
        unreadable,
        notes,
    })
}

/// The table without owners, then owners only for inodes not looked up before (the scan stops
/// once those are found): what `watch` does every refresh.
pub fn collect_remembering(query: &Query, memory: &mut Memory) -> Result<Collected> {
    let bare = Query {
        owners: OwnerLookup::Skip,
        ..query.clone()
    };
    let mut collected = collect_sockets(&bare)?;
    let scope = match query.owners {
        OwnerLookup::Skip => return Ok(collected),
        OwnerLookup::Pid(pid) => Scope::Pid(pid),
        // After the first look only a few new inodes are sought: stop once they are found.
        OwnerLookup::Scan { stop_early } => Scope::All {
            stop_early: stop_early || !memory.looked.is_empty(),
        },
    };
    let current: HashSet<u32> = collected
        .sockets
        .iter()
        .map(|s| s.inode)
        .filter(|i| *i != 0)
        .collect();
    memory.owners.retain(|inode, _| current.contains(inode));
    memory.looked.retain(|inode| current.contains(inode));
    let new: Vec<u32> = current
        .iter()
        .copied()
        .filter(|i| !memory.looked.contains(i))
        .collect();
    if !new.is_empty() {
        let found = procfs::find_owners(&new, scope);
        memory.unreadable = found.unreadable;
        memory.looked.extend(new);
        memory.owners.extend(found.by_inode);
    }
    for socket in &mut collected.sockets {
        if let Some(pids) = memory.owners.get(&socket.inode) {
            socket.pids = pids.clone();
        }
    }
    collected.unreadable = memory.unreadable;
    Ok(collected)
}

/// Notifications of destroyed sockets, when the kernel lets this process have them (root).
pub fn destroy_feed(protos: &[Proto]) -> Option<super::DestroyFeed> {
    let mut feeds: Vec<(Proto, Diag)> = protos
        .iter()
        .map(|p| Diag::destroyed(*p).map(|d| (*p, d)))
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Box::new(move || {
        let mut out = Vec::new();
        for (proto, diag) in &mut feeds {
            let _ = diag.drain(*proto, &mut out);
        }
        out
    }))
}

/// Fills in `pids`; returns how many processes could not be read.
fn find_owners(sockets: &mut [Socket], lookup: OwnerLookup) -> usize {
    let scope = match lookup {
        OwnerLookup::Skip => return 0,
        OwnerLookup::Scan { stop_early } => Scope::All { stop_early },
        OwnerLookup::Pid(pid) => Scope::Pid(pid),
    };
    let wanted: Vec<u32> = sockets
        .iter()
        .map(|s| s.inode)
        .filter(|i| *i != 0)
        .collect();
    let mut owners = procfs::find_owners(&wanted, scope);
    for socket in sockets.iter_mut() {
        if let Some(pids) = owners.by_inode.remove(&socket.inode) {
            socket.pids = pids;
        }
    }
    owners.unreadable
}

fn table(family: Family, proto: Proto) -> String {
    match family {
        Family::Ipv4 => proto.name().to_string(),
        Family::Ipv6 => format!("{}6", proto.name()),
    }
}

fn fallback_note(family: Family, proto: Proto, error: &std::io::Error) -> String {
    let why = match error.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) => format!(
            "this kernel's sock_diag cannot dump {} sockets (module {}_diag missing?)",
            proto.name(),
            proto.name()
        ),
        _ => format!(
            "sock_diag failed for {} sockets ({error})",
            table(family, proto)
        ),
    };
    format!(
        "{why}; read /proc/net/{} instead {LOSSES}",
        table(family, proto)
    )
}
