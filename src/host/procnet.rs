//! The fallback when sock_diag cannot answer (a kernel built without inet_diag, udp_diag or
//! unix_diag): the text tables in /proc/net/{tcp,tcp6,udp,udp6,unix}. They lack IPV6_V6ONLY,
//! timers, bound-only TCP sockets, and for Unix sockets peers, queues and uids. Read through
//! /proc/thread-self, which shows the reading thread's network namespace.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{Endpoint, Family, Proto, Socket, TcpState, UnixSocket, UnixType};

pub fn read(family: Family, proto: Proto, out: &mut Vec<Socket>) -> io::Result<()> {
    let file = match (proto, family) {
        (Proto::Tcp, Family::Ipv4) => "/proc/thread-self/net/tcp",
        (Proto::Tcp, Family::Ipv6) => "/proc/thread-self/net/tcp6",
        (Proto::Udp, Family::Ipv4) => "/proc/thread-self/net/udp",
        (Proto::Udp, Family::Ipv6) => "/proc/thread-self/net/udp6",
    };
    let text = std::fs::read_to_string(file)?;
    // The kernel writes these files a page per read() while sockets come and go, so a socket
    // can appear twice; keep the first.
    let mut seen = HashSet::new();
    out.extend(
        text.lines()
            .skip(1)
            .filter_map(|line| parse_line(proto, line))
            .filter(|s| seen.insert(identity(s))),
    );
    Ok(())
}

/// The Unix sockets in /proc/net/unix whose state is in `states` (bit n = kernel state n).
pub fn read_unix(state_mask: u32, out: &mut Vec<UnixSocket>) -> io::Result<()> {
    let text = std::fs::read("/proc/thread-self/net/unix")?;
    let mut seen = HashSet::new();
    out.extend(
        text.split(|b| *b == b'\n')
            .skip(1)
            .filter_map(parse_unix_line)
            .filter(|s| {
                UnixSocket::kernel_number(s.state).is_some_and(|n| state_mask & 1 << n != 0)
            })
            .filter(|s| seen.insert(s.inode)),
    );
    Ok(())
}

/// `Num: RefCount Protocol Flags Type St Inode [Path]`. The path is printed raw, so one with a
/// newline in it is cut there (unix_diag has no such limit).
fn parse_unix_line(line: &[u8]) -> Option<UnixSocket> {
    let line = String::from_utf8_lossy(line);
    let mut rest = line.trim_start();
    let mut field = || {
        let (word, after) = rest.split_once(' ').unwrap_or((rest, ""));
        rest = after.trim_start();
        Some(word).filter(|w| !w.is_empty())
    };
    let hex = |w: &str| u32::from_str_radix(w, 16).ok();
    let (_slot, _refs, _protocol) = (field()?, field()?, field()?);
    let flags = hex(field()?)?;
    let kind = UnixType::from_kernel(u8::try_from(hex(field()?)?).ok()?)?;
    let connected = hex(field()?)? == 3;
    let inode = field()?.parse().ok()?;
    // __SO_ACCEPTCON marks a listener; SS_CONNECTED a connected socket.
    let state = match (flags & 0x1_0000 != 0, connected) {
        (true, _) => TcpState::Listen,
        (false, true) => TcpState::Established,
        (false, false) => TcpState::Unconn,
    };
    let mut socket = UnixSocket::new(kind, state, inode);
    socket.path = Some(rest.to_string()).filter(|p| !p.is_empty());
    Some(socket)
}

/// A socket with an inode is named by it; the rest (TIME_WAIT, orphans) by their 4-tuple.
fn identity(s: &Socket) -> (u32, Option<(IpAddr, u16, IpAddr, u16)>) {
    match s.inode {
        0 => (
            0,
            Some((s.local.ip, s.local.port, s.remote.ip, s.remote.port)),
        ),
        inode => (inode, None),
    }
}

fn parse_line(proto: Proto, line: &str) -> Option<Socket> {
    let mut fields = line.split_whitespace().skip(1);
    let local = endpoint(fields.next()?)?;
    let remote = endpoint(fields.next()?)?;
    let state = TcpState::from_kernel(proto, u8::from_str_radix(fields.next()?, 16).ok()?)?;
    let (tx, rx) = fields.next()?.split_once(':')?;
    let mut fields = fields.skip(2);
    let uid = fields.next()?.parse().ok()?;
    let inode = fields.nth(1)?.parse().ok()?;
    let mut socket = Socket::new(proto, local, remote, state);
    socket.recv_q = u32::from_str_radix(rx, 16).ok()?;
    socket.send_q = u32::from_str_radix(tx, 16).ok()?;
    socket.uid = uid;
    socket.inode = inode;
    Some(socket)
}

/// `0100007F:1F90` -> 127.0.0.1:8080. The kernel prints each 32-bit word of the address as a
/// host-order integer, so each word's bytes come back with `to_ne_bytes`.
fn endpoint(text: &str) -> Option<Endpoint> {
    let (addr, port) = text.split_once(':')?;
    let words = (0..addr.len() / 8)
        .map(|i| u32::from_str_radix(addr.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<Vec<u32>>>()?;
    let ip = match words.as_slice() {
        [v4] => IpAddr::V4(Ipv4Addr::from(v4.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (chunk, word) in bytes.chunks_exact_mut(4).zip([a, b, c, d]) {
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(Endpoint {
        ip,
        port: u16::from_str_radix(port, 16).ok()?,
    })
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    #[test]
    fn parses_listener_and_v6_lines() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000003 00:00000000 00000000  1000        0 4242 1 0000000000000000 100 0 0 10 0";
        let s = parse_line(Proto::Tcp, line).unwrap();
        assert_eq!(s.local.ip.to_string(), "127.0.0.1");
        assert_eq!(s.local.port, 8080);
        assert_eq!(s.state, TcpState::Listen);
        assert_eq!((s.recv_q, s.send_q, s.uid, s.inode), (3, 0, 1000, 4242));
        let v6 = "   1: 00000000000000000000000001000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   0  0 99 2 0000000000000000 0";
        let s = parse_line(Proto::Udp, v6).unwrap();
        assert_eq!(s.local.ip.to_string(), "::1");
        assert_eq!(s.state, TcpState::Unconn);
    }

    #[test]
    fn parses_unix_lines() {
        let listener =
            b"000000004e8e3a3c: 00000002 00000000 00010000 0001 01 21290 /run/my app.sock";
        let s = parse_unix_line(listener).unwrap();
        assert_eq!(
            (s.kind, s.state, s.inode),
            (UnixType::Stream, TcpState::Listen, 21290)
        );
        assert_eq!(s.path.as_deref(), Some("/run/my app.sock"));
        let client = b"000000003d6f6109: 00000003 00000000 00000000 0005 03  1180";
        let s = parse_unix_line(client).unwrap();
        assert_eq!(
            (s.kind, s.state, s.inode),
            (UnixType::Seqpacket, TcpState::Established, 1180)
        );
        assert_eq!(s.path, None);
        let dgram = b"0000000011111111: 00000002 00000000 00000000 0002 01 77 @abstract";
        let s = parse_unix_line(dgram).unwrap();
        assert_eq!(
            (s.state, s.path.as_deref()),
            (TcpState::Unconn, Some("@abstract"))
        );
    }
}
