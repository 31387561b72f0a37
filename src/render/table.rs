//! Columns fitted to the terminal, for people: a value (an address:port, a state, a pid) is
//! never split across lines. When the rows are wider than the terminal, columns give way in
//! the order the rows name (`Rows::narrowing`): dropped, or shortened to their first
//! characters. What still does not fit runs past the edge rather than breaking a value.

use std::io::{self, Write};

use super::plain::{self, Column};
use super::rendered::Rendered;
use super::{FALLBACK_WIDTH, Rows, Style};

/// A step by which a table gives way on a narrow terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Narrow {
    /// Leave the column out.
    Drop(usize),
    /// Shorten the column's cells (`Rows::short_cell`), to no fewer characters than given.
    Shorten(usize, usize),
}

impl Narrow {
    /// The same step for rows that put `by` columns in front.
    pub fn shifted(self, by: usize) -> Narrow {
        match self {
            Narrow::Drop(c) => Narrow::Drop(c + by),
            Narrow::Shorten(c, min) => Narrow::Shorten(c + by, min),
        }
    }
}

pub fn write(out: &mut dyn Write, rows: &Rendered, style: &Style) -> io::Result<()> {
    let style = Style {
        width: if style.width == 0 {
            FALLBACK_WIDTH
        } else {
            style.width
        },
        ..*style
    };
    let columns = fit(rows, style.header, usize::from(style.width));
    plain::print(out, rows, &style, &columns, true)
}

/// The columns shown at `width`, each as wide as it needs. When the narrowing steps are not
/// enough, a column made wide by a few long cells (a link-local address) is sized for nine
/// in ten of its cells and the steps are taken again: the long cells push their own rows past
/// the edge, rather than every row.
pub fn fit(rows: &Rendered, header: bool, width: usize) -> Vec<Column> {
    let natural = plain::measure(rows, header);
    let columns = narrow(rows.rows, natural.clone(), header, width);
    if total(&columns) <= width {
        return columns;
    }
    narrow(rows.rows, typical(rows, natural, header), header, width)
}

/// Printed width, with two spaces between columns.
fn total(columns: &[Column]) -> usize {
    columns
        .iter()
        .map(|c| c.width + 2)
        .sum::<usize>()
        .saturating_sub(2)
}

/// Takes the rows' narrowing steps until the columns fit `width`.
fn narrow(rows: &dyn Rows, mut columns: Vec<Column>, header: bool, width: usize) -> Vec<Column> {
    for step in rows.narrowing() {
        let over = total(&columns).saturating_sub(width);
        if over == 0 {
            break;
        }
        match *step {
            Narrow::Drop(index) => columns.retain(|c| c.index != index),
            Narrow::Shorten(index, min) => {
                if let Some(c) = columns.iter_mut().find(|c| c.index == index) {
                    let room = c.width.saturating_sub(over).max(min);
                    if room < c.width {
                        c.width = shortened(rows, index, room, header);
                        c.short = true;
                    }
                }
            }
        }
    }
    // A column cut before a later step dropped another gets the room that step freed.
    let spare = width.saturating_sub(total(&columns));
    if let Some(c) = columns.iter_mut().find(|c| c.short && spare > 0) {
        c.width = shortened(rows, c.index, c.width + spare, header);
    }
    columns
}

/// Each column as wide as nine in ten of its cells (and its header).
fn typical(rows: &Rendered, mut columns: Vec<Column>, header: bool) -> Vec<Column> {
    let mut counts: Vec<Vec<usize>> = columns.iter().map(|c| vec![0; c.width + 1]).collect();
    for row in 0..rows.len() {
        for (column, count) in counts.iter_mut().enumerate() {
            let longest = count.len() - 1;
            count[rows.width(row, column).min(longest)] += 1;
        }
    }
    let wanted = rows.len() - rows.len() / 10;
    for (c, count) in columns.iter_mut().zip(&counts) {
        let mut seen = 0;
        let typical = count
            .iter()
            .position(|n| {
                seen += n;
                seen >= wanted
            })
            .unwrap_or(c.width);
        let floor = if header {
            rows.rows.headers()[c.index].chars().count()
        } else {
            1
        };
        c.width = typical.max(floor).min(c.width);
    }
    columns
}

/// How wide a column's cells are once shortened to `room` (a cell may keep more: a pid is
/// never cut).
fn shortened(rows: &dyn Rows, column: usize, room: usize, header: bool) -> usize {
    let mut text = String::new();
    let mut width = if header {
        rows.headers()[column].chars().count().min(room)
    } else {
        0
    };
    for row in 0..rows.len() {
        text.clear();
        rows.short_cell(row, column, room, &mut text);
        width = width.max(text.chars().count());
    }
    width
}
