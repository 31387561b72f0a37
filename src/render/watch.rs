//! `watch`: change events as JSON lines, and the live screen's rows.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::json::{self, JsonEntry, JsonNetns, Listed};
use super::places::PlacedRows;
use super::sockets::SocketRows;
use super::table::Narrow;
use super::{Rows, Style, Tint};
use crate::model::{Inventory, Process, TcpState};
use crate::watch::rates::{ConnectionRate, per_process};
use crate::watch::tracker::{Change, ChangeKind, Tracked};

#[derive(Serialize)]
struct JsonChange<'a> {
    t_ms: f64,
    event: &'static str,
    from: Option<&'static str>,
    to: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    between_polls: bool,
    socket: JsonEntry<'a>,
}

/// One change as a JSON line, its `socket` in the `ls --json` form; queue growth is for the
/// screen only.
pub fn event<T: Tracked + Listed>(
    out: &mut dyn Write,
    t_ms: f64,
    change: &Change<T>,
    inv: &Inventory,
) -> io::Result<()> {
    let socket = change.socket.json(inv);
    write_event(
        out,
        t_ms,
        change.kind,
        change.between,
        change.socket.state(),
        socket,
    )
}

fn write_event(
    out: &mut dyn Write,
    t_ms: f64,
    kind: ChangeKind,
    between: bool,
    state: TcpState,
    socket: JsonEntry<'_>,
) -> io::Result<()> {
    let state = state.name();
    let (event, from, to) = match kind {
        ChangeKind::Opened => ("opened", None, Some(state)),
        ChangeKind::Closed => ("closed", Some(state), None),
        ChangeKind::State { from } => ("state", Some(from.name()), Some(state)),
        ChangeKind::Grew => return Ok(()),
    };
    super::json::value(
        out,
        &JsonChange {
            t_ms: (t_ms * 1000.0).round() / 1000.0,
            event,
            from,
            to,
            between_polls: between,
            socket,
        },
    )
}

#[derive(Serialize)]
struct JsonRates<'a> {
    t_ms: f64,
    event: &'static str,
    interval_s: f64,
    processes: Vec<JsonProcessRate<'a>>,
    connections: Vec<JsonConnectionRate<'a>>,
}

#[derive(Serialize)]
struct JsonProcessRate<'a> {
    pid: u32,
    name: Option<&'a str>,
    in_bytes_per_s: f64,
    out_bytes_per_s: f64,
    connections: usize,
}

#[derive(Serialize)]
struct JsonConnectionRate<'a> {
    local_addr: String,
    local_port: u16,
    remote_addr: String,
    remote_port: u16,
    inode: u32,
    netns: Option<JsonNetns<'a>>,
    pids: Vec<u32>,
    in_bytes_per_s: f64,
    out_bytes_per_s: f64,
}

/// `watch --rates`: one `rates` event per look, the connections that moved bytes and their
/// processes, busiest first.
pub fn rates(
    out: &mut dyn Write,
    t_ms: f64,
    interval_s: f64,
    rates: &[ConnectionRate],
    inv: &Inventory,
) -> io::Result<()> {
    let processes = per_process(rates)
        .into_iter()
        .map(|p| JsonProcessRate {
            pid: p.pid,
            name: inv.processes.get(&p.pid).map(|p| p.name.as_str()),
            in_bytes_per_s: p.in_per_s.round(),
            out_bytes_per_s: p.out_per_s.round(),
            connections: p.connections,
        })
        .collect();
    let connections = rates
        .iter()
        .map(|r| JsonConnectionRate {
            local_addr: json::address(&r.local.ip, r.iface.as_deref()),
            local_port: r.local.port,
            remote_addr: json::address(&r.remote.ip, r.iface.as_deref()),
            remote_port: r.remote.port,
            inode: r.inode,
            netns: json::namespace(r.netns, inv),
            pids: r.pids.clone(),
            in_bytes_per_s: r.in_per_s.round(),
            out_bytes_per_s: r.out_per_s.round(),
        })
        .collect();
    super::json::value(
        out,
        &JsonRates {
            t_ms: (t_ms * 1000.0).round() / 1000.0,
            event: "rates",
            interval_s: (interval_s * 1e6).round() / 1e6,
            processes,
            connections,
        },
    )
}

/// The live screen's line of the busiest processes: `busiest: nginx (812) in 1.2 Mbit/s out …`.
pub fn busiest(text: &mut String, rates: &[ConnectionRate], names: &HashMap<u32, Process>) {
    text.push_str("busiest:");
    let processes = per_process(rates);
    if processes.is_empty() {
        text.push_str(" no bytes moved since the last look");
    }
    for p in processes.iter().take(3) {
        text.push(' ');
        match names.get(&p.pid) {
            Some(process) => super::text::escape_into(&process.name, text),
            None => text.push('?'),
        }
        let _ = write!(text, " ({}) in ", p.pid);
        super::details::rate(p.in_per_s as u64, text);
        text.push_str(" out ");
        super::details::rate(p.out_per_s as u64, text);
        text.push_str(" ·");
    }
    if text.ends_with(" ·") {
        text.truncate(text.len() - 2);
    }
}

/// How a row of the live table is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Plain,
    New,
    Gone,
    Changed(TcpState),
    Grew,
}

/// The live table: a mark column, then the `ls` columns without User; `inv.sockets` then
/// `inv.unix` in display order, each with its mark.
pub struct ScreenRows<'a> {
    marks: &'a [Mark],
    headers: Vec<&'static str>,
    narrowing: Vec<Narrow>,
    /// The `ls` columns (with Netns and Container in front across namespaces).
    sockets: Box<dyn Rows + 'a>,
    /// Columns in front of the `ls` ones besides the mark: Netns and Container, or none.
    placed: usize,
}

impl<'a> ScreenRows<'a> {
    pub fn new(inv: &'a Inventory, marks: &'a [Mark]) -> ScreenRows<'a> {
        let (sockets, placed): (Box<dyn Rows + 'a>, usize) = if inv.places.across {
            (Box::new(PlacedRows::new(inv)), 2)
        } else {
            (Box::new(SocketRows { inventory: inv }), 0)
        };
        let user = sockets.headers().len() - 1;
        let headers = std::iter::once("")
            .chain(sockets.headers()[..user].iter().copied())
            .collect();
        ScreenRows {
            marks,
            headers,
            // The mark column stays; the rest give way as in `ls`.
            narrowing: sockets
                .narrowing()
                .iter()
                .map(|step| step.shifted(1))
                .collect(),
            sockets,
            placed,
        }
    }

    fn sockets(&self) -> &dyn Rows {
        self.sockets.as_ref()
    }

    /// The State column, counting the mark column.
    fn state(&self) -> usize {
        super::sockets::STATE_COLUMN + 1 + self.placed
    }
}

impl Rows for ScreenRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    fn right_aligned(&self, column: usize) -> bool {
        column
            .checked_sub(1)
            .is_some_and(|c| self.sockets().right_aligned(c))
    }

    fn len(&self) -> usize {
        self.sockets().len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let mark = self.marks[row];
        match (column, mark) {
            (0, _) => out.push_str(match mark {
                Mark::Plain => " ",
                Mark::New => "+",
                Mark::Gone => "-",
                Mark::Changed(_) => "~",
                Mark::Grew => "↑",
            }),
            (c, Mark::Changed(from)) if c == self.state() => {
                let _ = write!(out, "{} → ", from.name());
                self.sockets().cell(row, c - 1, out);
            }
            _ => self.sockets().cell(row, column - 1, out),
        }
    }

    fn narrowing(&self) -> &[Narrow] {
        &self.narrowing
    }

    fn short_cell(&self, row: usize, column: usize, width: usize, out: &mut String) {
        match column.checked_sub(1) {
            Some(c) if c + 1 != self.state() => self.sockets().short_cell(row, c, width, out),
            _ => self.cell(row, column, out),
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        match (self.marks[row], column) {
            (Mark::Gone, _) => Some(Tint::Dim),
            (Mark::New, 0) => Some(Tint::Green),
            (Mark::Changed(_), 0) => Some(Tint::Yellow),
            // The mark and the queues.
            (Mark::Grew, c) if c == 0 || c == 2 + self.placed || c == 3 + self.placed => {
                Some(Tint::Magenta)
            }
            (_, 0) => None,
            _ => self.sockets().tint(row, column - 1),
        }
    }
}

/// Lines the live screen keeps besides the rows and its heading: header, rule,
/// `… N more rows`, status.
const FRAME_LINES: usize = 4;

/// How many rows fit on a screen `height` lines high with a heading of `head` lines (the
/// title, and the busiest processes with `--rates`), the header and the status.
pub fn room(height: u16, head: usize) -> usize {
    usize::from(height)
        .saturating_sub(FRAME_LINES + head)
        .max(1)
}

/// The live screen: its heading lines, the table fitted to `style.width`, how many rows did
/// not fit, and a status line. Heading and status are cut to the width so that none wraps
/// and pushes the others off the screen (the screen turns line wrapping off for the rows).
pub fn screen(
    out: &mut dyn Write,
    head: &[&str],
    rows: &ScreenRows,
    hidden: usize,
    status: &str,
    style: &Style,
) -> io::Result<()> {
    let width = usize::from(style.width);
    let mut line = String::new();
    for text in head {
        line.clear();
        super::plain::cut(text, width, &mut line);
        writeln!(out, "{line}")?;
    }
    super::rows(out, rows, style)?;
    if hidden > 0 {
        writeln!(out, "… {hidden} more rows")?;
    }
    line.clear();
    super::plain::cut(status, width, &mut line);
    write!(out, "{line}")
}
