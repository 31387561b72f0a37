//! Turning an `Inventory` into text: tables on a terminal, plain columns in a pipe, JSON.

pub mod details;
pub mod doctor;
pub mod ephemeral;
pub mod json;
pub mod pids;
pub mod places;
pub mod plain;
mod rendered;
pub mod sockets;
pub mod stats;
pub mod summary;
pub mod table;
pub mod text;
pub mod watch;
pub mod who;
// The output of the commands that exist on Unix systems only.
unix_only! {
    pub mod bench;
    pub mod destroy;
    pub mod events;
    pub mod kill;
    pub mod lifecycle;
    pub mod metrics;
    pub mod probe;
    pub mod sample;
    pub mod why_bind;
}

#[cfg(test)]
mod snapshot_tests;

use std::io::{self, Write};

/// What to assume when a terminal reports no width (a serial console, some CI runners).
pub const FALLBACK_WIDTH: u16 = 100;

/// How output looks, decided once from the flags, the environment and the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
    /// stdout is a terminal: draw a table fitted to `width`.
    pub terminal: bool,
    pub width: u16,
    pub header: bool,
}

/// A colour a cell may carry; each renderer maps it to its own escape codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tint {
    Green,
    Cyan,
    Yellow,
    Red,
    Magenta,
    Blue,
    Dim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// Rows of text cells, written into a caller's buffer so that a renderer can measure and
/// print 100,000 rows without keeping a string per cell.
pub trait Rows {
    fn headers(&self) -> &[&'static str];
    /// Numbers line up on the right; text stays left.
    fn right_aligned(&self, _column: usize) -> bool {
        false
    }
    fn align(&self, column: usize) -> Align {
        if self.right_aligned(column) {
            Align::Right
        } else {
            Align::Left
        }
    }
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Appends the text of one cell to `out`.
    fn cell(&self, row: usize, column: usize, out: &mut String);
    fn tint(&self, _row: usize, _column: usize) -> Option<Tint> {
        None
    }
    /// Appends the text of a row's second line (`ls -i`), its fields separated by
    /// `FIELD_BREAK`, where a table wraps it; nothing for none.
    fn detail(&self, _row: usize, _out: &mut String) {}
    /// How the table gives way on a narrow terminal, first step first (none by default: the
    /// rows run past the edge).
    fn narrowing(&self) -> &[table::Narrow] {
        &[]
    }
    /// A cell of a column the table shortens, in about `width` characters.
    fn short_cell(&self, row: usize, column: usize, width: usize, out: &mut String) {
        let mut whole = String::new();
        self.cell(row, column, &mut whole);
        plain::cut(&whole, width, out);
    }
}

/// Between two fields of a row's second line (`Rows::detail`): a space when printed, and
/// where a table fitted to the terminal may break the line. Never in escaped text.
pub const FIELD_BREAK: char = '\u{1f}';

/// Prints rows as a table on a terminal, as plain aligned columns otherwise.
pub fn rows(out: &mut dyn Write, rows: &dyn Rows, style: &Style) -> io::Result<()> {
    let rows = rendered::Rendered::new(rows);
    if style.terminal {
        table::write(out, &rows, style)
    } else {
        plain::write(out, &rows, style)
    }
}
