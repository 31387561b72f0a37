//! Linux: sock_diag for the table (falling back to /proc/net per table when the kernel cannot
//! answer), then /proc/*/fd for the owners of the sockets that survived the filters.

use anyhow::{Context, Result};

use super::Collected;
use super::netlink::{Diag, PortFilter};
use super::procfs::{self, Scope};
use super::procnet;
use crate::model::{Family, Proto, Socket};
use crate::query::{OwnerLookup, Query};

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
