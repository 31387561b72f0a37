//! Probe results: a line per probe for people, RTT statistics, and the JSON array.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serialize;

use crate::probe::model::{Outcome, Status, Target};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn place(t: &Target) -> String {
    format!("{}/{}", SocketAddr::new(t.addr, t.port), t.proto.name())
}

/// `127.0.0.1:22/tcp  open  0.08 ms  (local port 40312)`.
pub fn line(t: &Target, o: &Outcome, numbered: bool) -> String {
    let mut line = format!("{:<26} {:<13}", place(t), o.status.name());
    match o.rtt {
        Some(rtt) => {
            let _ = write!(line, " {:>9.2} ms", ms(rtt));
        }
        None => line.push_str(&" ".repeat(13)),
    }
    let mut notes = Vec::new();
    if let Some(detail) = &o.detail {
        notes.push(detail.to_string());
    }
    if let Some(error) = &o.error {
        notes.push(error.clone());
    }
    if let Some(port) = o.local_port {
        notes.push(format!("local port {port}"));
    }
    if numbered {
        notes.push(format!("seq {}", o.attempt));
    }
    if !notes.is_empty() {
        let _ = write!(line, "  ({})", notes.join(", "));
    }
    line.trim_end().to_string()
}

/// `3 probes: 1 open, 2 closed`.
pub fn summary(all: &[Outcome]) -> String {
    if all.is_empty() {
        return "0 probes".to_string();
    }
    let mut counts: BTreeMap<Status, usize> = BTreeMap::new();
    for o in all {
        *counts.entry(o.status).or_default() += 1;
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    format!(
        "{} probe{}: {}",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        parts.join(", ")
    )
}

/// Per target: probes, open, loss and RTT min/avg/max (tcping style).
pub fn statistics(out: &mut dyn Write, targets: &[Target], all: &[Outcome]) -> io::Result<()> {
    let mut by_target: BTreeMap<(u16, usize), Vec<&Outcome>> = BTreeMap::new();
    for o in all {
        by_target
            .entry((targets[o.target].port, o.target))
            .or_default()
            .push(o);
    }
    for ((_, index), outcomes) in by_target {
        let open: Vec<f64> = outcomes
            .iter()
            .filter(|o| o.status == Status::Open)
            .filter_map(|o| o.rtt.map(ms))
            .collect();
        let loss = 100.0 * (outcomes.len() - open.len()) as f64 / outcomes.len() as f64;
        let mut text = format!(
            "--- {}: {} probes, {} open, {loss:.0}% loss",
            place(&targets[index]),
            outcomes.len(),
            open.len()
        );
        if !open.is_empty() {
            let min = open.iter().copied().fold(f64::INFINITY, f64::min);
            let max = open.iter().copied().fold(0.0, f64::max);
            let avg = open.iter().sum::<f64>() / open.len() as f64;
            let _ = write!(text, "; rtt min/avg/max = {min:.3}/{avg:.3}/{max:.3} ms");
        }
        writeln!(out, "{text}")?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonProbe<'a> {
    host: &'a str,
    addr: String,
    port: u16,
    proto: &'static str,
    status: &'static str,
    rtt_ms: Option<f64>,
    local_port: Option<u16>,
    error: Option<&'a str>,
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u64>,
}

/// The `probe --json` array (docs/json.md), in port order.
pub fn json(
    out: &mut dyn Write,
    targets: &[Target],
    all: &[Outcome],
    numbered: bool,
) -> io::Result<()> {
    super::json::array(
        out,
        all.iter().map(|o| {
            let t = &targets[o.target];
            JsonProbe {
                host: &t.host,
                addr: t.addr.to_string(),
                port: t.port,
                proto: t.proto.name(),
                status: o.status.name(),
                rtt_ms: o.rtt.map(|d| (ms(d) * 1000.0).round() / 1000.0),
                local_port: o.local_port,
                error: o.error.as_deref(),
                detail: o.detail.as_deref(),
                attempt: numbered.then_some(o.attempt),
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Proto;

    fn target(port: u16) -> Target {
        Target {
            host: "localhost".into(),
            addr: "127.0.0.1".parse().unwrap(),
            port,
            proto: Proto::Tcp,
        }
    }

    fn outcome(status: Status, rtt_us: Option<u64>, attempt: u64) -> Outcome {
        Outcome {
            target: 0,
            attempt,
            status,
            rtt: rtt_us.map(Duration::from_micros),
            local_port: Some(40312),
            error: None,
            detail: (status == Status::Closed).then(|| "RST".into()),
        }
    }

    #[test]
    fn lines_summary_and_statistics() {
        let open = outcome(Status::Open, Some(80), 1);
        assert_eq!(
            line(&target(22), &open, false),
            "127.0.0.1:22/tcp           open               0.08 ms  (local port 40312)"
        );
        let closed = outcome(Status::Closed, Some(50), 2);
        assert_eq!(
            line(&target(23), &closed, true),
            "127.0.0.1:23/tcp           closed             0.05 ms  (RST, local port 40312, seq 2)"
        );
        assert_eq!(
            summary(&[open.clone(), closed.clone()]),
            "2 probes: 1 open, 1 closed"
        );
        let mut text = Vec::new();
        let all = [
            open,
            outcome(Status::Open, Some(120), 2),
            outcome(Status::Filtered, None, 3),
        ];
        statistics(&mut text, &[target(22)], &all).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "--- 127.0.0.1:22/tcp: 3 probes, 2 open, 33% loss; rtt min/avg/max = 0.080/0.100/0.120 ms\n"
        );
    }
}
