//! Reading the lab's sockets from the kernel's table, waiting for a transition to land.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::lab::Lab;
use super::model::{Holder, Row};
use crate::interrupt::interrupted;
use crate::inventory;
use crate::model::{Inventory, Owner, Proto, Socket, TcpState};
use crate::query::Query;

/// A socket the lab made, by its addresses (the peer is unknown for a listener).
#[derive(Debug, Clone, Copy)]
pub struct Known {
    pub role: &'static str,
    pub local: SocketAddr,
    pub remote: Option<SocketAddr>,
}

/// How long to wait for the kernel to finish a transition before showing the table anyway.
const SETTLE: Duration = Duration::from_secs(2);

/// The lab's sockets on `port` (only those: other sockets may share the port number).
pub fn rows(lab: &mut Lab, port: u16, known: &[Known]) -> Result<Vec<Row>> {
    let query = Query::everything().protos(&[Proto::Tcp]).any_port(port);
    let inv = inventory::collect(lab.host, &query)?;
    for note in &inv.notes {
        if !lab.notes.contains(note) {
            lab.notes.push(note.clone());
        }
    }
    let mut rows = Vec::new();
    for k in known {
        let found = inv.sockets.iter().find(|s| {
            SocketAddr::new(s.local.ip, s.local.port) == k.local
                && match k.remote {
                    None => s.state == TcpState::Listen,
                    Some(remote) => SocketAddr::new(s.remote.ip, s.remote.port) == remote,
                }
        });
        if let Some(s) = found {
            rows.push(Row {
                role: k.role,
                local: k.local,
                remote: k.remote,
                state: s.state,
                recv_q: s.recv_q,
                send_q: s.send_q,
                owner: owner(s, &inv),
                timer: s.timer,
            });
        }
    }
    Ok(rows)
}

fn owner(s: &Socket, inv: &Inventory) -> Holder {
    match s.owner(inv.owners_looked_up) {
        Owner::Processes(pids) => Holder::Processes(
            pids.iter()
                .map(|pid| {
                    let name = inv.processes.get(pid).map_or("?", |p| p.name.as_str());
                    (*pid, name.to_string())
                })
                .collect(),
        ),
        other => Holder::Nobody(other.label()),
    }
}

/// The rows once `done` holds for them, or after a short wait (or Ctrl-C), whatever is there.
pub fn settled(
    lab: &mut Lab,
    port: u16,
    known: &[Known],
    done: impl Fn(&[Row]) -> bool,
) -> Result<Vec<Row>> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let rows = rows(lab, port, known)?;
        if done(&rows) || Instant::now() > deadline || interrupted() {
            return Ok(rows);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The state of the row with this role, if it is in the table.
pub fn state_of(rows: &[Row], role: &str) -> Option<TcpState> {
    rows.iter().find(|r| r.role == role).map(|r| r.state)
}
