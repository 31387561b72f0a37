//! Reading the lab's sockets from the kernel's table, waiting for a transition to land.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::model::Row;
use crate::inventory;
use crate::model::{Inventory, Proto, TcpState};
use crate::query::{OwnerLookup, Query};
use crate::render::text;

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
pub fn rows(port: u16, known: &[Known]) -> Result<Vec<Row>> {
    let query = Query {
        protos: vec![Proto::Tcp],
        any_port: Some(port),
        owners: OwnerLookup::Scan { stop_early: true },
        ..Query::everything()
    };
    let inv = inventory::collect(&query)?;
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

fn owner(s: &crate::model::Socket, inv: &Inventory) -> String {
    let mut out = String::new();
    text::owner(s, inv, &mut out);
    out
}

/// The rows once `done` holds for them, or after a short wait, whatever is there.
pub fn settled(port: u16, known: &[Known], done: impl Fn(&[Row]) -> bool) -> Result<Vec<Row>> {
    let deadline = Instant::now() + SETTLE;
    loop {
        let rows = rows(port, known)?;
        if done(&rows) || Instant::now() > deadline {
            return Ok(rows);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The state of the row with this role, if it is in the table.
pub fn state_of(rows: &[Row], role: &str) -> Option<TcpState> {
    rows.iter().find(|r| r.role == role).map(|r| r.state)
}
