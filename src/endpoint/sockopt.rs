//! Socket options socket2 has no helper for, through libc. Platform differences live here.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use crate::model::{Proto, TcpState};
use crate::probe::icmp::Icmp;

#[cfg(target_os = "linux")]
fn set_int(fd: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: u32) -> io::Result<()> {
    // SAFETY: `value` lives across the call and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const u32).cast(),
            std::mem::size_of::<u32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The TCP state of a live socket, from TCP_INFO's tcpi_state.
#[cfg(target_os = "linux")]
pub fn tcp_state(fd: &impl AsRawFd) -> io::Result<TcpState> {
    // SAFETY: tcp_info is plain data; the kernel fills at most `len` bytes of it.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    TcpState::from_kernel(Proto::Tcp, info.tcpi_state)
        .ok_or_else(|| io::Error::other(format!("unknown TCP state {}", info.tcpi_state)))
}

/// IP_BIND_ADDRESS_NO_PORT: bind() takes the address only; the port is chosen at connect(),
/// where it need only be unique per destination.
#[cfg(target_os = "linux")]
pub fn set_bind_address_no_port(fd: &impl AsRawFd) -> io::Result<()> {
    set_int(fd, libc::IPPROTO_IP, libc::IP_BIND_ADDRESS_NO_PORT, 1)
}

/// IP_LOCAL_PORT_RANGE (Linux 6.3): this socket's own ephemeral range, low | high << 16.
#[cfg(target_os = "linux")]
pub fn set_local_port_range(fd: &impl AsRawFd, low: u16, high: u16) -> io::Result<()> {
    const IP_LOCAL_PORT_RANGE: libc::c_int = 51;
    set_int(
        fd,
        libc::IPPROTO_IP,
        IP_LOCAL_PORT_RANGE,
        u32::from(low) | u32::from(high) << 16,
    )
    .map_err(|e| match e.raw_os_error() {
        Some(libc::ENOPROTOOPT) => io::Error::new(
            io::ErrorKind::Unsupported,
            "IP_LOCAL_PORT_RANGE needs Linux 6.3 or later",
        ),
        _ => e,
    })
}

/// IP_RECVERR / IPV6_RECVERR: queue ICMP errors with their type and code, so a probe (TCP in
/// SYN_SENT, or UDP) can tell "port unreachable" (closed) from "administratively prohibited"
/// (filtered).
#[cfg(target_os = "linux")]
pub fn set_recverr(fd: &impl AsRawFd, v6: bool) -> io::Result<()> {
    if v6 {
        set_int(fd, libc::IPPROTO_IPV6, libc::IPV6_RECVERR, 1)
    } else {
        set_int(fd, libc::IPPROTO_IP, libc::IP_RECVERR, 1)
    }
}

/// The oldest ICMP (or ICMPv6) error queued on the socket, with its type, code and sender.
#[cfg(target_os = "linux")]
pub fn icmp_error(fd: &impl AsRawFd) -> Option<Icmp> {
    let mut data = [0u8; 256];
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: msghdr is plain data; the buffers it points at outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: a valid socket and a message header set up above.
    let n = unsafe {
        libc::recvmsg(
            fd.as_raw_fd(),
            &mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return None;
    }
    // SAFETY: the CMSG macros walk the control buffer the kernel filled in, bounded by
    // msg_controllen; the error record and the sender's address after it are read unaligned,
    // within the message's length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            if (level == libc::IPPROTO_IP && kind == libc::IP_RECVERR)
                || (level == libc::IPPROTO_IPV6 && kind == libc::IPV6_RECVERR)
            {
                let record = libc::CMSG_DATA(cmsg);
                let err: libc::sock_extended_err = std::ptr::read_unaligned(record.cast());
                if matches!(
                    err.ee_origin,
                    libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6
                ) {
                    let header = record.offset_from(cmsg.cast::<u8>()) as usize;
                    let room = ((*cmsg).cmsg_len as usize).saturating_sub(header);
                    let after = std::mem::size_of::<libc::sock_extended_err>();
                    return Some(Icmp {
                        v6: err.ee_origin == libc::SO_EE_ORIGIN_ICMP6,
                        kind: err.ee_type,
                        code: err.ee_code,
                        from: offender(record.add(after), room.saturating_sub(after)),
                    });
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    None
}

/// SO_EE_OFFENDER: the address after the error record (family AF_UNSPEC when unknown).
///
/// # Safety
/// `at` points at `room` readable bytes.
#[cfg(target_os = "linux")]
unsafe fn offender(at: *const u8, room: usize) -> Option<std::net::IpAddr> {
    // SAFETY (caller): reads stay within `room` bytes.
    unsafe {
        if room < std::mem::size_of::<libc::sa_family_t>() {
            return None;
        }
        match i32::from(std::ptr::read_unaligned(at.cast::<libc::sa_family_t>())) {
            libc::AF_INET if room >= std::mem::size_of::<libc::sockaddr_in>() => {
                let sin: libc::sockaddr_in = std::ptr::read_unaligned(at.cast());
                Some(std::net::Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)).into())
            }
            libc::AF_INET6 if room >= std::mem::size_of::<libc::sockaddr_in6>() => {
                let sin6: libc::sockaddr_in6 = std::ptr::read_unaligned(at.cast());
                Some(std::net::Ipv6Addr::from(sin6.sin6_addr.s6_addr).into())
            }
            _ => None,
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub fn set_recverr(_fd: &impl AsRawFd, _v6: bool) -> io::Result<()> {
    Ok(())
}

/// Without IP_RECVERR only the errno is known.
#[cfg(not(target_os = "linux"))]
pub fn icmp_error(_fd: &impl AsRawFd) -> Option<Icmp> {
    None
}

/// The socket type for a protocol.
pub fn socket_type(proto: Proto) -> socket2::Type {
    match proto {
        Proto::Tcp => socket2::Type::STREAM,
        Proto::Udp => socket2::Type::DGRAM,
    }
}

/// A socket of `addr`'s family for `proto`; non-blocking in the same system call where the
/// platform has SOCK_NONBLOCK.
pub fn socket(addr: SocketAddr, proto: Proto, nonblocking: bool) -> io::Result<socket2::Socket> {
    let domain = socket2::Domain::for_address(addr);
    let kind = socket_type(proto);
    if !nonblocking {
        return socket2::Socket::new(domain, kind, None);
    }
    new_nonblocking(domain, kind)
}

#[cfg(target_os = "linux")]
fn new_nonblocking(domain: socket2::Domain, kind: socket2::Type) -> io::Result<socket2::Socket> {
    socket2::Socket::new(domain, kind.nonblocking(), None)
}

#[cfg(not(target_os = "linux"))]
fn new_nonblocking(domain: socket2::Domain, kind: socket2::Type) -> io::Result<socket2::Socket> {
    let socket = socket2::Socket::new(domain, kind, None)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

#[cfg(not(target_os = "linux"))]
fn unsupported(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, format!("{what} is Linux-only"))
}

#[cfg(not(target_os = "linux"))]
pub fn tcp_state(_fd: &impl AsRawFd) -> io::Result<TcpState> {
    Err(unsupported("reading the TCP state (TCP_INFO)"))
}

#[cfg(not(target_os = "linux"))]
pub fn set_bind_address_no_port(_fd: &impl AsRawFd) -> io::Result<()> {
    Err(unsupported("IP_BIND_ADDRESS_NO_PORT"))
}

#[cfg(not(target_os = "linux"))]
pub fn set_local_port_range(_fd: &impl AsRawFd, _low: u16, _high: u16) -> io::Result<()> {
    Err(unsupported("IP_LOCAL_PORT_RANGE"))
}
