//! The fallback when sock_diag cannot answer (a kernel built without inet_diag or udp_diag):
//! the text tables in /proc/net/{tcp,tcp6,udp,udp6}. They lack IPV6_V6ONLY and timers.
//! Read through /proc/thread-self, which shows the reading thread's network namespace.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::{Endpoint, Family, Proto, Socket, TcpState};

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
}
