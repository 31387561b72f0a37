//! Rows with every cell rendered once, for the printers: they measure the columns, then print
//! them, and on 20,000 rows of `ls -i` rendering each cell twice (and copying it out each
//! time) was a fifth of the run. One string holds all the text and each cell is a range of
//! it, so memory grows by the table's text, not by a string per cell.

use super::Rows;

pub struct Rendered<'a> {
    /// Everything but the cells' text: headers, alignment, tints, second lines, narrowing.
    pub rows: &'a dyn Rows,
    text: String,
    /// Where each cell ends in `text`, row after row; offsets past 4 GiB saturate (a table
    /// that large would not be in memory twice anyway).
    ends: Vec<u32>,
    columns: usize,
    /// All of `text` is ASCII (the usual case): a cell's width is its length.
    ascii: bool,
}

impl<'a> Rendered<'a> {
    pub fn new(rows: &'a dyn Rows) -> Rendered<'a> {
        let columns = rows.headers().len();
        let mut text = String::new();
        let mut ends = Vec::with_capacity(rows.len() * columns);
        for row in 0..rows.len() {
            for column in 0..columns {
                rows.cell(row, column, &mut text);
                ends.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
            }
        }
        Rendered {
            rows,
            ascii: text.is_ascii(),
            text,
            ends,
            columns,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn cell(&self, row: usize, column: usize) -> &str {
        let i = row * self.columns + column;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize,
        };
        self.text
            .get(start..self.ends[i] as usize)
            .unwrap_or_default()
    }

    /// Characters the cell takes on screen.
    pub fn width(&self, row: usize, column: usize) -> usize {
        let cell = self.cell(row, column);
        if self.ascii {
            cell.len()
        } else {
            super::plain::shown_width(cell)
        }
    }
}
