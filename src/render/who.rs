//! `who PORT` and `who SOCKET`: one readable line per socket and holder.
//!
//! `8080/tcp LISTEN on 0.0.0.0 — nginx (pid 812, user www-data): nginx: master process`

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::{Inventory, Owner, Socket, TcpState, TimerKind, UnixSocket};

use super::text;

/// With `details`, each socket's `ls -i` line under it.
pub fn write(out: &mut dyn Write, inv: &Inventory, details: bool) -> io::Result<()> {
    let mut line = String::new();
    for s in &inv.sockets {
        line.clear();
        where_line(s, &mut line);
        if inv.places.across {
            super::places::where_it_lives(s, inv, &mut line);
        }
        holder_lines(
            s.owner(inv.owners_looked_up),
            inv,
            &mut line,
            |owner, line| no_owner(s, owner, inv, line),
        );
        if details {
            line.push_str("    ");
            super::details::spaced_line(s, &mut line);
            line.push('\n');
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// `who /path/to.sock`: a line per socket bound to the name (`targets`), with its holders,
/// and under it the processes at the other end: the peer of an accepted connection, every
/// socket connected to it (datagram clients), and a listener's clients not accepted yet.
///
/// `/run/app.sock stream ESTABLISHED — app (pid 812, user root): /usr/bin/app`
/// `    client: curl (pid 4242, user alice): curl --unix-socket /run/app.sock http://x/`
pub fn write_unix(out: &mut dyn Write, inv: &Inventory, targets: &HashSet<u32>) -> io::Result<()> {
    let mut line = String::new();
    for s in inv.unix.iter().filter(|s| targets.contains(&s.inode)) {
        line.clear();
        text::unix_name(s, &mut line);
        let _ = write!(line, " {} {}", s.kind.name(), s.state.name());
        if s.state == TcpState::Listen && s.recv_q > 0 {
            let _ = write!(line, " ({} waiting to be accepted)", s.recv_q);
        }
        if inv.places.across {
            super::places::where_it_lives(s, inv, &mut line);
        }
        holder_lines(
            s.owner(inv.owners_looked_up),
            inv,
            &mut line,
            |owner, line| match owner {
                Owner::Hidden => hidden(inv, line),
                _ => line.push('-'),
            },
        );
        let waiting: HashSet<u32> = s.waiting.iter().copied().collect();
        for pid in holders_of(inv, |c| waiting.contains(&c.inode)) {
            line.push_str("    client, waiting to be accepted: ");
            process(pid, inv, &mut line);
            line.push('\n');
        }
        let mut clients = holders_of(inv, |c| {
            c.peer_inode == s.inode && !targets.contains(&c.inode)
        });
        clients.extend(&s.peer_pids);
        clients.sort_unstable();
        clients.dedup();
        for pid in clients {
            line.push_str("    client: ");
            process(pid, inv, &mut line);
            line.push('\n');
        }
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// The processes holding the Unix sockets that `which` picks, each once, in pid order.
fn holders_of(inv: &Inventory, which: impl Fn(&UnixSocket) -> bool) -> Vec<u32> {
    let mut pids: Vec<u32> = inv
        .unix
        .iter()
        .filter(|c| which(c))
        .flat_map(|c| c.pids.iter().copied())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

/// Why no holder is shown when the scan found none: another user's process we could not
/// read, or (every process was readable) one out of sight.
fn hidden(inv: &Inventory, line: &mut String) {
    line.push_str(if inv.unreadable_processes > 0 {
        "owner hidden (another user's process; run as root to see it)"
    } else {
        "owner not found (no process visible here holds it: one in another PID namespace, \
         or a descriptor in flight between processes)"
    });
}

/// ` — holder` after the line so far, a continuation line per further holder, or what
/// `none` says when no process is shown; ends with a newline.
fn holder_lines(
    owner: Owner<'_>,
    inv: &Inventory,
    line: &mut String,
    none: impl FnOnce(Owner<'_>, &mut String),
) {
    // Further holders line up under the first: as many spaces as characters before it.
    let indent = line.chars().count();
    line.push_str(" — ");
    match owner {
        Owner::Processes(pids) => {
            for (i, pid) in pids.iter().enumerate() {
                if i > 0 {
                    line.push('\n');
                    line.extend(std::iter::repeat_n(' ', indent));
                    line.push_str(" — ");
                }
                process(*pid, inv, line);
            }
        }
        other => none(other, line),
    }
    line.push('\n');
}

/// `nginx (pid 812, user www-data): nginx: master process`.
pub(super) fn process(pid: u32, inv: &Inventory, line: &mut String) {
    match inv.processes.get(&pid) {
        Some(p) => crate::text::process(p, true, line),
        None => {
            let _ = write!(line, "pid {pid} (exited)");
        }
    }
}

/// `8080/tcp LISTEN on 0.0.0.0` or `40312/tcp ESTABLISHED 127.0.0.1:40312 → 127.0.0.1:8080`.
fn where_line(s: &Socket, line: &mut String) {
    let _ = write!(
        line,
        "{}/{} {}",
        s.local.port,
        s.proto.name(),
        s.state.name()
    );
    if s.state.is_unconnected() {
        line.push_str(" on ");
        text::ip(&s.local.ip, s.iface.as_deref(), line);
        if s.is_dual_stack() {
            line.push_str(" (IPv6 and IPv4)");
        }
    } else {
        line.push(' ');
        text::endpoint(&s.local, s.iface.as_deref(), line);
        line.push_str(" → ");
        text::endpoint(&s.remote, s.iface.as_deref(), line);
    }
}

/// Why a socket shows no process (closed, queued, hidden); `kill --destroy` says it too.
pub(super) fn no_owner(s: &Socket, owner: Owner<'_>, inv: &Inventory, line: &mut String) {
    match owner {
        Owner::Closed => {
            line.push_str("no process: closed by its owner, the kernel finishes the close");
            if let Some(t) = s
                .timer
                .filter(|t| t.kind == TimerKind::TimeWait || s.state == TcpState::TimeWait)
            {
                let _ = write!(line, " ({:.0} s left)", f64::from(t.expires_ms) / 1000.0);
            }
        }
        Owner::AcceptQueue => {
            line.push_str("no process yet: waiting in the listener's accept queue")
        }
        Owner::Handshake => line.push_str("no process yet: handshake in progress (SYN queue)"),
        Owner::Hidden => hidden(inv, line),
        Owner::NotLooked | Owner::Processes(_) => line.push('-'),
    }
}

/// What `who` says on a terminal when nothing holds the ports: `nothing holds port 9999/tcp
/// or /udp`.
pub fn nothing_holds(ports: &crate::ports::PortSet, protos: &[crate::model::Proto]) -> String {
    let names: Vec<String> = protos.iter().map(|p| format!("/{}", p.name())).collect();
    let what = if ports.single().is_some() {
        "port"
    } else {
        "any of ports"
    };
    format!("nothing holds {what} {ports}{}", names.join(" or "))
}

#[cfg(test)]
mod tests {
    use crate::model::Proto;
    use crate::ports::PortSet;

    #[test]
    fn nothing_holds_names_the_ports_and_protocols() {
        let one = PortSet::one(9999);
        let both = [Proto::Tcp, Proto::Udp];
        assert_eq!(
            super::nothing_holds(&one, &both),
            "nothing holds port 9999/tcp or /udp"
        );
        assert_eq!(
            super::nothing_holds(&one, &[Proto::Udp]),
            "nothing holds port 9999/udp"
        );
        let list = PortSet::parse("80,443,8000-8010").expect("ports");
        assert_eq!(
            super::nothing_holds(&list, &both),
            "nothing holds any of ports 80,443,8000-8010/tcp or /udp"
        );
    }
}
