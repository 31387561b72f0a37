//! Collection: `collect(&Query) -> Inventory`, with the platform's backend chosen here.

#[cfg(target_os = "linux")]
mod kernel;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub mod netlink;
#[cfg(any(not(target_os = "linux"), test))]
pub mod portable;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(target_os = "linux")]
mod procnet;
pub mod users;

#[cfg(target_os = "linux")]
pub use kernel::{port_range, port_settings, unprivileged_port_start};
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(target_os = "linux")]
pub use linux::Memory;
#[cfg(not(target_os = "linux"))]
use portable as platform;
#[cfg(not(target_os = "linux"))]
pub use portable::Memory;
#[cfg(not(target_os = "linux"))]
pub use portable::{port_range, port_settings, unprivileged_port_start};

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;

use anyhow::Result;

use crate::model::{Family, Inventory, Process, Proto, Socket};
use crate::process;
use crate::query::{OwnerLookup, Query};

/// What a backend hands back: the sockets that pass the kernel-field filters, owners filled in
/// when the query wants them.
pub struct Collected {
    pub sockets: Vec<Socket>,
    /// Processes whose descriptors could not be read.
    pub unreadable: usize,
    /// Things the user should know about how the table was read.
    pub notes: Vec<String>,
}

/// Sockets the kernel destroyed since the last call (empty when none).
pub type DestroyFeed = Box<dyn FnMut() -> Vec<Socket>>;

/// Subscribes to the kernel's socket-destroy notifications where it offers them (Linux,
/// CAP_NET_ADMIN); None elsewhere.
pub fn destroy_feed(protos: &[Proto]) -> Option<DestroyFeed> {
    platform::destroy_feed(protos)
}

/// Collects the sockets the query asks for, with their processes and users.
pub fn collect(query: &Query) -> Result<Inventory> {
    let collected = platform::collect_sockets(query)?;
    let pids = owning_pids(&collected);
    let processes = process::describe(&pids.into_iter().collect::<Vec<_>>());
    Ok(finish(query, collected, processes))
}

/// `collect` for a caller that asks again and again, remembering what it learnt.
#[cfg(target_os = "linux")]
pub fn collect_again(query: &Query, memory: &mut Memory) -> Result<Inventory> {
    let collected = linux::collect_remembering(query, memory)?;
    let pids = owning_pids(&collected);
    memory.processes.retain(|pid, _| pids.contains(pid));
    let new: Vec<u32> = pids
        .into_iter()
        .filter(|p| !memory.processes.contains_key(p))
        .collect();
    memory.processes.extend(process::describe(&new));
    Ok(finish(query, collected, memory.processes.clone()))
}

/// Elsewhere every refresh is a full collection.
#[cfg(not(target_os = "linux"))]
pub fn collect_again(query: &Query, _memory: &mut Memory) -> Result<Inventory> {
    collect(query)
}

fn owning_pids(collected: &Collected) -> BTreeSet<u32> {
    collected
        .sockets
        .iter()
        .flat_map(|s| s.pids.iter().copied())
        .collect()
}

/// The owner filters, users and the rest of an inventory around collected sockets.
fn finish(query: &Query, collected: Collected, processes: HashMap<u32, Process>) -> Inventory {
    let Collected {
        mut sockets,
        unreadable,
        notes,
    } = collected;
    sockets.retain(|s| query.matches_owner(s, |pid| processes.get(&pid).map(|p| p.name.as_str())));
    let uids: BTreeSet<u32> = sockets
        .iter()
        .filter(|s| s.inode != 0)
        .map(|s| s.uid)
        .collect();
    Inventory {
        sockets,
        processes,
        users: process::user_names(uids),
        owners_looked_up: query.owners != OwnerLookup::Skip,
        unreadable_processes: unreadable,
        notes,
    }
}

/// The kernel's entry for one connection, found by its 4-tuple, without owners: how a socket
/// is followed after its process closed it (FIN_WAIT2, TIME_WAIT, LAST_ACK).
pub fn find_socket(proto: Proto, local: SocketAddr, remote: SocketAddr) -> Result<Option<Socket>> {
    let query = Query {
        protos: vec![proto],
        families: vec![if local.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }],
        local_port: Some(local.port()),
        remote_port: Some(remote.port()),
        owners: OwnerLookup::Skip,
        ..Query::everything()
    };
    let found = platform::collect_sockets(&query)?;
    Ok(found
        .sockets
        .into_iter()
        .find(|s| s.local.ip == local.ip() && s.remote.ip == remote.ip()))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::collections::BTreeSet;
    use std::net::{TcpListener, TcpStream, UdpSocket};

    use super::*;
    use crate::model::{Proto, TcpState};

    type Key = (Proto, String, String, TcpState, Vec<u32>);

    /// This process's sockets as a backend sees them.
    fn mine(collected: Collected) -> BTreeSet<Key> {
        let me = std::process::id();
        collected
            .sockets
            .into_iter()
            .filter(|s| s.pids.contains(&me))
            .map(|s| {
                let local = format!("{}:{}", s.local.ip, s.local.port);
                let remote = format!("{}:{}", s.remote.ip, s.remote.port);
                (s.proto, local, remote, s.state, s.pids)
            })
            .collect()
    }

    #[test]
    fn netlink_and_netstat2_backends_agree() {
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let v6 = TcpListener::bind("[::1]:0").unwrap();
        let client = TcpStream::connect(v4.local_addr().unwrap()).unwrap();
        let (server, _) = v4.accept().unwrap();
        let client6 = TcpStream::connect(v6.local_addr().unwrap()).unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp6 = UdpSocket::bind("[::1]:0").unwrap();

        let query = Query::everything();
        let netlink = mine(linux::collect_sockets(&query).unwrap());
        let netstat2 = mine(portable::collect_sockets(&query).unwrap());
        assert_eq!(netlink, netstat2);
        // Ours: 2 listeners, 3 connected ends (the v6 server end waits unaccepted, owned by
        // nobody yet), 2 UDP sockets.
        let ports: BTreeSet<String> = netlink.iter().map(|k| k.1.clone()).collect();
        for socket in [
            v4.local_addr(),
            v6.local_addr(),
            client.local_addr(),
            udp.local_addr(),
        ] {
            let addr = socket.unwrap();
            assert!(
                ports.contains(&format!("{}:{}", addr.ip(), addr.port())),
                "{addr} missing"
            );
        }
        assert_eq!(netlink.len(), 7, "{netlink:#?}");
        drop((server, client6, udp6));
    }
}
