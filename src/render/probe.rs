//! Probe results: a line per probe for people, RTT statistics, and the JSON array.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

use serde::Serialize;

use crate::probe::model::{Outcome, Tally, Target};

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `127.0.0.1:22/tcp`, `[fe80::1%2]:22/tcp` (a link-local address with its interface index).
fn place(t: &Target) -> String {
    format!("{}/{}", t.addr, t.proto.name())
}

/// The address for JSON: `::1`, and `fe80::1%2` with the interface index when scoped.
fn ip(addr: &SocketAddr) -> String {
    match addr {
        SocketAddr::V6(v6) if v6.scope_id() != 0 => format!("{}%{}", v6.ip(), v6.scope_id()),
        other => other.ip().to_string(),
    }
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
    if o.unreliable {
        notes.push("unreliable: faster than the target's ICMP rate limit".to_string());
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
pub fn summary(tally: &Tally) -> String {
    let probes = tally.probes();
    if probes == 0 {
        return "0 probes".to_string();
    }
    let parts: Vec<String> = tally
        .statuses
        .iter()
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    let mut text = format!(
        "{}: {}",
        crate::text::count(probes as usize, "probe"),
        parts.join(", ")
    );
    if tally.unreliable > 0 {
        let _ = write!(
            text,
            "\nunreliable: {} open|filtered answers may be closed ports whose ICMP port \
             unreachable the target's rate limit suppressed (the probes went faster than it \
             answers; --rate lower, or leave it out to pace by its limit)",
            tally.unreliable
        );
    }
    text
}

/// Per target, in port order: probes, open, closed, loss and RTT min/avg/max (tcping style:
/// a refusal is an answer, so only silence and errors are loss).
pub fn statistics(out: &mut dyn Write, targets: &[Target], tally: &Tally) -> io::Result<()> {
    let mut order: Vec<usize> = (0..targets.len().min(tally.targets.len())).collect();
    order.sort_by_key(|i| (targets[*i].port(), *i));
    for index in order {
        let stats = &tally.targets[index];
        if stats.probes == 0 {
            continue;
        }
        let mut text = format!(
            "--- {}: {}, {} open, {} closed, {:.0}% loss",
            place(&targets[index]),
            crate::text::count(stats.probes as usize, "probe"),
            stats.open,
            stats.answered - stats.open,
            stats.loss_percent()
        );
        if let (Some(min), Some(avg), Some(max)) = (stats.rtt_min, stats.rtt_avg(), stats.rtt_max)
        {
            let (min, avg, max) = (ms(min), ms(avg), ms(max));
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
    error: Option<String>,
    detail: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u64>,
    /// Present (true) on an open|filtered verdict that may be a rate-limited closed port.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    unreliable: bool,
}

/// The `probe --json` array (docs/json.md), written as the outcomes come (each round in port
/// order).
pub fn json(
    out: &mut dyn Write,
    targets: &[Target],
    outcomes: impl Iterator<Item = Outcome>,
    numbered: bool,
) -> io::Result<()> {
    super::json::array(
        out,
        outcomes.map(|o| {
            let t = &targets[o.target];
            JsonProbe {
                host: &t.host,
                addr: ip(&t.addr),
                port: t.port(),
                proto: t.proto.name(),
                status: o.status.name(),
                rtt_ms: o.rtt.map(|d| (ms(d) * 1000.0).round() / 1000.0),
                local_port: o.local_port,
                error: o.error,
                detail: o.detail.map(|d| d.into_owned()),
                attempt: numbered.then_some(o.attempt),
                unreliable: o.unreliable,
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Proto;
    use crate::probe::model::Status;

    fn target(port: u16) -> Target {
        Target {
            host: "localhost".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
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
            unreliable: false,
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
        let mut tally = Tally::new(1);
        tally.add(&open);
        assert_eq!(summary(&tally), "1 probe: 1 open");
        tally.add(&closed);
        assert_eq!(summary(&tally), "2 probes: 1 open, 1 closed");
        let mut text = Vec::new();
        let mut tally = Tally::new(1);
        for o in [
            open,
            outcome(Status::Open, Some(120), 2),
            outcome(Status::Filtered, None, 3),
        ] {
            tally.add(&o);
        }
        statistics(&mut text, &[target(22)], &tally).unwrap();
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "--- 127.0.0.1:22/tcp: 3 probes, 2 open, 0 closed, 33% loss; rtt min/avg/max = 0.080/0.100/0.120 ms\n"
        );
    }
}
