//! `bench` results: a table of the two runs and a verdict, or JSON.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::{Rows, Style};
use crate::bench::Bench;
use crate::bench::Outcome;
use crate::text::count;

struct Runs<'a>([(&'static str, &'a Outcome); 2]);

impl Rows for Runs<'_> {
    fn headers(&self) -> &[&'static str] {
        &[
            "Run",
            "Requests",
            "Seconds",
            "Req/s",
            "p50 ms",
            "p99 ms",
            "Ports used",
            "TIME_WAIT after",
        ]
    }

    fn right_aligned(&self, column: usize) -> bool {
        column != 0
    }

    fn len(&self) -> usize {
        2
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let (name, o) = self.0[row];
        let m = &o.measured;
        let _ = match column {
            0 => write!(out, "{name}"),
            1 => write!(out, "{}", m.requests),
            2 => write!(out, "{:.3}", m.seconds),
            3 => write!(out, "{:.0}", m.rps()),
            4 => write!(out, "{:.3}", m.quantile_ms(0.5)),
            5 => write!(out, "{:.3}", m.quantile_ms(0.99)),
            6 => write!(out, "{}", m.ports_used),
            _ => write!(out, "{}", o.time_wait_after),
        };
    }
}

/// One sentence comparing the runs.
pub fn verdict(short: &Outcome, long: &Outcome) -> String {
    let (s, l) = (&short.measured, &long.measured);
    format!(
        "long connections served {} requests {:.1}× as fast as short ones (p50 {:.3} vs {:.3} ms), \
         using {} instead of {} and leaving {} instead of {}: every short request paid a \
         handshake, a four-way close and a port held for 60 s",
        l.requests,
        l.rps() / s.rps().max(f64::MIN_POSITIVE),
        l.quantile_ms(0.5),
        s.quantile_ms(0.5),
        count(l.ports_used, "port"),
        s.ports_used,
        count(long.time_wait_after, "TIME_WAIT socket"),
        short.time_wait_after,
    )
}

pub fn text(
    out: &mut dyn Write,
    args: &Bench,
    short: &Outcome,
    long: &Outcome,
    style: &Style,
) -> io::Result<()> {
    writeln!(
        out,
        "{} of {} each way, {} at once, on loopback:",
        count(args.requests, "request/response exchange"),
        count(args.size, "byte"),
        count(args.concurrency, "client")
    )?;
    super::rows(
        out,
        &Runs([
            ("short (connection per request)", short),
            ("long (one connection per client)", long),
        ]),
        style,
    )?;
    writeln!(out, "{}.", verdict(short, long))?;
    writeln!(
        out,
        "Latency counts connect() to the last response byte for short requests, send() to it for long ones."
    )
}

#[derive(Serialize)]
struct JsonRun {
    requests: usize,
    seconds: f64,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    ports_used: usize,
    time_wait_after: usize,
}

#[derive(Serialize)]
struct JsonBench {
    short: JsonRun,
    long: JsonRun,
    verdict: String,
}

fn run(o: &Outcome) -> JsonRun {
    let m = &o.measured;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    JsonRun {
        requests: m.requests,
        seconds: round(m.seconds),
        rps: m.rps().round(),
        p50_ms: round(m.quantile_ms(0.5)),
        p99_ms: round(m.quantile_ms(0.99)),
        ports_used: m.ports_used,
        time_wait_after: o.time_wait_after,
    }
}

pub fn json(out: &mut dyn Write, short: &Outcome, long: &Outcome) -> io::Result<()> {
    super::json::value(
        out,
        &JsonBench {
            short: run(short),
            long: run(long),
            verdict: verdict(short, long),
        },
    )
}
