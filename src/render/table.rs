//! A comfy-table fitted to the terminal, for people.

use std::io::{self, Write};

use comfy_table::{
    Attribute, Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, LineStyle, Table,
    TableStyle,
};

use super::{Align, FALLBACK_WIDTH, Rows, Style, Tint};

/// Columns and a rule under the header; no boxes, so 20,000 rows stay readable.
const LOOK: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction('─'));

/// Columns no wider than this (states, queues, protocols) are never wrapped; the long ones
/// (addresses, programs) give way on a narrow terminal.
const KEEP_WHOLE: u16 = 11;

pub fn write(out: &mut dyn Write, rows: &dyn Rows, style: &Style) -> io::Result<()> {
    let mut table = Table::new();
    // Told, not asked: colour and width were decided once, from flags and the terminal.
    table
        .force_no_tty()
        .load_style(LOOK)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(if style.width == 0 {
            FALLBACK_WIDTH
        } else {
            style.width
        });
    if style.color {
        table.enforce_styling();
    }
    if style.header {
        let headers = rows.headers().iter().map(|h| {
            let cell = Cell::new(h);
            if style.color {
                cell.add_attribute(Attribute::Bold)
            } else {
                cell
            }
        });
        table.set_header(headers);
    }
    let columns = rows.headers().len();
    let mut text = String::new();
    for row in 0..rows.len() {
        table.add_row((0..columns).map(|column| {
            text.clear();
            rows.cell(row, column, &mut text);
            let mut cell = Cell::new(&text);
            if rows.align(column) == Align::Right {
                cell = cell.set_alignment(CellAlignment::Right);
            }
            match rows.tint(row, column).filter(|_| style.color) {
                Some(Tint::Dim) => cell.add_attribute(Attribute::Dim),
                Some(tint) => cell.fg(color(tint)),
                None => cell,
            }
        }));
    }
    let widths = table.column_max_content_widths();
    for (column, width) in widths.into_iter().enumerate() {
        let Some(c) = table.column_mut(column) else {
            continue;
        };
        // Two spaces between columns, none at the edge, as in the plain output.
        c.set_padding((0, 1));
        if rows.align(column) == Align::Right {
            c.set_cell_alignment(CellAlignment::Right);
        }
        if width <= KEEP_WHOLE {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    writeln!(out, "{table}")
}

fn color(tint: Tint) -> Color {
    match tint {
        Tint::Green => Color::Green,
        Tint::Cyan => Color::Cyan,
        Tint::Yellow => Color::Yellow,
        Tint::Red => Color::Red,
        Tint::Magenta => Color::Magenta,
        Tint::Blue => Color::Blue,
        Tint::Dim => Color::DarkGrey,
    }
}
