//! The kernel's socket table through NETLINK_SOCK_DIAG (what `ss` reads): exact queues, uid,
//! inode and timers, with the state filter applied by the kernel. The request and reply loop
//! serves every family; `unix_diag.rs` builds on it.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer};
use netlink_packet_sock_diag::constants::{
    AF_INET, AF_INET6, AF_UNSPEC, INET_DIAG_SKV6ONLY, IPPROTO_TCP, IPPROTO_UDP, SOCK_DIAG_BY_FAMILY,
};
use netlink_sys::{Socket as NetlinkSocket, protocols::NETLINK_SOCK_DIAG};

use super::port_filter::PortFilter;
use super::tcp_info;
use crate::model::{Endpoint, Family, Proto, Socket, TcpState, Timer, TimerKind, is_link_local};
use crate::query::DetailLevel;

/// Size of struct inet_diag_msg; attributes follow it.
const INET_DIAG_MSG_LEN: usize = 72;
/// Offset of `idiag_expires` in struct inet_diag_msg. The crate drops it for TIME_WAIT
/// sockets, whose remaining time people want to see, so it is read here.
const EXPIRES_OFFSET: usize = 52;

/// The older inet_diag request (struct inet_diag_req), still served: its dump has no family,
/// so one walk of the kernel's TCP hash tables answers for IPv4 and IPv6 at once, where the
/// per-family request walks them twice.
const TCPDIAG_GETSOCK: u16 = 18;

/// SOCK_DESTROY from include/uapi/linux/sock_diag.h: close one socket (`ss -K`).
const SOCK_DESTROY: u16 = 21;

/// An open sock_diag socket; one serves every dump of a collection.
pub struct Diag {
    socket: NetlinkSocket,
    buffer: Vec<u8>,
    sequence: u32,
    interfaces: Interfaces,
}

/// Interface names by index, looked up once per collection.
#[derive(Default)]
pub struct Interfaces(HashMap<u32, Option<String>>);

impl Diag {
    pub fn open() -> io::Result<Diag> {
        let mut socket = NetlinkSocket::new(NETLINK_SOCK_DIAG)?;
        socket.bind_auto()?;
        Ok(Diag {
            socket,
            buffer: Vec::with_capacity(64 * 1024),
            sequence: 0,
            interfaces: Interfaces::default(),
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
                    self.parse_batch(&mut |interfaces, payload| {
                        out.extend(parse_socket(proto, payload, interfaces, false));
                    })?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // The kernel dropped notifications it could not queue; keep going.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Appends every socket of one protocol, of one family or (None, TCP only) both, whose
    /// state is in `state_mask` and whose ports pass `ports` (both tests run in the kernel);
    /// with each socket's `details` as asked.
    pub fn dump(
        &mut self,
        family: Option<Family>,
        proto: Proto,
        state_mask: u32,
        ports: &PortFilter,
        details: DetailLevel,
        out: &mut Vec<Socket>,
    ) -> io::Result<()> {
        let extensions = tcp_info::extensions(details);
        let mut request = inet_request(family, proto, state_mask, extensions);
        ports.append_to(&mut request);
        self.request(request, &mut |interfaces, payload| {
            if let Some(mut socket) =
                parse_socket(proto, payload, interfaces, details != DetailLevel::None)
            {
                // In a dump (not a destroy notice) a TCP socket in TCP_CLOSE is one that is
                // bound and neither listening nor connected (state bit 13, Linux 6.9+).
                if proto == Proto::Tcp && socket.state == TcpState::Close {
                    socket.state = TcpState::Bound;
                }
                out.push(socket);
            }
        })
    }

    /// Closes one socket (SOCK_DESTROY), named by its addresses, ports, interface and cookie
    /// as the dump reported them; the kernel acknowledges or says why not.
    pub fn destroy(&mut self, socket: &Socket) -> io::Result<()> {
        let mut request = header(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK);
        let (family, protocol) = (
            match socket.family {
                Family::Ipv4 => AF_INET,
                Family::Ipv6 => AF_INET6,
            },
            match socket.proto {
                Proto::Tcp => IPPROTO_TCP,
                Proto::Udp => IPPROTO_UDP,
            },
        );
        // struct inet_diag_req_v2: family, protocol, ext, pad, states, then the socket id.
        request.extend_from_slice(&[family, protocol, 0, 0]);
        request.extend_from_slice(&u32::MAX.to_ne_bytes());
        request.extend_from_slice(&socket.local.port.to_be_bytes());
        request.extend_from_slice(&socket.remote.port.to_be_bytes());
        for ip in [socket.local.ip, socket.remote.ip] {
            let mut address = [0u8; 16];
            match ip {
                std::net::IpAddr::V4(v4) => address[..4].copy_from_slice(&v4.octets()),
                std::net::IpAddr::V6(v6) => address.copy_from_slice(&v6.octets()),
            }
            request.extend_from_slice(&address);
        }
        // The socket's interface as the dump named it: a lookup without it misses a socket
        // bound to a device.
        request.extend_from_slice(&socket.bound_if.to_ne_bytes());
        // idiag_cookie is two u32 words, the low one first (as parse_socket reads it).
        request.extend_from_slice(&(socket.cookie as u32).to_ne_bytes());
        request.extend_from_slice(&((socket.cookie >> 32) as u32).to_ne_bytes());
        fix_length(&mut request);
        self.request(request, &mut |_, _| {})
    }

    /// Sends a serialized request (its header's length already set) under a new sequence
    /// number, and hands the payload of every reply to `each` until the dump is complete.
    pub fn request(
        &mut self,
        mut request: Vec<u8>,
        each: &mut dyn FnMut(&mut Interfaces, &[u8]),
    ) -> io::Result<()> {
        self.sequence += 1;
        request[8..12].copy_from_slice(&self.sequence.to_ne_bytes());
        self.socket.send(&request, 0)?;
        loop {
            self.buffer.clear();
            self.socket.recv(&mut self.buffer, 0)?;
            if self.parse_batch(each)? {
                return Ok(());
            }
        }
    }

    /// Parses one datagram of the dump; true when the dump is complete.
    fn parse_batch(&mut self, each: &mut dyn FnMut(&mut Interfaces, &[u8])) -> io::Result<bool> {
        let mut offset = 0;
        let buffer = &self.buffer;
        loop {
            if offset >= buffer.len() {
                return Ok(false);
            }
            let message = NetlinkBuffer::new_checked(&buffer[offset..])
                .map_err(|e| invalid(format!("bad netlink message: {e}")))?;
            let length = message.length() as usize;
            if message.sequence_number() == self.sequence {
                match i32::from(message.message_type()) {
                    // A dump that failed part-way ends with a negative errno in NLMSG_DONE.
                    libc::NLMSG_DONE => {
                        return match error_code(message.payload()) {
                            Some(code) if code < 0 => Err(io::Error::from_raw_os_error(-code)),
                            _ => Ok(true),
                        };
                    }
                    // Error 0 is the acknowledgement of a request that is not a dump.
                    libc::NLMSG_ERROR if error_code(message.payload()) == Some(0) => {
                        return Ok(true);
                    }
                    libc::NLMSG_ERROR => return Err(error_of(message.payload())),
                    _ if matches!(
                        message.message_type(),
                        SOCK_DIAG_BY_FAMILY | TCPDIAG_GETSOCK
                    ) =>
                    {
                        each(&mut self.interfaces, message.payload());
                    }
                    _ => {}
                }
            }
            offset += (length + 3) & !3;
        }
    }
}

/// A netlink header for a dump request of `kind`; the length is fixed by the caller once the
/// payload is appended, the sequence number by `Diag::request`.
pub fn dump_header(kind: u16) -> Vec<u8> {
    header(kind, NLM_F_REQUEST | NLM_F_DUMP)
}

/// A netlink header for a request of `kind` with `flags`, sequence number 0; the caller
/// appends the payload and fixes the length (`fix_length`).
pub fn header(kind: u16, flags: u16) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(128);
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(&kind.to_ne_bytes());
    bytes.extend_from_slice(&flags.to_ne_bytes());
    bytes.extend_from_slice(&[0; 8]);
    bytes
}

/// Sets a serialized message's length to its size.
pub fn fix_length(message: &mut [u8]) {
    let total = message.len() as u32;
    message[..4].copy_from_slice(&total.to_ne_bytes());
}

/// struct inet_diag_req_v2 for one family, or the older struct inet_diag_req (no family:
/// IPv4 and IPv6 in one walk; TCP only, the protocol being its message type). `extensions`
/// is idiag_ext, the attributes wanted with each socket.
fn inet_request(family: Option<Family>, proto: Proto, state_mask: u32, extensions: u8) -> Vec<u8> {
    let (kind, family) = match family {
        None => (TCPDIAG_GETSOCK, AF_UNSPEC),
        Some(Family::Ipv4) => (SOCK_DIAG_BY_FAMILY, AF_INET),
        Some(Family::Ipv6) => (SOCK_DIAG_BY_FAMILY, AF_INET6),
    };
    let protocol = match proto {
        Proto::Tcp => IPPROTO_TCP,
        Proto::Udp => IPPROTO_UDP,
    };
    let mut bytes = dump_header(kind);
    // An all-zero struct inet_diag_sockid: any address, port, interface and cookie.
    let socket_id = [0u8; 48];
    if kind == TCPDIAG_GETSOCK {
        // idiag_family, idiag_src_len, idiag_dst_len, idiag_ext, id, idiag_states, idiag_dbs
        bytes.extend_from_slice(&[family, 0, 0, extensions]);
        bytes.extend_from_slice(&socket_id);
        bytes.extend_from_slice(&state_mask.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
    } else {
        // sdiag_family, sdiag_protocol, idiag_ext, pad, idiag_states, id
        bytes.extend_from_slice(&[family, protocol, extensions, 0]);
        bytes.extend_from_slice(&state_mask.to_ne_bytes());
        bytes.extend_from_slice(&socket_id);
    }
    fix_length(&mut bytes);
    bytes
}

/// One reply: struct inet_diag_msg, read at its fixed offsets (a dump is 20,000 of them a
/// second under `watch`), then its attributes in one walk.
fn parse_socket(
    proto: Proto,
    payload: &[u8],
    interfaces: &mut Interfaces,
    details: bool,
) -> Option<Socket> {
    let header = payload.get(..INET_DIAG_MSG_LEN)?;
    let word = |at: usize| {
        u32::from_ne_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    let port = |at: usize| u16::from_be_bytes([header[at], header[at + 1]]);
    let address = |at: usize| -> Option<IpAddr> {
        match header[0] {
            AF_INET => Some(IpAddr::from(<[u8; 4]>::try_from(&header[at..at + 4]).ok()?)),
            AF_INET6 => Some(IpAddr::from(
                <[u8; 16]>::try_from(&header[at..at + 16]).ok()?,
            )),
            _ => None,
        }
    };
    let state = TcpState::from_kernel(proto, header[1])?;
    // struct inet_diag_sockid at 4: sport, dport, src[4], dst[4], if, cookie[2].
    let local = Endpoint {
        ip: address(8)?,
        port: port(4),
    };
    let remote = Endpoint {
        ip: address(24)?,
        port: port(6),
    };
    let interface_id = word(40);
    let scoped = is_link_local(&local.ip) || is_link_local(&remote.ip);
    let iface = if interface_id != 0 && scoped {
        interfaces.name(interface_id)
    } else {
        None
    };
    let is_ipv6 = local.ip.is_ipv6();
    let mut socket = Socket::new(proto, local, remote, state);
    socket.recv_q = word(56);
    socket.send_q = word(60);
    socket.uid = word(64);
    socket.inode = word(68);
    socket.iface = iface;
    socket.bound_if = interface_id;
    socket.timer = timer(payload);
    socket.cookie = u64::from(word(44)) | u64::from(word(48)) << 32;
    let attributes = &payload[INET_DIAG_MSG_LEN..];
    if is_ipv6 {
        socket.v6only = v6only(attributes);
    }
    if details {
        socket.details = tcp_info::details(attributes);
    }
    Some(socket)
}

impl Interfaces {
    fn name(&mut self, index: u32) -> Option<String> {
        self.0
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
fn v6only(attributes: &[u8]) -> Option<bool> {
    self::attributes(attributes)
        .find(|(kind, _)| *kind == INET_DIAG_SKV6ONLY)
        .and_then(|(_, value)| value.first().map(|v| *v != 0))
}

/// The netlink attributes (type, value) in `bytes`, up to the first malformed one.
pub fn attributes(mut bytes: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    // The type's top two bits are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER).
    const TYPE_MASK: u16 = 0x3fff;
    std::iter::from_fn(move || {
        let header = bytes.get(..4)?;
        let length = usize::from(u16::from_ne_bytes([header[0], header[1]]));
        let kind = u16::from_ne_bytes([header[2], header[3]]) & TYPE_MASK;
        let value = bytes.get(4..length)?;
        bytes = bytes.get(length.next_multiple_of(4)..).unwrap_or_default();
        Some((kind, value))
    })
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

#[cfg(test)]
mod tests {
    use super::attributes;

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut bytes = (4 + value.len() as u16).to_ne_bytes().to_vec();
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(value);
        bytes.resize(bytes.len().next_multiple_of(4), 0);
        bytes
    }

    #[test]
    fn attributes_are_walked_to_the_first_malformed_one() {
        let mut bytes = nla(4, b"cubic\0");
        // NLA_F_NESTED set: the type is the low 14 bits.
        bytes.extend(nla(0x8000 | 7, &[1, 2, 3, 4]));
        bytes.extend(nla(5, &[]));
        // A length past the end: the walk stops there.
        bytes.extend_from_slice(&[200, 0, 9, 0, 1, 2]);
        let found: Vec<(u16, Vec<u8>)> = attributes(&bytes).map(|(k, v)| (k, v.to_vec())).collect();
        assert_eq!(
            found,
            [(4, b"cubic\0".to_vec()), (7, vec![1, 2, 3, 4]), (5, vec![])]
        );
        assert_eq!(attributes(&[2, 0, 1, 0]).count(), 0, "a length under 4");
        assert_eq!(attributes(&[]).count(), 0);
    }

    /// Truncated and garbled replies (any length, any attribute lengths) are dropped or read
    /// in part, never a panic: the fixed offsets are read only after the length check.
    #[test]
    fn garbled_replies_do_not_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut interfaces = super::Interfaces::default();
        for _ in 0..20_000 {
            let len = (next() % 200) as usize;
            let mut payload: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(family) = payload.first_mut() {
                // Mostly the families the parser reads, so that the attributes are reached.
                *family = [super::AF_INET, super::AF_INET6, 0][(next() % 3) as usize];
            }
            if let Some(state) = payload.get_mut(1) {
                *state = (next() % 13) as u8;
            }
            for proto in [super::Proto::Tcp, super::Proto::Udp] {
                let _ = super::parse_socket(proto, &payload, &mut interfaces, true);
            }
        }
    }
}
