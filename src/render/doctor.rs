//! `portscope doctor`: each verdict with its evidence and what to do; or one JSON object.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use crate::doctor::{Diagnosis, Finding, Severity, Subject};
use crate::model::Inventory;

use super::json::{JsonProcess, processes};
use super::text::{endpoint, ip};
use super::{Style, Tint, plain};

/// `WARNING close-wait: pid 4242 — app (pid 4242, user root)` then indented evidence and advice.
pub fn text(out: &mut dyn Write, d: &Diagnosis, style: &Style) -> io::Result<()> {
    let inv = &d.inventory;
    if d.findings.is_empty() {
        writeln!(
            out,
            "no problems found in {} sockets (two looks {:.1} s apart)",
            inv.sockets.len(),
            d.elapsed.as_secs_f64()
        )?;
        return Ok(());
    }
    let mut line = String::new();
    for f in &d.findings {
        line.clear();
        let label = f.severity.name().to_ascii_uppercase();
        match tint(f.severity).filter(|_| style.color) {
            Some(t) => plain::tinted(&mut line, &label, t),
            None => line.push_str(&label),
        }
        line.push(' ');
        line.push_str(f.kind);
        line.push_str(": ");
        subject(&f.subject, &mut line);
        for pid in &f.pids {
            line.push_str("\n    held by ");
            super::who::process(*pid, inv, &mut line);
        }
        for pid in &f.peer_pids {
            line.push_str("\n    read by ");
            super::who::process(*pid, inv, &mut line);
        }
        for fact in &f.evidence {
            line.push_str("\n    evidence: ");
            line.push_str(fact);
        }
        line.push_str("\n    do: ");
        line.push_str(&f.advice);
        line.push_str("\n\n");
        out.write_all(line.as_bytes())?;
    }
    let warnings = d
        .findings
        .iter()
        .filter(|f| f.severity >= Severity::Warning);
    writeln!(
        out,
        "{} findings ({} warning or worse) in {} sockets, two looks {:.1} s apart",
        d.findings.len(),
        warnings.count(),
        inv.sockets.len(),
        d.elapsed.as_secs_f64()
    )
}

fn tint(severity: Severity) -> Option<Tint> {
    match severity {
        Severity::Critical => Some(Tint::Red),
        Severity::Warning => Some(Tint::Yellow),
        Severity::Info => Some(Tint::Cyan),
    }
}

#[derive(Serialize)]
struct JsonDiagnosis<'a> {
    interval_s: f64,
    sockets: usize,
    findings: Vec<JsonFinding<'a>>,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    severity: &'static str,
    kind: &'static str,
    subject: String,
    evidence: &'a [String],
    advice: &'a str,
    processes: Vec<JsonProcess<'a>>,
    peer_processes: Vec<JsonProcess<'a>>,
}

/// `127.0.0.1:8080`, `10.0.0.5:40022 → 10.0.0.9:443`, `pid 4242`, `::1 → [::1]:8080`,
/// `port 80`, `tcp`.
fn subject(s: &Subject, out: &mut String) {
    match s {
        Subject::Socket { local, iface } => endpoint(local, iface.as_deref(), out),
        Subject::Connection {
            local,
            remote,
            iface,
        } => {
            endpoint(local, iface.as_deref(), out);
            out.push_str(" → ");
            endpoint(remote, iface.as_deref(), out);
        }
        Subject::Process(Some(pid)) => {
            let _ = write!(out, "pid {pid}");
        }
        Subject::Process(None) => out.push_str("no visible process"),
        Subject::Destination { local, remote } => {
            ip(local, None, out);
            out.push_str(" → ");
            endpoint(remote, None, out);
        }
        Subject::Port(port) => {
            let _ = write!(out, "port {port}");
        }
        Subject::Protocol(proto) => out.push_str(proto.name()),
    }
}

pub fn json(out: &mut dyn Write, d: &Diagnosis) -> io::Result<()> {
    let inv = &d.inventory;
    let report = JsonDiagnosis {
        interval_s: d.elapsed.as_secs_f64(),
        sockets: inv.sockets.len(),
        findings: d.findings.iter().map(|f| json_finding(f, inv)).collect(),
    };
    super::json::value(out, &report)
}

fn json_finding<'a>(f: &'a Finding, inv: &'a Inventory) -> JsonFinding<'a> {
    JsonFinding {
        severity: f.severity.name(),
        kind: f.kind,
        subject: {
            let mut text = String::new();
            subject(&f.subject, &mut text);
            text
        },
        evidence: &f.evidence,
        advice: &f.advice,
        processes: processes(&f.pids, inv),
        peer_processes: processes(&f.peer_pids, inv),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Endpoint, Proto};

    fn text(s: Subject) -> String {
        let mut out = String::new();
        subject(&s, &mut out);
        out
    }

    fn ep(text: &str) -> Endpoint {
        let addr: std::net::SocketAddr = text.parse().expect("address");
        Endpoint {
            ip: addr.ip(),
            port: addr.port(),
        }
    }

    /// Addresses as every other command writes them: an IPv6 destination's port is not read
    /// as part of the address (it was `::1 → ::1:8080`).
    #[test]
    fn subjects_read_as_addresses() {
        let destination = Subject::Destination {
            local: "::1".parse().expect("address"),
            remote: ep("[::1]:8080"),
        };
        assert_eq!(text(destination), "::1 → [::1]:8080");
        let connection = Subject::Connection {
            local: ep("10.0.0.5:40022"),
            remote: ep("10.0.0.9:443"),
            iface: None,
        };
        assert_eq!(text(connection), "10.0.0.5:40022 → 10.0.0.9:443");
        assert_eq!(text(Subject::Process(Some(4242))), "pid 4242");
        assert_eq!(text(Subject::Protocol(Proto::Udp)), "udp");
    }
}
