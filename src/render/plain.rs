//! Plain aligned columns for pipes and files: no box drawing, one line per row, written
//! straight to the output. Two passes over the rows (measure, then print) keep memory flat.

use std::io::{self, Write};

use super::{Align, Rows, Style, Tint};

pub fn write(out: &mut dyn Write, rows: &dyn Rows, style: &Style) -> io::Result<()> {
    let columns = rows.headers().len();
    let mut widths: Vec<usize> = if style.header {
        rows.headers().iter().map(|h| h.chars().count()).collect()
    } else {
        vec![0; columns]
    };
    let mut text = String::new();
    for row in 0..rows.len() {
        for (column, width) in widths.iter_mut().enumerate() {
            text.clear();
            rows.cell(row, column, &mut text);
            *width = (*width).max(shown_width(&text));
        }
    }
    if style.header {
        let mut line = String::new();
        for (column, header) in rows.headers().iter().enumerate() {
            pad(
                &mut line,
                header,
                widths[column],
                rows.align(column),
                column + 1 == columns,
                None,
            );
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    let mut line = String::new();
    for row in 0..rows.len() {
        line.clear();
        for (column, width) in widths.iter().enumerate() {
            text.clear();
            rows.cell(row, column, &mut text);
            let tint = rows.tint(row, column).filter(|_| style.color);
            pad(
                &mut line,
                &text,
                *width,
                rows.align(column),
                column + 1 == columns,
                tint,
            );
        }
        line.push('\n');
        detail_line(rows, row, style, &mut line);
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A row's second line, indented under it (dim on a colour terminal).
fn detail_line(rows: &dyn Rows, row: usize, style: &Style, line: &mut String) {
    let start = line.len();
    line.push_str("    ");
    rows.detail(row, line);
    if line.len() == start + 4 {
        line.truncate(start);
        return;
    }
    if style.color {
        line.insert_str(start + 4, ansi(Tint::Dim));
        line.push_str("\x1b[0m");
    }
    line.push('\n');
}

/// Characters on screen; most cells are ASCII, where that is the length.
fn shown_width(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// Appends `n` spaces, a slice at a time.
fn spaces(line: &mut String, n: usize) {
    const SPACES: &str = "                                ";
    let mut left = n;
    while left > 0 {
        let now = left.min(SPACES.len());
        line.push_str(&SPACES[..now]);
        left -= now;
    }
}

/// Appends `text` padded to `width`, then the column gap; the last column is not padded.
fn pad(line: &mut String, text: &str, width: usize, align: Align, last: bool, tint: Option<Tint>) {
    let fill = width.saturating_sub(shown_width(text));
    if align == Align::Right {
        spaces(line, fill);
    }
    match tint {
        Some(tint) => tinted(line, text, tint),
        None => line.push_str(text),
    }
    if !last {
        if align == Align::Left {
            spaces(line, fill);
        }
        line.push_str("  ");
    }
}

/// Appends `text` in a colour (the caller decided colour is wanted).
pub fn tinted(line: &mut String, text: &str, tint: Tint) {
    line.push_str(ansi(tint));
    line.push_str(text);
    line.push_str("\x1b[0m");
}

fn ansi(tint: Tint) -> &'static str {
    match tint {
        Tint::Green => "\x1b[32m",
        Tint::Cyan => "\x1b[36m",
        Tint::Yellow => "\x1b[33m",
        Tint::Red => "\x1b[31m",
        Tint::Magenta => "\x1b[35m",
        Tint::Blue => "\x1b[34m",
        Tint::Dim => "\x1b[2m",
    }
}
