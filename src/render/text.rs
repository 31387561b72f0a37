//! The text of one socket's cells, shared by every text renderer.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{Endpoint, Inventory, Owner, Process, Socket, TcpState, is_link_local};

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

/// An IP as JSON and `who` print it: IPv6 without brackets, `%iface` for a link-local one.
pub fn ip(ip: &IpAddr, iface: Option<&str>, out: &mut String) {
    let _ = write!(out, "{ip}");
    if let Some(name) = iface.filter(|_| is_link_local(ip)) {
        out.push('%');
        out.push_str(name);
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
        other => out.push_str(no_owner_label(other)),
    }
}

pub fn no_owner_label(owner: Owner<'_>) -> &'static str {
    match owner {
        Owner::Closed => "(closed)",
        Owner::AcceptQueue => "(accept queue)",
        Owner::Handshake => "(handshake)",
        Owner::Processes(_) | Owner::Hidden | Owner::NotLooked => "-",
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

/// Process names and command lines are chosen by whoever started the process: control
/// characters are shown as escapes so they cannot drive the terminal.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if c.is_control() {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
}

pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, &mut out);
    out
}

/// `nginx (pid 812, user www-data): nginx: master process`
pub fn process_line(p: &Process, out: &mut String) {
    escape_into(&p.name, out);
    let _ = write!(out, " (pid {}", p.pid);
    if let Some(user) = &p.user {
        out.push_str(", user ");
        escape_into(user, out);
    }
    out.push(')');
    if !p.cmdline.is_empty() {
        out.push_str(": ");
        escape_into(&p.cmdline, out);
    }
}

/// `ECONNRESET (connection reset by peer)`: the errno name people search for, and its meaning.
pub fn errno_name(e: &std::io::Error) -> String {
    let name = match e.raw_os_error() {
        Some(libc::ECONNRESET) => "ECONNRESET",
        Some(libc::ECONNREFUSED) => "ECONNREFUSED",
        Some(libc::EPIPE) => "EPIPE",
        Some(libc::ETIMEDOUT) => "ETIMEDOUT",
        Some(libc::EADDRINUSE) => "EADDRINUSE",
        _ => return e.to_string(),
    };
    let text = e.to_string();
    let meaning = text
        .split(" (os error")
        .next()
        .unwrap_or(&text)
        .to_lowercase();
    format!("{name} ({meaning})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escaped("evil\x1b[2Jname\n"), "evil\\u{1b}[2Jname\\n");
        assert_eq!(escaped("nginx: worker"), "nginx: worker");
    }
}
