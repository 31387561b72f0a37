//! `who PORT`: one readable line per socket and holder.
//!
//! `8080/tcp LISTEN on 0.0.0.0 — nginx (pid 812, user www-data): nginx: master process`

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::{Inventory, Owner, Socket, TcpState, TimerKind};

use super::text;

pub fn write(out: &mut dyn Write, inv: &Inventory) -> io::Result<()> {
    let mut line = String::new();
    for s in &inv.sockets {
        line.clear();
        where_line(s, &mut line);
        if inv.places.across {
            super::places::where_it_lives(s, inv, &mut line);
        }
        line.push_str(" — ");
        let head = line.len();
        match s.owner(inv.owners_looked_up) {
            Owner::Processes(pids) => {
                for (i, pid) in pids.iter().enumerate() {
                    if i > 0 {
                        line.push('\n');
                        line.extend(std::iter::repeat_n(' ', head.saturating_sub(4)));
                        line.push_str(" — ");
                    }
                    match inv.processes.get(pid) {
                        Some(p) => crate::text::process(p, true, &mut line),
                        None => {
                            let _ = write!(line, "pid {pid} (exited)");
                        }
                    }
                }
            }
            other => no_owner(s, other, inv, &mut line),
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
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
    if s.state.is_listening() {
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

fn no_owner(s: &Socket, owner: Owner<'_>, inv: &Inventory, line: &mut String) {
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
        Owner::Hidden if inv.unreadable_processes > 0 => {
            line.push_str("owner hidden (another user's process; run as root to see it)")
        }
        // Every process was readable: the holder is out of sight, not another user's.
        Owner::Hidden => line.push_str(
            "owner not found (no process visible here holds it: one in another PID namespace, \
             or a descriptor in flight between processes)",
        ),
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
