//! `watch`: change events as JSON lines, and the live screen's rows.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::json::JsonSocket;
use super::text::{self, state_tint};
use super::{Align, Rows, Tint};
use crate::model::{Inventory, TcpState};
use crate::watch::tracker::{Change, ChangeKind};

#[derive(Serialize)]
struct JsonChange<'a> {
    t_ms: f64,
    event: &'static str,
    from: Option<&'static str>,
    to: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    between_polls: bool,
    socket: JsonSocket<'a>,
}

/// One change as a JSON line; queue growth is for the screen only.
pub fn event(out: &mut dyn Write, t_ms: f64, change: &Change, inv: &Inventory) -> io::Result<()> {
    let state = change.socket.state.name();
    let (event, from, to) = match change.kind {
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
            between_polls: change.between,
            socket: JsonSocket::new(&change.socket, inv),
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

/// The live table: `inv.sockets` in display order, each with its mark.
pub struct ScreenRows<'a> {
    pub inv: &'a Inventory,
    pub marks: &'a [Mark],
}

impl Rows for ScreenRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &[
            "",
            "Proto",
            "Recv-Q",
            "Send-Q",
            "Local Address",
            "Foreign Address",
            "State",
            "PID/Program",
        ]
    }

    fn align(&self, column: usize) -> Align {
        if matches!(column, 2 | 3) {
            Align::Right
        } else {
            Align::Left
        }
    }

    fn len(&self) -> usize {
        self.inv.sockets.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let s = &self.inv.sockets[row];
        let iface = s.iface.as_deref();
        let _ = match column {
            0 => write!(
                out,
                "{}",
                match self.marks[row] {
                    Mark::Plain => " ",
                    Mark::New => "+",
                    Mark::Gone => "-",
                    Mark::Changed(_) => "~",
                    Mark::Grew => "↑",
                }
            ),
            1 => write!(out, "{}", text::proto_label(s)),
            2 => write!(out, "{}", s.recv_q),
            3 => write!(out, "{}", s.send_q),
            4 => {
                text::endpoint(&s.local, iface, out);
                Ok(())
            }
            5 => {
                text::endpoint(&s.remote, iface, out);
                Ok(())
            }
            6 => match self.marks[row] {
                Mark::Changed(from) => write!(out, "{} → {}", from.name(), s.state.name()),
                _ => write!(out, "{}", s.state.name()),
            },
            _ => {
                text::owner(s, self.inv, out);
                Ok(())
            }
        };
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        match (self.marks[row], column) {
            (Mark::Gone, _) => Some(Tint::Dim),
            (Mark::New, 0) => Some(Tint::Green),
            (Mark::Changed(_), 0) => Some(Tint::Yellow),
            (Mark::Grew, 0 | 2 | 3) => Some(Tint::Magenta),
            (_, 6) => state_tint(self.inv.sockets[row].state),
            _ => None,
        }
    }
}
