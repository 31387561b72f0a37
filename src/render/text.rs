//! The text of one socket's cells, shared by every text renderer.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{Endpoint, Inventory, Owner, Socket, TcpState, is_link_local};
pub use crate::text::{escape_into, escaped};

use super::Tint;

/// `tcp`, `tcp6`, or `tcp46` for an IPv6 wildcard socket that also takes IPv4 (BSD netstat's
/// spelling, explained under the table).
pub fn proto_label(s: &Socket) -> &'static str {
    use crate::model::{Family::*, Proto::*};
    match (s.proto, s.family, s.is_dual_stack()) {
        (Tcp, Ipv6, true) => "tcp46",
        (Udp, Ipv6, true) => "udp46",
        (Tcp, Ipv6, false) => "tcp6",
        (Udp, Ipv6, false) => "udp6",
        (Tcp, Ipv4, _) => "tcp",
        (Udp, Ipv4, _) => "udp",
    }
}

/// An IP as `who` prints it: IPv6 without brackets, `%iface` (escaped) for a link-local one.
pub fn ip(ip: &IpAddr, iface: Option<&str>, out: &mut String) {
    let _ = write!(out, "{ip}");
    if let Some(name) = iface.filter(|_| is_link_local(ip)) {
        out.push('%');
        // Interface names are chosen by whoever made the interface.
        escape_into(name, out);
    }
}

/// `127.0.0.1:8080`, `[::1]:8080`, and `*` for the port of an unconnected peer.
pub fn endpoint(e: &Endpoint, iface: Option<&str>, out: &mut String) {
    let v6 = e.ip.is_ipv6();
    if v6 {
        out.push('[');
    }
    ip(&e.ip, iface, out);
    if v6 {
        out.push(']');
    }
    out.push(':');
    if e.port == 0 {
        out.push('*');
    } else {
        let _ = write!(out, "{}", e.port);
    }
}

/// `812/nginx`, several joined by commas, or why there is no process.
pub fn owner(s: &Socket, inv: &Inventory, out: &mut String) {
    match s.owner(inv.owners_looked_up) {
        Owner::Processes(pids) => {
            for (i, pid) in pids.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{pid}/");
                match inv.processes.get(pid) {
                    Some(p) => escape_into(&p.name, out),
                    None => out.push('?'),
                }
            }
        }
        other => out.push_str(other.label()),
    }
}

/// The socket's user; `-` when no file holds it (the kernel reports uid 0 then).
pub fn user(s: &Socket, inv: &Inventory, out: &mut String) {
    match inv.user_name(s.uid) {
        Some(name) if s.inode != 0 => escape_into(name, out),
        _ => out.push('-'),
    }
}

pub fn state_tint(state: TcpState) -> Option<Tint> {
    match state {
        TcpState::Listen | TcpState::Unconn => Some(Tint::Green),
        TcpState::Established => Some(Tint::Cyan),
        TcpState::SynSent | TcpState::SynRecv => Some(Tint::Magenta),
        TcpState::CloseWait => Some(Tint::Red),
        TcpState::TimeWait => Some(Tint::Dim),
        TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck => {
            Some(Tint::Yellow)
        }
        TcpState::Close => None,
    }
}
