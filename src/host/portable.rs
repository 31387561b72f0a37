//! macOS and Windows: netstat2 for the table and its owning pids. Queues, uid, inode, timers
//! and IPV6_V6ONLY are not available there and are reported as zero or unknown.

use anyhow::{Context, Result, bail};
use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo, SocketInfo};

use super::{DestroyFeed, Host, Owners, Scope, Table};
use crate::model::{Endpoint, Family, PortSettings, Proto, Socket, TcpState};
use crate::query::{OwnerLookup, Query};

/// netstat2 reports owners with the table, so `owners` has nothing left to find.
pub struct PortableHost;

impl Host for PortableHost {
    fn sockets(&self, query: &Query) -> Result<Table> {
        if query.unix {
            bail!("Unix domain sockets are listed on Linux only");
        }
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
        Ok(Table {
            sockets: infos
                .into_iter()
                .filter_map(|info| to_socket(info, keep_pids))
                .collect(),
            unix: Vec::new(),
            notes: Vec::new(),
        })
    }

    fn owners(&self, _inodes: &[u32], _scope: Scope) -> Owners {
        Owners::default()
    }

    /// Not read on this platform yet.
    fn port_settings(&self) -> Result<PortSettings> {
        bail!("the ephemeral port settings are read on Linux only")
    }

    /// No destroy notifications here: watching relies on polling alone.
    fn destroy_feed(&self, _protos: &[Proto]) -> Option<DestroyFeed> {
        None
    }
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
    socket.inode = inode_of(&info);
    if keep_pids {
        socket.pids = info.associated_pids;
        socket.pids.sort_unstable();
        socket.pids.dedup();
    }
    Some(socket)
}

/// No inode here; any non-zero value marks "held by a file descriptor" for `Socket::owner`.
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
