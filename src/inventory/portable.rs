//! macOS and Windows: netstat2 for the table and its owning pids. Queues, uid, inode, timers
//! and IPV6_V6ONLY are not available there and are reported as zero or unknown.

use anyhow::{Context, Result};
use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo};

use super::Collected;
use crate::model::{Endpoint, Family, Proto, Socket, TcpState};
use crate::query::{OwnerLookup, Query};

pub fn collect_sockets(query: &Query) -> Result<Collected> {
    let mut families = AddressFamilyFlags::empty();
    for family in &query.families {
        families |= match family {
            Family::Ipv4 => AddressFamilyFlags::IPV4,
            Family::Ipv6 => AddressFamilyFlags::IPV6,
        };
    }
    let mut protos = ProtocolFlags::empty();
    for proto in &query.protos {
        protos |= match proto {
            Proto::Tcp => ProtocolFlags::TCP,
            Proto::Udp => ProtocolFlags::UDP,
        };
    }
    let infos = netstat2::get_sockets_info(families, protos).context("listing sockets")?;
    let keep_pids = query.owners != OwnerLookup::Skip;
    let sockets = infos
        .into_iter()
        .filter_map(|info| to_socket(info, keep_pids))
        .filter(|s| query.matches_kernel_fields(s))
        .collect();
    Ok(Collected {
        sockets,
        unreadable: 0,
        notes: Vec::new(),
    })
}

fn to_socket(info: SocketInfo, keep_pids: bool) -> Option<Socket> {
    let (proto, local, remote, state) = match &info.protocol_socket_info {
        ProtocolSocketInfo::Tcp(tcp) => (
            Proto::Tcp,
            Endpoint {
                ip: tcp.local_addr,
                port: tcp.local_port,
            },
            Endpoint {
                ip: tcp.remote_addr,
                port: tcp.remote_port,
            },
            tcp_state(&tcp.state)?,
        ),
        ProtocolSocketInfo::Udp(udp) => {
            let any = if udp.local_addr.is_ipv4() {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            };
            (
                Proto::Udp,
                Endpoint {
                    ip: udp.local_addr,
                    port: udp.local_port,
                },
                Endpoint { ip: any, port: 0 },
                TcpState::Unconn,
            )
        }
    };
    let mut socket = Socket::new(proto, local, remote, state);
    socket.uid = uid_of(&info);
    socket.inode = inode_of(&info);
    if keep_pids {
        socket.pids = info.associated_pids;
        socket.pids.sort_unstable();
        socket.pids.dedup();
    }
    Some(socket)
}

#[cfg(target_os = "linux")]
fn uid_of(info: &SocketInfo) -> u32 {
    info.uid
}

#[cfg(not(target_os = "linux"))]
fn uid_of(_info: &SocketInfo) -> u32 {
    0
}

#[cfg(target_os = "linux")]
fn inode_of(info: &SocketInfo) -> u32 {
    info.inode
}

/// No inode here; any non-zero value marks "held by a file descriptor" for `Socket::owner`.
#[cfg(not(target_os = "linux"))]
fn inode_of(info: &SocketInfo) -> u32 {
    u32::from(!info.associated_pids.is_empty())
}

fn tcp_state(state: &netstat2::TcpState) -> Option<TcpState> {
    use netstat2::TcpState as N;
    Some(match state {
        N::Closed => TcpState::Close,
        N::Listen => TcpState::Listen,
        N::SynSent => TcpState::SynSent,
        N::SynReceived => TcpState::SynRecv,
        N::Established => TcpState::Established,
        N::FinWait1 => TcpState::FinWait1,
        N::FinWait2 => TcpState::FinWait2,
        N::CloseWait => TcpState::CloseWait,
        N::Closing => TcpState::Closing,
        N::LastAck => TcpState::LastAck,
        N::TimeWait => TcpState::TimeWait,
        N::DeleteTcb | N::Unknown => return None,
    })
}

/// Not read on this platform yet.
pub fn port_range() -> Option<(u16, u16)> {
    None
}

pub fn unprivileged_port_start() -> Option<u16> {
    None
}

pub fn port_settings() -> Option<crate::model::PortSettings> {
    None
}

/// No destroy notifications here: watching relies on polling alone.
pub fn destroy_feed(_protos: &[crate::model::Proto]) -> Option<super::DestroyFeed> {
    None
}

/// Nothing is remembered between collections here: each is complete.
#[derive(Debug, Default)]
pub struct Memory;
