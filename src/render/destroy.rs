//! `kill --destroy`: the connections it would close, with their holders, what became of
//! each, and both as JSON.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::json::JsonSocket;
use crate::kill::destroy::Closed;
use crate::model::{Inventory, Owner, Proto, Socket, TcpState};

/// `--destroy`: a line per connection it would close, with its holders.
pub fn connections(out: &mut dyn Write, inv: &Inventory) -> io::Result<()> {
    let mut line = String::new();
    for s in &inv.sockets {
        line.clear();
        line.push_str("reset → ");
        where_line(s, &mut line);
        line.push_str(" — ");
        holders(s, inv, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// `tcp 127.0.0.1:8080 → 127.0.0.1:40312 ESTABLISHED`.
fn where_line(s: &Socket, line: &mut String) {
    line.push_str(super::text::proto_label(s));
    line.push(' ');
    super::text::endpoint(&s.local, s.iface.as_deref(), line);
    line.push_str(" → ");
    super::text::endpoint(&s.remote, s.iface.as_deref(), line);
    line.push(' ');
    line.push_str(s.state.name());
}

fn holders(s: &Socket, inv: &Inventory, line: &mut String) {
    let owner = s.owner(inv.owners_looked_up);
    if !matches!(owner, Owner::Processes(_)) {
        super::who::no_owner(s, owner, inv, line);
    }
    for (i, pid) in s.pids.iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        match inv.processes.get(pid) {
            Some(p) => crate::text::process(p, false, line),
            None => {
                let _ = write!(line, "pid {pid}");
            }
        }
    }
}

/// What became of each connection.
pub fn closed(out: &mut dyn Write, inv: &Inventory, results: &[Closed]) -> io::Result<()> {
    let mut line = String::new();
    for (s, result) in inv.sockets.iter().zip(results) {
        line.clear();
        where_line(s, &mut line);
        line.push_str(": ");
        line.push_str(&closed_text(s, result));
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

fn closed_text(s: &Socket, result: &Closed) -> String {
    match result {
        Closed::Reset => reset(s).into(),
        Closed::Gone => "gone: it closed before it could be reset".into(),
        Closed::Unreachable => "not closed: the kernel cannot close a socket that is only bound \
                                (no connection, not listening); stop its process instead \
                                (portscope kill PORT)"
            .into(),
        Closed::Refused(e) => match e.raw_os_error() {
            Some(libc::EPERM | libc::EACCES) => "permission denied: closing a connection \
                needs CAP_NET_ADMIN; run as root (sudo portscope kill --destroy …)"
                .into(),
            Some(libc::EOPNOTSUPP) => "refused by the kernel: it was built without \
                CONFIG_INET_DIAG_DESTROY; stop the process instead (portscope kill PORT)"
                .into(),
            _ => "closing single connections needs Linux's sock_diag; stop the process \
                  instead (portscope kill PORT)"
                .into(),
        },
        Closed::NotTried => "not tried: the same refusal holds".into(),
        Closed::Failed(e) => format!("failed: {}", crate::text::errno(e)),
    }
}

/// What the kernel's abort did to this kind of socket: a RST only where a peer is owed one by
/// a socket its process still held; TIME_WAIT (and an orphaned FIN_WAIT2, kept the same way)
/// and half-open entries are dropped without a word.
fn reset(s: &Socket) -> &'static str {
    use TcpState::*;
    if s.proto == Proto::Udp {
        return "reset (the holder's next call fails with ECONNABORTED)";
    }
    match (s.owner(true), s.state) {
        (Owner::Closed, TimeWait | FinWait2) => {
            "removed (its process had closed it; the kernel drops the entry: nothing is sent)"
        }
        (Owner::Closed, _) => "closed (its process had closed it already)",
        (Owner::Handshake, _) => "removed (a half-open connection: nothing is sent)",
        (Owner::AcceptQueue, _) => "reset (the peer gets RST; no process had accepted it)",
        (_, Listen) => {
            "closed (it no longer listens: accept() fails; connections waiting in its queue \
             get RST)"
        }
        (_, Established | CloseWait | FinWait1 | FinWait2 | SynRecv) => {
            "reset (a TCP peer gets RST; the holder's next call fails with ECONNABORTED)"
        }
        _ => "closed (nothing is sent in this state; the holder's next call fails with \
              ECONNABORTED)",
    }
}

#[derive(Serialize)]
struct JsonConnection<'a> {
    #[serde(flatten)]
    socket: JsonSocket<'a>,
    outcome: Option<&'static str>,
    detail: Option<String>,
}

/// `kill --destroy --json`: the connections, and after a run what became of each.
pub fn closed_json(
    out: &mut dyn Write,
    inv: &Inventory,
    results: Option<&[Closed]>,
) -> io::Result<()> {
    let connections: Vec<JsonConnection<'_>> = inv
        .sockets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let result = results.and_then(|r| r.get(i));
            JsonConnection {
                socket: JsonSocket::new(s, inv),
                outcome: result.map(|r| match r {
                    Closed::Reset => "reset",
                    Closed::Gone => "gone",
                    Closed::Unreachable => "not_closable",
                    Closed::Refused(_) => "refused",
                    Closed::NotTried => "not_tried",
                    Closed::Failed(_) => "failed",
                }),
                detail: result.map(|r| closed_text(s, r)),
            }
        })
        .collect();
    #[derive(Serialize)]
    struct JsonDestroy<'a> {
        dry_run: bool,
        connections: Vec<JsonConnection<'a>>,
    }
    super::json::value(
        out,
        &JsonDestroy {
            dry_run: results.is_none(),
            connections,
        },
    )
}
