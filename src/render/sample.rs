//! `ephemeral sample`: the ports in allocation order, a histogram, parity and the kernel's
//! policy; or JSON.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::Style;
use crate::ephemeral::Allocation;

const BARS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `ephemeral sample` for people: ports, a histogram fitted to the width, parity, policy.
pub fn text(out: &mut dyn Write, a: &Allocation, style: &Style) -> io::Result<()> {
    let width = usize::from(if style.width == 0 {
        super::FALLBACK_WIDTH
    } else {
        style.width
    })
    .clamp(24, 200);
    let n = a.ports.len();
    writeln!(
        out,
        "{}: {}, ports chosen from {}–{}",
        a.method.name(),
        crate::text::count(n, "socket"),
        a.range.0,
        a.range.1
    )?;
    writeln!(out, "ports in allocation order:")?;
    let mut line = String::from(" ");
    for port in &a.ports {
        if line.len() + 6 > width {
            writeln!(out, "{line}")?;
            line = String::from(" ");
        }
        let _ = write!(line, " {port}");
    }
    writeln!(out, "{line}")?;
    let columns = width - 2;
    let counts = a.histogram(columns);
    let top = counts.iter().copied().max().unwrap_or(0).max(1);
    let span = usize::from(a.range.1 - a.range.0) + 1;
    writeln!(
        out,
        "histogram over the range ({columns} columns of ≈{}; tallest = {top}):",
        crate::text::count(span.div_ceil(columns), "port")
    )?;
    let bars: String = counts
        .iter()
        .map(|c| BARS[(c * 8).div_ceil(top).min(8)])
        .collect();
    writeln!(out, "  {bars}")?;
    let (low, high) = (a.range.0.to_string(), a.range.1.to_string());
    writeln!(
        out,
        "  {low}{}{high}",
        " ".repeat(columns.saturating_sub(low.len() + high.len()))
    )?;
    let percent = |k: usize| 100.0 * k as f64 / n.max(1) as f64;
    let (min, max) = (
        a.ports.iter().min().copied().unwrap_or(0),
        a.ports.iter().max().copied().unwrap_or(0),
    );
    writeln!(
        out,
        "even {} ({:.0}%) · odd {} ({:.0}%) · distinct {} · repeats {} · spread {min}–{max} · outside the range {}",
        a.even(),
        percent(a.even()),
        a.odd(),
        percent(a.odd()),
        a.distinct(),
        n - a.distinct(),
        n - a.in_range()
    )?;
    writeln!(out, "policy: {}.", a.method.policy())?;
    let verdict = match a.method.preferred_even(a.range.0) {
        Some(even) => {
            let wanted = if even { a.even() } else { a.odd() };
            let parity = if even { "even" } else { "odd" };
            let seen = if percent(wanted) >= 90.0 {
                "as predicted"
            } else {
                "not as predicted"
            };
            format!(
                "predicted mostly {parity} (low end {} is {}); observed {:.0}% {parity}: {seen}",
                a.range.0,
                if a.range.0 % 2 == 0 { "even" } else { "odd" },
                percent(wanted)
            )
        }
        None => format!(
            "predicted no parity preference; observed {:.0}% even",
            percent(a.even())
        ),
    };
    writeln!(out, "{verdict}")
}

#[derive(Serialize)]
struct JsonSample<'a> {
    method: &'static str,
    range: [u16; 2],
    ports: &'a [u16],
    even: usize,
    odd: usize,
    distinct: usize,
}

pub fn json(out: &mut dyn Write, a: &Allocation) -> io::Result<()> {
    super::json::value(
        out,
        &JsonSample {
            method: a.method.name(),
            range: [a.range.0, a.range.1],
            ports: &a.ports,
            even: a.even(),
            odd: a.odd(),
            distinct: a.distinct(),
        },
    )
}
