//! `watch`: change events as JSON lines, and the live screen's rows.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::json::{JsonEntry, Listed};
use super::sockets::SocketRows;
use super::table::Narrow;
use super::{Rows, Style, Tint};
use crate::model::{Inventory, TcpState};
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
    inv: &'a Inventory,
    marks: &'a [Mark],
    headers: Vec<&'static str>,
    narrowing: Vec<Narrow>,
}

/// The State column, counting the mark column.
const STATE: usize = super::sockets::STATE_COLUMN + 1;

impl<'a> ScreenRows<'a> {
    pub fn new(inv: &'a Inventory, marks: &'a [Mark]) -> ScreenRows<'a> {
        let user = super::sockets::HEADERS.len() - 1;
        let headers = std::iter::once("")
            .chain(super::sockets::HEADERS[..user].iter().copied())
            .collect();
        ScreenRows {
            inv,
            marks,
            headers,
            // The mark column stays; the rest give way as in `ls`.
            narrowing: super::sockets::NARROWING
                .iter()
                .map(|step| step.shifted(1))
                .collect(),
        }
    }

    fn sockets(&self) -> SocketRows<'_> {
        SocketRows {
            inventory: self.inv,
        }
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
            (STATE, Mark::Changed(from)) => {
                let _ = write!(out, "{} → ", from.name());
                self.sockets().cell(row, STATE - 1, out);
            }
            _ => self.sockets().cell(row, column - 1, out),
        }
    }

    fn narrowing(&self) -> &[Narrow] {
        &self.narrowing
    }

    fn short_cell(&self, row: usize, column: usize, width: usize, out: &mut String) {
        match column.checked_sub(1) {
            Some(c) if c != super::sockets::STATE_COLUMN => {
                self.sockets().short_cell(row, c, width, out)
            }
            _ => self.cell(row, column, out),
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        match (self.marks[row], column) {
            (Mark::Gone, _) => Some(Tint::Dim),
            (Mark::New, 0) => Some(Tint::Green),
            (Mark::Changed(_), 0) => Some(Tint::Yellow),
            (Mark::Grew, 0 | 2 | 3) => Some(Tint::Magenta),
            (_, 0) => None,
            _ => self.sockets().tint(row, column - 1),
        }
    }
}

/// Lines the live screen keeps besides the rows: title, header, rule, `… N more rows`,
/// status.
const FRAME_LINES: usize = 5;

/// How many rows fit on a screen `height` lines high with its title, header and status.
pub fn room(height: u16) -> usize {
    usize::from(height).saturating_sub(FRAME_LINES).max(1)
}

/// The live screen: a title, the table fitted to `style.width`, how many rows did not fit,
/// and a status line. Title and status are cut to the width so that neither wraps and pushes
/// the other off the screen (the screen turns line wrapping off for the table's rows).
pub fn screen(
    out: &mut dyn Write,
    title: &str,
    rows: &ScreenRows,
    hidden: usize,
    status: &str,
    style: &Style,
) -> io::Result<()> {
    let width = usize::from(style.width);
    let mut line = String::new();
    super::plain::cut(title, width, &mut line);
    writeln!(out, "{line}")?;
    super::rows(out, rows, style)?;
    if hidden > 0 {
        writeln!(out, "… {hidden} more rows")?;
    }
    line.clear();
    super::plain::cut(status, width, &mut line);
    write!(out, "{line}")
}
