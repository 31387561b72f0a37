//! The text of one socket's cells, shared by every text renderer.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{Endpoint, Inventory, Owner, Socket, TcpState, UnixSocket, is_link_local};
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
    match ip {
        // The common case, written digit by digit: a table of 20,000 rows formats 80,000
        // addresses (measured, then printed), and the formatting machinery showed in profiles.
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                number(u32::from(octet), out);
            }
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
    if let Some(name) = iface.filter(|_| is_link_local(ip)) {
        out.push('%');
        // Interface names are chosen by whoever made the interface.
        escape_into(name, out);
    }
}

/// `512 B`, `1.2 MiB` (then `suffix`: `/s` for a rate), in powers of 1024 as ss and free do.
pub fn binary_size(value: f64, suffix: &str, out: &mut String) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut value, mut unit) = (value, 0);
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let _ = match unit {
        0 => write!(out, "{value:.0} B{suffix}"),
        _ => write!(out, "{value:.1} {}{suffix}", UNITS[unit]),
    };
}

/// A number in decimal, without the formatting machinery.
pub fn number(n: u32, out: &mut String) {
    long_number(u64::from(n), out);
}

pub fn long_number(n: u64, out: &mut String) {
    // Digit by digit: checking the digits are UTF-8 showed in `ls -i`'s profile.
    let mut buf = [0; 20];
    let digits = crate::text::decimal_digits(n, &mut buf);
    out.extend(digits.iter().map(|&d| char::from(d)));
}

/// Marks an IPv4 address on an IPv6 socket (IPv4-mapped, `::ffff:127.0.0.1`) in a column.
pub const MAPPED: char = '^';

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
        number(u32::from(e.port), out);
    }
}

/// An endpoint in a table column, where width counts: an IPv4-mapped address as the IPv4
/// address it is, marked (`^127.0.0.1:8080`).
pub fn column_endpoint(e: &Endpoint, iface: Option<&str>, out: &mut String) {
    match mapped_v4(&e.ip) {
        Some(v4) => {
            out.push(MAPPED);
            let port = e.port;
            endpoint(
                &Endpoint {
                    ip: v4.into(),
                    port,
                },
                None,
                out,
            );
        }
        None => endpoint(e, iface, out),
    }
}

/// The IPv4 address inside an IPv4-mapped IPv6 one.
pub fn mapped_v4(ip: &IpAddr) -> Option<std::net::Ipv4Addr> {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
        IpAddr::V4(_) => None,
    }
}

/// `812/nginx`, several joined by commas, or why there is no process.
pub fn owner(s: &Socket, inv: &Inventory, out: &mut String) {
    holders(s.owner(inv.owners_looked_up), inv, out);
}

/// `812/nginx,813/nginx`, or the label saying why no process is shown.
pub fn holders(owner: Owner<'_>, inv: &Inventory, out: &mut String) {
    match owner {
        Owner::Processes(pids) => {
            for (i, pid) in pids.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                number(*pid, out);
                out.push('/');
                match inv.processes.get(pid) {
                    Some(p) => escape_into(&p.name, out),
                    None => out.push('?'),
                }
            }
        }
        other => out.push_str(other.label()),
    }
}

/// The holders in about `width` characters: every pid whole, each program name cut to its
/// first characters, or left out when not even one fits; a label (`(closed)`) cut like any
/// text.
pub fn holders_within(owner: Owner<'_>, inv: &Inventory, width: usize, out: &mut String) {
    let Owner::Processes(pids) = owner else {
        let mut whole = String::new();
        holders(owner, inv, &mut whole);
        return super::plain::cut(&whole, width, out);
    };
    let fixed = pids
        .iter()
        .map(|p| p.to_string().len() + 2)
        .sum::<usize>()
        .saturating_sub(1);
    let each = width.saturating_sub(fixed) / pids.len();
    let mut name = String::new();
    for (i, pid) in pids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if each < 2 {
            let _ = write!(out, "{pid}");
            continue;
        }
        let _ = write!(out, "{pid}/");
        name.clear();
        match inv.processes.get(pid) {
            Some(p) => escape_into(&p.name, &mut name),
            None => name.push('?'),
        }
        super::plain::cut(&name, each, out);
    }
}

/// The socket's user; `-` when no file holds it (the kernel reports uid 0 then).
pub fn user(s: &Socket, inv: &Inventory, out: &mut String) {
    let uid = (s.inode != 0).then_some(s.uid);
    user_of(uid, inv, out);
}

fn user_of(uid: Option<u32>, inv: &Inventory, out: &mut String) {
    match uid.and_then(|uid| inv.user_name(uid)) {
        Some(name) => escape_into(name, out),
        None => out.push('-'),
    }
}

/// A Unix socket's name: its path or `@abstract` name, escaped; `*` when unnamed.
pub fn unix_name(s: &UnixSocket, out: &mut String) {
    match &s.path {
        Some(path) => escape_into(path, out),
        None => out.push('*'),
    }
}

/// The other end of a Unix socket: the processes holding the peer (`4242/curl`), or, when
/// none can be named, `*` and the peer's inode as ss shows it; `*` when not connected.
pub fn unix_peer(s: &UnixSocket, inv: &Inventory, out: &mut String) {
    if s.peer_pids.is_empty() {
        out.push('*');
        if s.peer_inode != 0 {
            let _ = write!(out, " {}", s.peer_inode);
        }
    } else {
        holders(Owner::Processes(&s.peer_pids), inv, out);
    }
}

pub fn unix_user(s: &UnixSocket, inv: &Inventory, out: &mut String) {
    user_of(s.uid, inv, out);
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
        TcpState::Bound => Some(Tint::Blue),
        TcpState::Close => None,
    }
}
