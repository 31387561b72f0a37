//! The `ls` table: one row per socket, in the order the user asked for.

use std::cmp::Ordering;
use std::fmt::Write as _;

use crate::cli::SortKey;
use crate::model::{Inventory, Socket};

use super::text::{self, state_tint};
use super::{Align, Rows, Tint};

pub const HEADERS: [&str; 8] = [
    "Proto",
    "Recv-Q",
    "Send-Q",
    "Local Address",
    "Foreign Address",
    "State",
    "PID/Program",
    "User",
];

const STATE_COLUMN: usize = 5;

pub const DUAL_STACK_LEGEND: &str =
    "tcp46/udp46: an IPv6 socket on [::] with IPV6_V6ONLY off, so it accepts IPv4 too";

pub struct SocketRows<'a> {
    pub inventory: &'a Inventory,
}

impl Rows for SocketRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &HEADERS
    }

    fn align(&self, column: usize) -> Align {
        if matches!(column, 1 | 2) {
            Align::Right
        } else {
            Align::Left
        }
    }

    fn len(&self) -> usize {
        self.inventory.sockets.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let inv = self.inventory;
        let s = &inv.sockets[row];
        let iface = s.iface.as_deref();
        match column {
            0 => out.push_str(text::proto_label(s)),
            1 => {
                let _ = write!(out, "{}", s.recv_q);
            }
            2 => {
                let _ = write!(out, "{}", s.send_q);
            }
            3 => text::endpoint(&s.local, iface, out),
            4 => text::endpoint(&s.remote, iface, out),
            5 => out.push_str(s.state.name()),
            6 => text::owner(s, inv, out),
            _ => text::user(s, inv, out),
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        (column == STATE_COLUMN)
            .then(|| state_tint(self.inventory.sockets[row].state))
            .flatten()
    }
}

/// Sorts for display. The default puts listeners first, then orders by local port.
pub fn sort(sockets: &mut [Socket], key: Option<SortKey>) {
    let by_port = |a: &Socket, b: &Socket| {
        a.local
            .port
            .cmp(&b.local.port)
            .then(a.proto.cmp(&b.proto))
            .then(a.family.cmp(&b.family))
            .then(a.local.ip.cmp(&b.local.ip))
            .then(a.remote.ip.cmp(&b.remote.ip))
            .then(a.remote.port.cmp(&b.remote.port))
    };
    let first_pid = |s: &Socket| s.pids.first().copied().unwrap_or(u32::MAX);
    let compare = |a: &Socket, b: &Socket| -> Ordering {
        match key {
            None => (!a.state.is_listening())
                .cmp(&!b.state.is_listening())
                .then_with(|| by_port(a, b)),
            Some(SortKey::Port) => by_port(a, b),
            Some(SortKey::State) => a.state.cmp(&b.state).then_with(|| by_port(a, b)),
            Some(SortKey::Pid) => first_pid(a).cmp(&first_pid(b)).then_with(|| by_port(a, b)),
            Some(SortKey::Proto) => a
                .proto
                .cmp(&b.proto)
                .then(a.family.cmp(&b.family))
                .then_with(|| by_port(a, b)),
        }
    };
    sockets.sort_unstable_by(compare);
}
