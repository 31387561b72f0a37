//! The `ls` table: one row per socket, in the order the user asked for; TCP and UDP first,
//! then Unix sockets (their addresses are names, their foreign side the peer's processes).

use std::cmp::Ordering;

use crate::model::{Inventory, Socket, UnixSocket};

use super::table::Narrow;
use super::text::{self, state_tint};
use super::{Rows, Tint};

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

pub const STATE_COLUMN: usize = 5;
const PROGRAM_COLUMN: usize = 6;

/// On a narrow terminal: no User, then program names cut short, then no queues, then the
/// pids alone.
pub const NARROWING: [Narrow; 5] = [
    Narrow::Drop(HEADERS.len() - 1),
    Narrow::Shorten(PROGRAM_COLUMN, 8),
    Narrow::Drop(2),
    Narrow::Drop(1),
    Narrow::Shorten(PROGRAM_COLUMN, 0),
];

pub const DUAL_STACK_LEGEND: &str =
    "tcp46/udp46: an IPv6 socket on [::] with IPV6_V6ONLY off, so it accepts IPv4 too";

pub const MAPPED_LEGEND: &str =
    "^127.0.0.1: an IPv4 address on an IPv6 socket (IPv4-mapped, ::ffff:127.0.0.1)";

/// Whether a row shows an IPv4-mapped address (and the legend is due).
pub fn shows_mapped(s: &Socket) -> bool {
    [s.local.ip, s.remote.ip]
        .iter()
        .any(|ip| text::mapped_v4(ip).is_some())
}

pub struct SocketRows<'a> {
    pub inventory: &'a Inventory,
}

impl Rows for SocketRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &HEADERS
    }

    fn right_aligned(&self, column: usize) -> bool {
        matches!(column, 1 | 2)
    }

    fn len(&self) -> usize {
        self.inventory.sockets.len() + self.inventory.unix.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let inv = self.inventory;
        let Some(s) = inv.sockets.get(row) else {
            return unix_cell(&inv.unix[row - inv.sockets.len()], inv, column, out);
        };
        let iface = s.iface.as_deref();
        match column {
            0 => out.push_str(text::proto_label(s)),
            1 => text::number(s.recv_q, out),
            2 => text::number(s.send_q, out),
            3 => text::column_endpoint(&s.local, iface, out),
            4 => text::column_endpoint(&s.remote, iface, out),
            5 => out.push_str(s.state.name()),
            PROGRAM_COLUMN => text::owner(s, inv, out),
            _ => text::user(s, inv, out),
        }
    }

    fn narrowing(&self) -> &[Narrow] {
        &NARROWING
    }

    fn short_cell(&self, row: usize, column: usize, width: usize, out: &mut String) {
        let inv = self.inventory;
        match column {
            PROGRAM_COLUMN => {
                let owner = match inv.sockets.get(row) {
                    Some(s) => s.owner(inv.owners_looked_up),
                    None => inv.unix[row - inv.sockets.len()].owner(inv.owners_looked_up),
                };
                text::holders_within(owner, inv, width, out)
            }
            _ => self.cell(row, column, out),
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        let inv = self.inventory;
        let state = match inv.sockets.get(row) {
            Some(s) => s.state,
            None => inv.unix[row - inv.sockets.len()].state,
        };
        (column == STATE_COLUMN)
            .then(|| state_tint(state))
            .flatten()
    }
}

fn unix_cell(s: &UnixSocket, inv: &Inventory, column: usize, out: &mut String) {
    match column {
        0 => out.push_str(s.kind.label()),
        1 => text::number(s.recv_q, out),
        2 => text::number(s.send_q, out),
        3 => text::unix_name(s, out),
        4 => text::unix_peer(s, inv, out),
        5 => out.push_str(s.state.name()),
        PROGRAM_COLUMN => text::holders(s.owner(inv.owners_looked_up), inv, out),
        _ => text::unix_user(s, inv, out),
    }
}

/// Display orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Order {
    /// Listeners first, then by local port.
    #[default]
    Listeners,
    Port,
    State,
    Pid,
    Proto,
}

impl Order {
    pub const ALL: [Order; 5] = [
        Order::Listeners,
        Order::Port,
        Order::State,
        Order::Pid,
        Order::Proto,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Order::Listeners => "listeners, port",
            Order::Port => "port",
            Order::State => "state",
            Order::Pid => "pid",
            Order::Proto => "proto",
        }
    }
}

/// Sorts for display.
pub fn sort(sockets: &mut [Socket], order: Order) {
    sockets.sort_unstable_by(compare(order));
}

/// Sorts Unix sockets for display: a path stands for the port, the type for the protocol.
pub fn sort_unix(sockets: &mut [UnixSocket], order: Order) {
    sockets.sort_unstable_by(compare_unix(order));
}

/// The display order of sockets.
pub fn compare(order: Order) -> impl Fn(&Socket, &Socket) -> Ordering {
    let by_port = |a: &Socket, b: &Socket| {
        a.local
            .port
            .cmp(&b.local.port)
            .then(a.proto.cmp(&b.proto))
            .then(a.family.cmp(&b.family))
            .then(a.local.ip.cmp(&b.local.ip))
            .then(a.remote.ip.cmp(&b.remote.ip))
            .then(a.remote.port.cmp(&b.remote.port))
            // The same addresses in several namespaces (--all-netns), or shared with
            // SO_REUSEPORT: one order however the table was read.
            .then(a.netns.cmp(&b.netns))
            .then(a.inode.cmp(&b.inode))
    };
    let first_pid = |s: &Socket| s.pids.first().copied().unwrap_or(u32::MAX);
    move |a: &Socket, b: &Socket| -> Ordering {
        match order {
            Order::Listeners => (!a.state.is_listening())
                .cmp(&!b.state.is_listening())
                .then_with(|| by_port(a, b)),
            Order::Port => by_port(a, b),
            Order::State => a.state.cmp(&b.state).then_with(|| by_port(a, b)),
            Order::Pid => first_pid(a).cmp(&first_pid(b)).then_with(|| by_port(a, b)),
            Order::Proto => a
                .proto
                .cmp(&b.proto)
                .then(a.family.cmp(&b.family))
                .then_with(|| by_port(a, b)),
        }
    }
}

/// The display order of Unix sockets.
pub fn compare_unix(order: Order) -> impl Fn(&UnixSocket, &UnixSocket) -> Ordering {
    let by_name = |a: &UnixSocket, b: &UnixSocket| {
        // Named sockets first, then by name, type and inode.
        (a.path.is_none(), &a.path, a.kind, a.inode).cmp(&(
            b.path.is_none(),
            &b.path,
            b.kind,
            b.inode,
        ))
    };
    let first_pid = |s: &UnixSocket| s.pids.first().copied().unwrap_or(u32::MAX);
    move |a: &UnixSocket, b: &UnixSocket| match order {
        Order::Listeners => (!a.state.is_listening())
            .cmp(&!b.state.is_listening())
            .then_with(|| by_name(a, b)),
        Order::Port => by_name(a, b),
        Order::State => a.state.cmp(&b.state).then_with(|| by_name(a, b)),
        Order::Pid => first_pid(a).cmp(&first_pid(b)).then_with(|| by_name(a, b)),
        Order::Proto => a.kind.cmp(&b.kind).then_with(|| by_name(a, b)),
    }
}

/// Keeps the first `n` items in `order`, sorted: a screen of rows out of a large table
/// without sorting the rest.
pub fn first_sorted<T>(items: &mut Vec<T>, n: usize, order: impl Fn(&T, &T) -> Ordering) {
    if n == 0 {
        items.clear();
        return;
    }
    if items.len() > n {
        items.select_nth_unstable_by(n - 1, &order);
        items.truncate(n);
    }
    items.sort_unstable_by(order);
}

#[cfg(test)]
mod tests {
    use super::{Order, compare, first_sorted};
    use crate::model::{Endpoint, Proto, Socket, TcpState};

    #[test]
    fn the_first_rows_are_those_a_full_sort_puts_first() {
        let all: Vec<u32> = (0..500).map(|i| (i * 7919) % 1009).collect();
        let mut sorted = all.clone();
        sorted.sort_unstable();
        for n in [0, 1, 20, 499, 500, 600] {
            let mut first = all.clone();
            first_sorted(&mut first, n, |a, b| a.cmp(b));
            assert_eq!(first, sorted[..n.min(500)], "n = {n}");
        }
    }

    /// SO_REUSEPORT: sockets on the same address and port, told apart only by their inode
    /// (and holders). Without a last tie-break their rows have no order of their own: `ls`,
    /// `who` and the watch screen list them differently, and the screen reshuffles them
    /// when unrelated sockets open (the tracker's map grows).
    #[test]
    fn sockets_sharing_an_address_still_have_one_order() {
        let at = |port| Endpoint {
            ip: std::net::Ipv4Addr::UNSPECIFIED.into(),
            port,
        };
        let group = |inode, pid| {
            let mut s = Socket::new(Proto::Udp, at(9000), at(0), TcpState::Unconn);
            s.inode = inode;
            s.pids = vec![pid];
            s
        };
        let (a, b) = (group(101, 7), group(102, 8));
        for order in Order::ALL {
            assert_ne!(
                compare(order)(&a, &b),
                std::cmp::Ordering::Equal,
                "{order:?}: two sockets of one SO_REUSEPORT group compare equal"
            );
        }
    }
}
