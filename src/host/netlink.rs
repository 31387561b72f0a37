//! The kernel's socket table through NETLINK_SOCK_DIAG (what `ss` reads): exact queues, uid,
//! inode and timers, with the state filter applied by the kernel.

use std::collections::HashMap;
use std::io;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NlasIterator,
    Parseable,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{
    AF_INET, AF_INET6, INET_DIAG_SKV6ONLY, IPPROTO_TCP, IPPROTO_UDP, SOCK_DIAG_BY_FAMILY,
};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponseHeader, SocketId, StateFlags,
};
use netlink_sys::{Socket as NetlinkSocket, protocols::NETLINK_SOCK_DIAG};

use super::port_filter::PortFilter;
use crate::model::{Endpoint, Family, Proto, Socket, TcpState, Timer, TimerKind, is_link_local};

/// Size of struct inet_diag_msg; attributes follow it.
const INET_DIAG_MSG_LEN: usize = 72;
/// Offset of `idiag_expires` in struct inet_diag_msg. The crate drops it for TIME_WAIT
/// sockets, whose remaining time people want to see, so it is read here.
const EXPIRES_OFFSET: usize = 52;

/// An open sock_diag socket; one serves every dump of a collection.
pub struct Diag {
    socket: NetlinkSocket,
    buffer: Vec<u8>,
    sequence: u32,
    interfaces: HashMap<u32, Option<String>>,
}

impl Diag {
    pub fn open() -> io::Result<Diag> {
        let mut socket = NetlinkSocket::new(NETLINK_SOCK_DIAG)?;
        socket.bind_auto()?;
        Ok(Diag {
            socket,
            buffer: Vec::with_capacity(64 * 1024),
            sequence: 0,
            interfaces: HashMap::new(),
        })
    }

    /// A socket subscribed to the kernel's notifications of destroyed sockets of one protocol
    /// (IPv4 and IPv6). Needs CAP_NET_ADMIN.
    pub fn destroyed(proto: Proto) -> io::Result<Diag> {
        // SKNLGRP_INET_TCP_DESTROY 1, _UDP_ 2, SKNLGRP_INET6_TCP_DESTROY 3, _UDP_ 4.
        let groups = match proto {
            Proto::Tcp => [1, 3],
            Proto::Udp => [2, 4],
        };
        let diag = Diag::open()?;
        for group in groups {
            diag.socket.add_membership(group)?;
        }
        diag.socket.set_non_blocking(true)?;
        Ok(diag)
    }

    /// Appends the notifications waiting on a `destroyed` socket; returns at once.
    pub fn drain(&mut self, proto: Proto, out: &mut Vec<Socket>) -> io::Result<()> {
        loop {
            self.buffer.clear();
            match self.socket.recv(&mut self.buffer, 0) {
                // Notifications carry sequence number 0, which a never-used Diag expects.
                Ok(_) => {
                    self.parse_batch(proto, out)?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // The kernel dropped notifications it could not queue; keep going.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends every socket of one family and protocol whose state is in `state_mask` and
    /// whose ports pass `ports` (both tests run in the kernel).
    pub fn dump(
        &mut self,
        family: Family,
        proto: Proto,
        state_mask: u32,
        ports: &PortFilter,
        out: &mut Vec<Socket>,
    ) -> io::Result<()> {
        self.sequence += 1;
        self.send_request(family, proto, state_mask, ports)?;
        loop {
            self.buffer.clear();
            self.socket.recv(&mut self.buffer, 0)?;
            if self.parse_batch(proto, out)? {
                return Ok(());
            }
        }
    }

    fn send_request(
        &self,
        family: Family,
        proto: Proto,
        state_mask: u32,
        ports: &PortFilter,
    ) -> io::Result<()> {
        let (family, socket_id) = match family {
            Family::Ipv4 => (AF_INET, SocketId::new_v4()),
            Family::Ipv6 => (AF_INET6, SocketId::new_v6()),
        };
        let protocol = match proto {
            Proto::Tcp => IPPROTO_TCP,
            Proto::Udp => IPPROTO_UDP,
        };
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        header.sequence_number = self.sequence;
        let request = SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::from_bits_truncate(state_mask),
            socket_id,
        });
        let mut message = NetlinkMessage::new(header, request.into());
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        ports.append_to(&mut bytes);
        self.socket.send(&bytes, 0)?;
        Ok(())
    }

    /// Parses one datagram of the dump; true when the dump is complete.
    fn parse_batch(&mut self, proto: Proto, out: &mut Vec<Socket>) -> io::Result<bool> {
        let mut offset = 0;
        let buffer = std::mem::take(&mut self.buffer);
        let result = loop {
            if offset >= buffer.len() {
                break Ok(false);
            }
            let message = match NetlinkBuffer::new_checked(&buffer[offset..]) {
                Ok(message) => message,
                Err(e) => break Err(invalid(format!("bad netlink message: {e}"))),
            };
            let length = message.length() as usize;
            if message.sequence_number() == self.sequence {
                match i32::from(message.message_type()) {
                    // A dump that failed part-way ends with a negative errno in NLMSG_DONE.
                    libc::NLMSG_DONE => match error_code(message.payload()) {
                        Some(code) if code < 0 => break Err(io::Error::from_raw_os_error(-code)),
                        _ => break Ok(true),
                    },
                    libc::NLMSG_ERROR => break Err(error_of(message.payload())),
                    _ if message.message_type() == SOCK_DIAG_BY_FAMILY => {
                        if let Some(socket) = self.parse_socket(proto, message.payload()) {
                            out.push(socket);
                        }
                    }
                    _ => {}
                }
            }
            offset += (length + 3) & !3;
        };
        self.buffer = buffer;
        result
    }

    fn parse_socket(&mut self, proto: Proto, payload: &[u8]) -> Option<Socket> {
        let header = InetResponseHeader::parse(payload).ok()?;
        let state = TcpState::from_kernel(proto, header.state)?;
        let id = &header.socket_id;
        let v6only = id
            .source_address
            .is_ipv6()
            .then(|| v6only(payload))
            .flatten();
        let scoped = is_link_local(&id.source_address) || is_link_local(&id.destination_address);
        let iface = if id.interface_id != 0 && scoped {
            self.interface_name(id.interface_id)
        } else {
            None
        };
        let local = Endpoint {
            ip: id.source_address,
            port: id.source_port,
        };
        let remote = Endpoint {
            ip: id.destination_address,
            port: id.destination_port,
        };
        let mut socket = Socket::new(proto, local, remote, state);
        socket.recv_q = header.recv_queue;
        socket.send_q = header.send_queue;
        socket.uid = header.uid;
        socket.inode = header.inode;
        socket.v6only = v6only;
        socket.iface = iface;
        socket.timer = timer(payload);
        Some(socket)
    }

    fn interface_name(&mut self, index: u32) -> Option<String> {
        self.interfaces
            .entry(index)
            .or_insert_with(|| interface_name(index))
            .clone()
    }
}

fn timer(payload: &[u8]) -> Option<Timer> {
    let kind = match payload.get(2)? {
        1 => TimerKind::Retransmit,
        2 => TimerKind::KeepAlive,
        3 => TimerKind::TimeWait,
        4 => TimerKind::ZeroWindowProbe,
        _ => return None,
    };
    let expires = payload.get(EXPIRES_OFFSET..EXPIRES_OFFSET + 4)?;
    let expires_ms = u32::from_ne_bytes(expires.try_into().ok()?);
    // idiag_retrans, the byte after idiag_timer.
    let retransmits = *payload.get(3)?;
    Some(Timer {
        kind,
        expires_ms,
        retransmits,
    })
}

/// INET_DIAG_SKV6ONLY; the kernel sends it for every full IPv6 socket.
fn v6only(payload: &[u8]) -> Option<bool> {
    let attributes = payload.get(INET_DIAG_MSG_LEN..)?;
    NlasIterator::new(attributes)
        .filter_map(Result::ok)
        .find(|nla| nla.kind() == INET_DIAG_SKV6ONLY)
        .and_then(|nla| nla.value().first().map(|v| *v != 0))
}

fn interface_name(index: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` holds IF_NAMESIZE bytes, as if_indextoname requires.
    let found = unsafe { libc::if_indextoname(index, name.as_mut_ptr()) };
    if found.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `name`.
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

fn error_code(payload: &[u8]) -> Option<i32> {
    payload.get(..4)?.try_into().ok().map(i32::from_ne_bytes)
}

/// The errno in an NLMSG_ERROR payload (a negative int, then the request).
fn error_of(payload: &[u8]) -> io::Error {
    match error_code(payload) {
        Some(code) => io::Error::from_raw_os_error(-code),
        None => invalid("truncated netlink error".to_string()),
    }
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}
