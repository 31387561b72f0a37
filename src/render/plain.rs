//! Aligned columns, one line per row, written straight to the output: plain in pipes and
//! files, and the printer behind the fitted table. It takes two passes over the rows (measure,
//! then print); `render::rows` hands it rows rendered once (`Rendered`).

use std::io::{self, Write};

use super::rendered::Rendered;
use super::{Align, FIELD_BREAK, Rows, Style, Tint};

/// One printed column: which of the rows' columns, how wide, and whether its cells are
/// shortened to that width (`Rows::short_cell`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub index: usize,
    pub width: usize,
    pub short: bool,
}

pub fn write(out: &mut dyn Write, rows: &Rendered, style: &Style) -> io::Result<()> {
    let columns = measure(rows, style.header);
    print(out, rows, style, &columns, false)
}

/// Every column at the width of its widest cell (and header).
pub fn measure(rows: &Rendered, header: bool) -> Vec<Column> {
    let headers = rows.rows.headers();
    let mut widths: Vec<usize> = if header {
        headers.iter().map(|h| h.chars().count()).collect()
    } else {
        vec![0; headers.len()]
    };
    for row in 0..rows.len() {
        for (column, width) in widths.iter_mut().enumerate() {
            *width = (*width).max(rows.width(row, column));
        }
    }
    widths
        .into_iter()
        .enumerate()
        .map(|(index, width)| Column {
            index,
            width,
            short: false,
        })
        .collect()
}

/// The header, then the rows, in the columns given; as a table (`rule`), the header is bold
/// when in colour and a rule no wider than `style.width` follows it.
pub fn print(
    out: &mut dyn Write,
    rendered: &Rendered,
    style: &Style,
    columns: &[Column],
    rule: bool,
) -> io::Result<()> {
    let rows = rendered.rows;
    let aligns: Vec<Align> = columns.iter().map(|c| rows.align(c.index)).collect();
    let mut line = String::new();
    let mut text = String::new();
    if style.header {
        let bold = (rule && style.color).then_some("\x1b[1m");
        for (i, c) in columns.iter().enumerate() {
            text.clear();
            cut(rows.headers()[c.index], c.width, &mut text);
            let shown = Shown(&text, shown_width(&text));
            pad(&mut line, shown, c, aligns[i], i + 1 == columns.len(), bold);
        }
        writeln!(out, "{}", line.trim_end())?;
        if rule {
            let width = columns.iter().map(|c| c.width + 2).sum::<usize>();
            let width = width.saturating_sub(2).min(usize::from(style.width));
            writeln!(out, "{}", "─".repeat(width))?;
        }
    }
    for row in 0..rows.len() {
        line.clear();
        for (i, c) in columns.iter().enumerate() {
            let cell = if c.short {
                text.clear();
                rows.short_cell(row, c.index, c.width, &mut text);
                Shown(&text, shown_width(&text))
            } else {
                Shown(rendered.cell(row, c.index), rendered.width(row, c.index))
            };
            let tint = style
                .color
                .then(|| rows.tint(row, c.index).map(ansi))
                .flatten();
            pad(&mut line, cell, c, aligns[i], i + 1 == columns.len(), tint);
        }
        line.push('\n');
        let wrap = rule.then_some(usize::from(style.width));
        detail_line(rows, row, style, wrap, &mut text, &mut line);
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// A row's second line, indented under it (dim on a colour terminal). In a table (`wrap`:
/// the terminal's width) it breaks between fields rather than run past the edge, where the
/// terminal would break it inside a value.
fn detail_line(
    rows: &dyn Rows,
    row: usize,
    style: &Style,
    wrap: Option<usize>,
    text: &mut String,
    line: &mut String,
) {
    const INDENT: &str = "    ";
    text.clear();
    rows.detail(row, text);
    if text.is_empty() {
        return;
    }
    let (dim, reset) = if style.color {
        (ansi(Tint::Dim), RESET)
    } else {
        ("", "")
    };
    let mut used = 0;
    for field in text.split(FIELD_BREAK) {
        let width = shown_width(field);
        if used == 0 {
            line.push_str(INDENT);
            line.push_str(dim);
            used = INDENT.len();
        } else if wrap.is_some_and(|wrap| used + 1 + width > wrap) {
            line.push_str(reset);
            line.push('\n');
            line.push_str(INDENT);
            line.push_str(dim);
            used = INDENT.len();
        } else {
            line.push(' ');
            used += 1;
        }
        line.push_str(field);
        used += width;
    }
    line.push_str(reset);
    line.push('\n');
}

/// Text and the characters it takes on screen.
#[derive(Clone, Copy)]
struct Shown<'a>(&'a str, usize);

/// Characters on screen; most cells are ASCII, where that is the length.
pub fn shown_width(text: &str) -> usize {
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

/// Appends `text` cut to `width` characters, the last of them `…` when something was left out.
pub fn cut(text: &str, width: usize, out: &mut String) {
    if shown_width(text) <= width {
        out.push_str(text);
    } else {
        out.extend(text.chars().take(width.saturating_sub(1)));
        out.push('…');
    }
}

/// Appends `text` padded to the column's width, then the column gap; the last column is not
/// padded.
fn pad(line: &mut String, shown: Shown, c: &Column, align: Align, last: bool, code: Option<&str>) {
    let Shown(text, width) = shown;
    let fill = c.width.saturating_sub(width);
    if align == Align::Right {
        spaces(line, fill);
    }
    match code {
        Some(code) => coloured(line, text, code),
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
    coloured(line, text, ansi(tint));
}

/// Appends `text` between an escape sequence (`code`) and the reset.
fn coloured(line: &mut String, text: &str, code: &str) {
    line.push_str(code);
    line.push_str(text);
    line.push_str(RESET);
}

const RESET: &str = "\x1b[0m";

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
