//! `lifecycle --packets` (Linux, root): the lab moves into a private network namespace and
//! reads every TCP segment on its loopback with an AF_PACKET socket.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::model::{Captured, Segment};

/// PACKET_OUTGOING: loopback shows each segment leaving and arriving; keep the arrival.
const PACKET_OUTGOING: u8 = 4;

/// The capture's receive buffer: a step's segments wait there until the step ends, and the
/// lab's send() step fills a window of megabytes in 64 KB loopback segments (each counted
/// at its full size), so the default 208 KB held about one segment in twenty.
const CAPTURE_BUFFER: libc::c_int = 256 << 20;

pub struct Capture {
    socket: OwnedFd,
    /// The first sequence number seen from each endpoint: numbers are shown relative to it.
    isn: HashMap<SocketAddr, u32>,
}

impl Capture {
    /// Enters a new network namespace with its loopback up, and starts capturing there.
    pub fn start() -> io::Result<Capture> {
        // SAFETY: plain system calls on values owned here.
        unsafe {
            if libc::unshare(libc::CLONE_NEWNET) != 0 {
                return Err(io::Error::last_os_error());
            }
            loopback_up()?;
            let fd = libc::socket(
                libc::AF_PACKET,
                libc::SOCK_DGRAM | libc::SOCK_NONBLOCK,
                (libc::ETH_P_IP as u16).to_be() as i32,
            );
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            let socket = OwnedFd::from_raw_fd(fd);
            // Loopback would queue each segment twice, leaving and arriving: only arrivals.
            set_int(&socket, libc::SOL_PACKET, libc::PACKET_IGNORE_OUTGOING, 1)?;
            // SO_RCVBUFFORCE (root) passes net.core.rmem_max; the kernel doubles the value.
            set_int(
                &socket,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                CAPTURE_BUFFER / 2,
            )?;
            Ok(Capture {
                socket,
                isn: HashMap::new(),
            })
        }
    }

    /// Segments the kernel dropped from the capture since the last call (PACKET_STATISTICS,
    /// which resets on each read).
    fn dropped(&self) -> usize {
        let mut stats = libc::tpacket_stats {
            tp_packets: 0,
            tp_drops: 0,
        };
        let mut len = std::mem::size_of::<libc::tpacket_stats>() as libc::socklen_t;
        // SAFETY: a tpacket_stats and its length, as PACKET_STATISTICS fills.
        let rc = unsafe {
            libc::getsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats).cast(),
                &mut len,
            )
        };
        if rc == 0 {
            stats.tp_drops as usize
        } else {
            0
        }
    }

    /// The segments captured since the last call, in order, addresses named by `name`, and
    /// how many more the kernel dropped from the capture.
    pub fn take(&mut self, name: &dyn Fn(SocketAddr) -> &'static str) -> Captured {
        let mut segments = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            // SAFETY: a zeroed sockaddr_ll and a buffer of the length passed.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            let n = unsafe {
                libc::recvfrom(
                    self.socket.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut len,
                )
            };
            let Ok(n) = usize::try_from(n) else { break };
            if from.sll_pkttype == PACKET_OUTGOING {
                continue;
            }
            if let Some(segment) = self.parse(&buf[..n], name) {
                segments.push(segment);
            }
        }
        Captured {
            segments: compact(segments),
            not_shown: self.dropped(),
        }
    }

    /// An IPv4 packet carrying TCP, as a segment.
    fn parse(
        &mut self,
        packet: &[u8],
        name: &dyn Fn(SocketAddr) -> &'static str,
    ) -> Option<Segment> {
        let ihl = usize::from(packet.first()? & 0x0f) * 4;
        if packet.get(9) != Some(&6) {
            return None;
        }
        let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
        let tcp = packet.get(ihl..total.min(packet.len()))?;
        let be16 = |i: usize| Some(u16::from_be_bytes([*tcp.get(i)?, *tcp.get(i + 1)?]));
        let be32 = |i: usize| Some(u32::from_be_bytes(tcp.get(i..i + 4)?.try_into().ok()?));
        let ip = |at: usize| {
            Some(Ipv4Addr::new(
                *packet.get(at)?,
                *packet.get(at + 1)?,
                *packet.get(at + 2)?,
                *packet.get(at + 3)?,
            ))
        };
        let src = SocketAddr::V4(SocketAddrV4::new(ip(12)?, be16(0)?));
        let dst = SocketAddr::V4(SocketAddrV4::new(ip(16)?, be16(2)?));
        let (seq, ack) = (be32(4)?, be32(8)?);
        let offset = usize::from(tcp.get(12)? >> 4) * 4;
        let flags = *tcp.get(13)?;
        let names = [
            (0x02, "SYN"),
            (0x10, "ACK"),
            (0x08, "PSH"),
            (0x01, "FIN"),
            (0x04, "RST"),
        ];
        let shown: Vec<&str> = names
            .iter()
            .filter(|(bit, _)| flags & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        let isn = *self.isn.entry(src).or_insert(seq);
        let ack_rel = (flags & 0x10 != 0).then(|| {
            self.isn
                .get(&dst)
                .map_or(ack, |peer| ack.wrapping_sub(*peer))
        });
        Some(Segment {
            from: name(src),
            to: name(dst),
            flags: shown.join(","),
            seq: seq.wrapping_sub(isn),
            ack: ack_rel,
            len: tcp.len().saturating_sub(offset),
            count: 1,
        })
    }
}

/// Runs of data segments (or of bare ACKs) in one direction become one line.
fn compact(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for s in segments {
        let plain = |x: &Segment| matches!(x.flags.as_str(), "ACK" | "ACK,PSH");
        if let Some(last) = out.last_mut()
            && last.from == s.from
            && plain(last)
            && plain(&s)
            && (last.len > 0) == (s.len > 0)
        {
            last.count += 1;
            last.len += s.len;
            last.ack = s.ack;
            continue;
        }
        out.push(s);
    }
    out
}

/// An integer socket option.
fn set_int(
    socket: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: an int and its length, as integer options take.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// ifconfig lo up: a new namespace's loopback starts down.
unsafe fn loopback_up() -> io::Result<()> {
    // SAFETY (caller): plain socket and ioctl calls on a zeroed ifreq naming "lo".
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = OwnedFd::from_raw_fd(fd);
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        request.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
        if libc::ioctl(fd.as_raw_fd(), libc::SIOCSIFFLAGS, &request) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}
