//! Where sockets live, for people: the NETNS and CONTAINER columns of `ls --all-netns`, the
//! same on `who`'s lines, and `ls -s --all-netns`'s counts per namespace.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Container, Inventory, Placed};

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
        let s = row_at(inv, row);
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

/// The socket of a row of the `ls` table: TCP and UDP, then Unix.
fn row_at(inv: &Inventory, row: usize) -> &dyn Placed {
    match inv.sockets.get(row) {
        Some(s) => s,
        None => &inv.unix[row - inv.sockets.len()],
    }
}

/// The namespace's bound name (escaped: whoever made it chose it), else `net:[inode]`.
pub fn netns(s: &dyn Placed, inv: &Inventory, out: &mut String) {
    text::escape_into(&inv.places.netns_label(s.netns()), out);
}

/// `docker:web` (`runtime:name`, else the short id); for a port proxy, where it forwards:
/// `→ docker:web 172.17.0.2:80`; `-` for neither.
pub fn container(s: &dyn Placed, inv: &Inventory, out: &mut String) {
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
pub fn where_it_lives(s: &dyn Placed, inv: &Inventory, out: &mut String) {
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
    /// Per namespace, in inode order, Unix sockets counted `with_unix` (`-x`); a namespace's
    /// container is that of its first socket with one.
    pub fn of(inv: &'a Inventory, with_unix: bool) -> Vec<NetnsSummary<'a>> {
        inv.by_netns()
            .into_iter()
            .map(|(inode, (sockets, unix))| {
                let c = (sockets.iter().map(|s| *s as &dyn Placed))
                    .chain(unix.iter().map(|s| *s as &dyn Placed))
                    .find_map(|s| inv.places.container(s));
                let mut summary = Summary::of(sockets);
                if with_unix {
                    summary = summary.with_unix(unix);
                }
                NetnsSummary {
                    netns: JsonNetns {
                        inode,
                        name: inv.places.names.get(&inode).map(String::as_str),
                    },
                    container: c.map(JsonContainer::of),
                    shown: c,
                    summary,
                }
            })
            .collect()
    }
}

/// The states the per-namespace table counts (every state is in the JSON).
const STATES: [&str; 4] = ["LISTEN", "UNCONN", "ESTABLISHED", "TIME_WAIT"];

/// The per-namespace counts as a table: Netns, Container, then the summary's own columns
/// for its `all` row (Unix among them with `-x`).
pub struct NetnsSummaryRows<'a> {
    pub inventory: &'a Inventory,
    pub summaries: &'a [NetnsSummary<'a>],
    headers: Vec<&'static str>,
}

impl<'a> NetnsSummaryRows<'a> {
    pub fn new(inventory: &'a Inventory, summaries: &'a [NetnsSummary<'a>]) -> Self {
        let kinds: &[&str] = if summaries.iter().any(|n| n.summary.unix.is_some()) {
            &["Netns", "Container", "Total", "TCP", "UDP", "Unix"]
        } else {
            &["Netns", "Container", "Total", "TCP", "UDP"]
        };
        NetnsSummaryRows {
            inventory,
            summaries,
            headers: [kinds, &STATES[..]].concat(),
        }
    }

    /// Where the state columns start.
    fn first_state(&self) -> usize {
        self.headers.len() - STATES.len()
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
        let kinds = [Some(&s.tcp), Some(&s.udp), s.unix.as_ref()];
        let state = |name: &str| -> usize {
            kinds
                .iter()
                .flatten()
                .filter_map(|k| k.states.get(name))
                .sum()
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
            c if c < self.first_state() => s.unix.as_ref().map_or(0, |u| u.total),
            c => STATES
                .get(c - self.first_state())
                .map_or(0, |name| state(name)),
        };
        let _ = write!(out, "{value}");
    }
}
