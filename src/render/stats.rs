//! `portscope stats`: counters with their meaning, as a table or one JSON object per look.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::stats::{Kind, Stat};

use super::table::Narrow;
use super::text::number;
use super::{Rows, Tint};

/// The rows of one report; `rates` adds the per-second column.
pub struct StatRows<'a> {
    pub stats: &'a [Stat],
    pub rates: bool,
}

const HEADERS: [&str; 3] = ["Counter", "Value", "Meaning"];
const WITH_RATES: [&str; 4] = ["Counter", "Value", "Per Second", "Meaning"];
/// On a narrow terminal the meaning (the last column) is cut; `--json` and pipes keep it whole.
const NARROWING: [Narrow; 1] = [Narrow::Shorten(HEADERS.len() - 1, 20)];
const NARROWING_WITH_RATES: [Narrow; 1] = [Narrow::Shorten(WITH_RATES.len() - 1, 20)];

impl Rows for StatRows<'_> {
    fn headers(&self) -> &[&'static str] {
        if self.rates { &WITH_RATES } else { &HEADERS }
    }

    fn right_aligned(&self, column: usize) -> bool {
        column == 1 || (self.rates && column == 2)
    }

    fn narrowing(&self) -> &[Narrow] {
        if self.rates {
            &NARROWING_WITH_RATES
        } else {
            &NARROWING
        }
    }

    fn len(&self) -> usize {
        self.stats.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let s = &self.stats[row];
        match (column, self.rates) {
            (0, _) => {
                let _ = write!(out, "{}.{}", s.known.section, s.known.name);
            }
            (1, _) => {
                let _ = write!(out, "{}", s.value);
            }
            (2, true) => match s.per_second {
                Some(rate) => {
                    let _ = write!(out, "{rate:.1}");
                }
                None if s.known.kind == Kind::Gauge => out.push_str("(level)"),
                None => out.push('-'),
            },
            _ => meaning(s, out),
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        let s = &self.stats[row];
        let rising = s.per_second.is_some_and(|r| r > 0.0);
        (column == 2 && self.rates && rising).then_some(Tint::Yellow)
    }
}

fn meaning(s: &Stat, out: &mut String) {
    out.push_str(s.known.meaning);
    if let Some((name, limit)) = s.limit {
        out.push_str(" [");
        out.push_str(name);
        out.push(' ');
        match u32::try_from(limit) {
            Ok(n) => number(n, out),
            Err(_) => {
                let _ = write!(out, "{limit}");
            }
        }
        out.push(']');
    }
}

#[derive(Serialize)]
struct JsonReport<'a> {
    interval_s: Option<f64>,
    counters: Vec<JsonStat<'a>>,
}

#[derive(Serialize)]
struct JsonStat<'a> {
    section: &'static str,
    name: &'static str,
    kind: &'static str,
    value: i64,
    per_second: Option<f64>,
    limit: Option<i64>,
    limit_name: Option<&'a str>,
    meaning: &'static str,
}

/// One report as one JSON line (docs/json.md).
pub fn json(out: &mut dyn Write, stats: &[Stat], interval_s: Option<f64>) -> io::Result<()> {
    let report = JsonReport {
        interval_s,
        counters: stats
            .iter()
            .map(|s| JsonStat {
                section: s.known.section,
                name: s.known.name,
                kind: match s.known.kind {
                    Kind::Counter => "counter",
                    Kind::Gauge => "gauge",
                },
                value: s.value,
                per_second: s.per_second,
                limit: s.limit.map(|(_, v)| v),
                limit_name: s.limit.map(|(n, _)| n),
                meaning: s.known.meaning,
            })
            .collect(),
    };
    super::json::value(out, &report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{Style, rows};
    use crate::stats::KNOWN;

    /// On an 80-column terminal the meanings are cut to the width, and the numbers stay in
    /// their column (a long counter name pushed its row's numbers out of line).
    #[test]
    fn a_terminal_gets_the_meanings_cut_to_its_width() {
        let stats: Vec<Stat> = KNOWN
            .iter()
            .map(|known| Stat {
                known,
                value: 7,
                per_second: Some(0.5),
                limit: None,
            })
            .collect();
        for rates in [false, true] {
            let style = Style {
                color: false,
                terminal: true,
                width: 80,
                header: true,
            };
            let mut out = Vec::new();
            rows(
                &mut out,
                &StatRows {
                    stats: &stats,
                    rates,
                },
                &style,
            )
            .unwrap();
            let text = String::from_utf8(out).unwrap();
            let body: Vec<&str> = text.lines().skip(2).collect();
            assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
            let value_end = |line: &str| line.find(" 7 ").map(|at| at + 2);
            let first = value_end(body[0]);
            assert!(first.is_some(), "{text}");
            assert!(body.iter().all(|l| value_end(l) == first), "{text}");
        }
    }
}
