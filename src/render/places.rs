//! Where sockets live, for people: the NETNS and CONTAINER columns of `ls --all-netns`, the
//! same on `who`'s lines, and `ls -s --all-netns`'s counts per namespace.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Container, Inventory, Socket};

use super::json::{JsonContainer, JsonNetns};
use super::sockets::{HEADERS, SocketRows};
use super::summary::Summary;
use super::table::Narrow;
use super::{Rows, Tint, text};

/// The `ls` table with Netns and Container in front.
pub struct PlacedRows<'a> {
    pub rows: SocketRows<'a>,
    headers: Vec<&'static str>,
    narrowing: Vec<Narrow>,
}

impl<'a> PlacedRows<'a> {
    pub fn new(inventory: &'a Inventory) -> PlacedRows<'a> {
        let mut headers = vec!["Netns", "Container"];
        headers.extend(HEADERS);
        let rows = SocketRows { inventory };
        // The `ls` columns give way as in `ls`; Netns and Container stay.
        let narrowing = rows.narrowing().iter().map(|s| s.shifted(2)).collect();
        PlacedRows {
            rows,
            headers,
            narrowing,
        }
    }
}

impl Rows for PlacedRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    fn right_aligned(&self, column: usize) -> bool {
        column >= 2 && self.rows.right_aligned(column - 2)
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let inv = self.rows.inventory;
        let s = &inv.sockets[row];
        match column {
            0 => netns(s, inv, out),
            1 => container(s, inv, out),
            _ => self.rows.cell(row, column - 2, out),
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        column.checked_sub(2).and_then(|c| self.rows.tint(row, c))
    }

    fn narrowing(&self) -> &[Narrow] {
        &self.narrowing
    }

    fn short_cell(&self, row: usize, column: usize, width: usize, out: &mut String) {
        match column.checked_sub(2) {
            Some(c) => self.rows.short_cell(row, c, width, out),
            None => self.cell(row, column, out),
        }
    }
}

/// The namespace's bound name (escaped: whoever made it chose it), else `net:[inode]`.
pub fn netns(s: &Socket, inv: &Inventory, out: &mut String) {
    text::escape_into(&inv.places.netns_label(s.netns), out);
}

/// `docker:web` (`runtime:name`, else the short id); for a port proxy, where it forwards:
/// `→ docker:web 172.17.0.2:80`; `-` for neither.
pub fn container(s: &Socket, inv: &Inventory, out: &mut String) {
    let places = &inv.places;
    if let Some(forward) = places.forward(s) {
        out.push_str("→ ");
        if let Some(c) = &forward.container {
            named(c, out);
            out.push(' ');
        }
        let _ = write!(out, "{}", forward.to);
    } else if let Some(c) = places.container(s) {
        named(c, out);
    } else {
        out.push('-');
    }
}

/// ` in web (docker:web)`, ` in net:[4026532611]`: for `who` across namespaces.
pub fn where_it_lives(s: &Socket, inv: &Inventory, out: &mut String) {
    out.push_str(" in ");
    netns(s, inv, out);
    if inv.places.container(s).is_some() || inv.places.forward(s).is_some() {
        out.push_str(" (");
        container(s, inv, out);
        out.push(')');
    }
}

/// `docker:web`: the runtime, then the name or else the short id.
pub fn named(c: &Container, out: &mut String) {
    out.push_str(c.runtime);
    out.push(':');
    text::escape_into(c.label(), out);
}

/// `ls -s --all-netns`: one summary per namespace.
#[derive(Debug, Serialize)]
pub struct NetnsSummary<'a> {
    pub netns: JsonNetns<'a>,
    pub container: Option<JsonContainer<'a>>,
    #[serde(skip)]
    pub shown: Option<&'a Container>,
    #[serde(flatten)]
    pub summary: Summary,
}

impl<'a> NetnsSummary<'a> {
    /// Per namespace, in inode order; a namespace's container is that of its first socket
    /// with one.
    pub fn of(inv: &'a Inventory) -> Vec<NetnsSummary<'a>> {
        inv.by_netns()
            .into_iter()
            .map(|(inode, sockets)| {
                let owned: Vec<Socket> = sockets.iter().map(|s| (*s).clone()).collect();
                let c = sockets.iter().find_map(|s| inv.places.container(s));
                NetnsSummary {
                    netns: JsonNetns {
                        inode,
                        name: inv.places.names.get(&inode).map(String::as_str),
                    },
                    container: c.map(JsonContainer::of),
                    shown: c,
                    summary: Summary::of(&owned),
                }
            })
            .collect()
    }
}

/// The states the per-namespace table counts (every state is in the JSON).
const STATES: [&str; 4] = ["LISTEN", "UNCONN", "ESTABLISHED", "TIME_WAIT"];

/// The per-namespace counts as a table: Netns, Container, then the summary's own columns
/// for its `all` row.
pub struct NetnsSummaryRows<'a> {
    pub inventory: &'a Inventory,
    pub summaries: &'a [NetnsSummary<'a>],
    headers: Vec<&'static str>,
}

impl<'a> NetnsSummaryRows<'a> {
    pub fn new(inventory: &'a Inventory, summaries: &'a [NetnsSummary<'a>]) -> Self {
        NetnsSummaryRows {
            inventory,
            summaries,
            headers: [
                &["Netns", "Container", "Total", "TCP", "UDP"][..],
                &STATES[..],
            ]
            .concat(),
        }
    }
}

impl Rows for NetnsSummaryRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    fn right_aligned(&self, column: usize) -> bool {
        column >= 2
    }

    fn len(&self) -> usize {
        self.summaries.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let n = &self.summaries[row];
        let s = &n.summary;
        let state = |name: &str| {
            s.tcp.states.get(name).copied().unwrap_or(0)
                + s.udp.states.get(name).copied().unwrap_or(0)
        };
        let value = match column {
            0 => {
                text::escape_into(&self.inventory.places.netns_label(n.netns.inode), out);
                return;
            }
            1 => {
                match n.shown {
                    Some(c) => named(c, out),
                    None => out.push('-'),
                }
                return;
            }
            2 => s.total,
            3 => s.tcp.total,
            4 => s.udp.total,
            _ => STATES.get(column - 5).map_or(0, |name| state(name)),
        };
        let _ = write!(out, "{value}");
    }
}
