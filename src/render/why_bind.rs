//! `why-bind` for people and for scripts.

use std::io::{self, Write};

use serde::Serialize;

use super::json::JsonSocket;
use super::text;
use crate::ephemeral::findings::Findings;
use crate::model::{Inventory, Proto};

fn answer(e: &Option<io::Error>) -> String {
    e.as_ref()
        .map_or_else(|| "ok".to_string(), crate::text::errno)
}

/// `nginx (pid 812, user www-data)`, or why no process is shown.
fn holder(s: &crate::model::Socket, inv: &Inventory, line: &mut String) {
    let mut named = s
        .pids
        .iter()
        .filter_map(|pid| inv.processes.get(pid))
        .peekable();
    if named.peek().is_none() {
        return text::owner(s, inv, line);
    }
    for (i, p) in named.enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        crate::text::process(p, false, line);
    }
}

/// Whether a trial bind met a holder of the address, rather than another refusal.
fn in_use(e: &Option<io::Error>) -> bool {
    e.as_ref()
        .is_some_and(|e| e.kind() == io::ErrorKind::AddrInUse)
}

/// What SO_REUSEADDR and SO_REUSEPORT would change, in words.
fn advice(f: &Findings, inv: &Inventory) -> (String, String) {
    let users: Vec<String> = f
        .holders
        .iter()
        .filter_map(|i| inv.user_name(inv.sockets[*i].uid).map(str::to_string))
        .collect();
    let reuseaddr = match (f.proto, f.listening, f.holders.is_empty(), f.time_wait) {
        (Proto::Tcp, true, _, _) => "would not help: a listener holds the address".to_string(),
        (Proto::Tcp, false, true, 0) => "not needed: nothing holds the port".to_string(),
        // Bound-only holders that set it too share the port: the trial bind tells whether
        // they all did.
        (Proto::Tcp, false, false, _) if f.bound_only && f.trial.reuseaddr.is_none() => {
            "would help: the bound-only holders set SO_REUSEADDR too (only one socket can \
             then listen)"
                .to_string()
        }
        (Proto::Tcp, false, false, _) if f.bound_only && in_use(&f.trial.reuseaddr) => {
            "would not help: a bound-only holder did not set SO_REUSEADDR (a socket bound \
             without it keeps the port to itself)"
                .to_string()
        }
        (Proto::Tcp, false, false, _) if f.bound_only => "would help only if every holder set \
            SO_REUSEADDR too: a socket bound without it (BOUND) keeps the port to itself"
            .to_string(),
        // Both sides must set it, and a TIME_WAIT entry keeps the flag of the socket that
        // closed: the trial bind tells which.
        (Proto::Tcp, false, _, 0) if in_use(&f.trial.reuseaddr) => {
            "would not help: the sockets on the port did not set it too".to_string()
        }
        (Proto::Tcp, false, _, _) if in_use(&f.trial.reuseaddr) => {
            "would not help: the sockets on the port (a TIME_WAIT entry keeps the flag of the \
             socket that closed) did not set it too"
                .to_string()
        }
        (Proto::Tcp, false, _, _) => {
            "would help: only connections (and TIME_WAIT) hold the port, no listener".to_string()
        }
        (Proto::Udp, _, true, _) => "not needed: nothing holds the port".to_string(),
        (Proto::Udp, _, false, _) if f.trial.reuseaddr.is_none() => {
            "would help: every holder set SO_REUSEADDR too".to_string()
        }
        (Proto::Udp, _, false, _) if in_use(&f.trial.reuseaddr) => {
            "would not help: a holder did not set SO_REUSEADDR".to_string()
        }
        (Proto::Udp, _, false, _) => {
            "would help only if every holder set SO_REUSEADDR too".to_string()
        }
    };
    let reuseport = if f.holders.is_empty() && f.time_wait > 0 {
        let t = &f.trial;
        if t.reuseport.is_none() {
            "would help: the sockets that closed set it too"
        } else if t.reuseaddr.is_none() {
            "would not help against this TIME_WAIT (SO_REUSEADDR does)"
        } else if in_use(&t.reuseport) {
            "would not help: the sockets that closed did not set it"
        } else {
            "would not help: the trial below fails for another reason"
        }
        .to_string()
    } else if f.holders.is_empty() {
        "not needed".to_string()
    } else {
        let mut who = users;
        who.sort();
        who.dedup();
        let who = if who.is_empty() {
            "unknown".to_string()
        } else {
            who.join(", ")
        };
        // The trial bind with it is the kernel's answer; the rule only where it says neither.
        match &f.trial.reuseport {
            None => format!("would help: every holder set SO_REUSEPORT too and runs as {who}"),
            e if in_use(e) => format!(
                "would not help: a holder did not set SO_REUSEPORT too, or runs as another user \
                 ({who})"
            ),
            _ => format!(
                "would help only if every holder set SO_REUSEPORT too and runs as the same user \
                 ({who})"
            ),
        }
    };
    (reuseaddr, reuseport)
}

pub fn text(out: &mut dyn Write, f: &Findings, inv: &Inventory) -> io::Result<()> {
    writeln!(out, "why-bind {}/{}", f.want, f.proto.name())?;
    if f.holders.is_empty() {
        writeln!(out, "  held by: nothing that overlaps this address")?;
    }
    // Bound sockets one by one; connections sharing the port (accepted ones) counted.
    let mut connections: std::collections::BTreeMap<&str, usize> = Default::default();
    for i in &f.holders {
        let s = &inv.sockets[*i];
        if s.proto == Proto::Tcp && !s.state.is_unconnected() {
            *connections.entry(s.state.name()).or_default() += 1;
            continue;
        }
        let mut line = String::from("  held by: ");
        line.push_str(text::proto_label(s));
        line.push(' ');
        text::endpoint(&s.local, s.iface.as_deref(), &mut line);
        line.push(' ');
        line.push_str(s.state.name());
        if s.is_dual_stack() && f.want.is_ipv4() {
            line.push_str(" ([::] with IPV6_V6ONLY off takes IPv4 too)");
        }
        line.push_str(" — ");
        holder(s, inv, &mut line);
        writeln!(out, "{line}")?;
    }
    if !connections.is_empty() {
        let counts: Vec<String> = connections
            .iter()
            .map(|(st, n)| format!("{n} {st}"))
            .collect();
        writeln!(out, "  connections on the port: {}", counts.join(", "))?;
    }
    // UDP has no TIME_WAIT: a closed UDP socket leaves nothing behind.
    if f.proto == Proto::Tcp {
        writeln!(out, "  TIME_WAIT entries on the port: {}", f.time_wait)?;
    }
    writeln!(
        out,
        "  privileged: {} · reserved (ip_local_reserved_ports): {} · in the ephemeral range: {}",
        match (f.privileged, f.start) {
            (true, Some(start)) =>
                format!("yes (below {start}: needs root or CAP_NET_BIND_SERVICE)"),
            (_, Some(start)) => format!("no (ip_unprivileged_port_start {start})"),
            _ => "unknown".to_string(),
        },
        if f.reserved {
            "yes (never handed out automatically; an explicit bind is unaffected)"
        } else {
            "no"
        },
        if f.in_range {
            "yes (a connect() anywhere on this host may take it first)"
        } else {
            "no"
        },
    )?;
    let (reuseaddr, reuseport) = advice(f, inv);
    writeln!(out, "  SO_REUSEADDR {reuseaddr}")?;
    writeln!(out, "  SO_REUSEPORT {reuseport}")?;
    let action = if f.proto == Proto::Tcp {
        "bind+listen"
    } else {
        "bind"
    };
    writeln!(out, "trial {action} (released at once):")?;
    writeln!(out, "  plain:         {}", answer(&f.trial.plain))?;
    writeln!(out, "  SO_REUSEADDR:  {}", answer(&f.trial.reuseaddr))?;
    writeln!(out, "  SO_REUSEPORT:  {}", answer(&f.trial.reuseport))?;
    match &f.trial.plain {
        None => writeln!(out, "verdict: {}/{} is bindable", f.want, f.proto.name()),
        Some(_) => writeln!(
            out,
            "verdict: binding {}/{} fails: {}",
            f.want,
            f.proto.name(),
            answer(&f.trial.plain)
        ),
    }
}

#[derive(Serialize)]
struct JsonFindings<'a> {
    addr: String,
    proto: &'static str,
    bindable: bool,
    holders: Vec<JsonSocket<'a>>,
    time_wait: usize,
    privileged: bool,
    reserved: bool,
    in_ephemeral_range: bool,
    reuseaddr: String,
    reuseport: String,
    trial: JsonTrial,
}

#[derive(Serialize)]
struct JsonTrial {
    plain: String,
    reuseaddr: String,
    reuseport: String,
}

pub fn json(out: &mut dyn Write, f: &Findings, inv: &Inventory) -> io::Result<()> {
    let (reuseaddr, reuseport) = advice(f, inv);
    super::json::value(
        out,
        &JsonFindings {
            addr: f.want.to_string(),
            proto: f.proto.name(),
            bindable: f.trial.plain.is_none(),
            holders: f
                .holders
                .iter()
                .map(|i| JsonSocket::new(&inv.sockets[*i], inv))
                .collect(),
            time_wait: f.time_wait,
            privileged: f.privileged,
            reserved: f.reserved,
            in_ephemeral_range: f.in_range,
            reuseaddr,
            reuseport,
            trial: JsonTrial {
                plain: answer(&f.trial.plain),
                reuseaddr: answer(&f.trial.reuseaddr),
                reuseport: answer(&f.trial.reuseport),
            },
        },
    )
}
