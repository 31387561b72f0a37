//! `kill --destroy`: close single TCP or UDP sockets through sock_diag SOCK_DESTROY, as
//! `ss -K` does; their processes live on.

use std::io;
use std::net::SocketAddr;

use anyhow::Result;

use crate::host::Host;
use crate::inventory;
use crate::model::{Inventory, Socket, TcpState};
use crate::ports::PortSet;
use crate::query::{OwnerLookup, Query};

/// The sockets to close: those `query` selects, or with `exact` the one socket whose local
/// and remote addresses are these; every holder looked up.
pub fn select(
    host: &dyn Host,
    query: &Query,
    exact: Option<(SocketAddr, SocketAddr)>,
) -> Result<Inventory> {
    let mut query = Query {
        unix: false,
        owners: OwnerLookup::Complete,
        ..query.clone()
    };
    if let Some((local, remote)) = exact {
        query.local_port = Some(PortSet::one(local.port()));
        query.remote_port = Some(PortSet::one(remote.port()));
    }
    let mut inv = inventory::collect(host, &query)?;
    if let Some((local, remote)) = exact {
        inv.sockets.retain(|s| {
            same_ip(s.local.ip, local.ip()) && same_ip(s.remote.ip, remote.ip())
        });
    }
    Ok(inv)
}

/// An IPv4 address typed for an IPv4 peer of an IPv6 socket (`::ffff:a.b.c.d`) matches.
fn same_ip(listed: std::net::IpAddr, typed: std::net::IpAddr) -> bool {
    listed == typed || listed.to_canonical() == typed.to_canonical()
}

/// What became of one socket.
#[derive(Debug)]
pub enum Closed {
    /// Destroyed: a TCP peer got a reset, the holder's next call fails.
    Reset,
    /// Already gone (closed meanwhile, or its addresses taken by a newer socket).
    Gone,
    /// Only bound (no connection, not listening): the kernel cannot find it to close it.
    Unreachable,
    /// The kernel refused; the same reason holds for every socket after it, so they were
    /// not tried.
    Refused(io::Error),
    NotTried,
    Failed(io::Error),
}

/// Destroys each socket; stops trying at a refusal that would hold for all (privilege, a
/// kernel without the feature).
pub fn destroy(host: &dyn Host, sockets: &[Socket]) -> Vec<Closed> {
    let mut stopped = false;
    sockets
        .iter()
        .map(|s| {
            if stopped {
                return Closed::NotTried;
            }
            match host.destroy(s) {
                Ok(()) => Closed::Reset,
                Err(e) => match e.raw_os_error() {
                    // A bound socket is in no table sock_diag looks a socket up in.
                    Some(libc::ENOENT) if s.state == TcpState::Bound => Closed::Unreachable,
                    Some(libc::ENOENT | libc::ESTALE) => Closed::Gone,
                    Some(libc::EPERM | libc::EACCES | libc::EOPNOTSUPP) => {
                        stopped = true;
                        Closed::Refused(e)
                    }
                    _ if e.kind() == io::ErrorKind::Unsupported => {
                        stopped = true;
                        Closed::Refused(e)
                    }
                    _ => Closed::Failed(e),
                },
            }
        })
        .collect()
}
