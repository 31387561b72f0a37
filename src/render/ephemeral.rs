//! The `ephemeral` report for people (text) and scripts (JSON).

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::text;
use super::{Rows, Style, Tint};
use crate::ephemeral::report::{Destination, Evidence, Level, Report};
use crate::model::{Inventory, Proto, Socket};

/// The busiest destinations shown in the text report.
const SHOWN: usize = 15;

struct DestinationRows<'a>(&'a [Destination]);

impl Rows for DestinationRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &[
            "Local",
            "Remote",
            "Used",
            "bind()",
            "TIME_WAIT",
            "Free",
            "Use",
        ]
    }

    fn right_aligned(&self, column: usize) -> bool {
        column >= 2
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        let d = &self.0[row];
        let _ = match column {
            0 => write!(out, "{}", d.local),
            1 => write!(
                out,
                "{}",
                std::net::SocketAddr::new(d.remote, d.remote_port)
            ),
            2 => write!(out, "{}", d.used),
            3 => write!(out, "{}", d.bound),
            4 => write!(out, "{}", d.time_wait),
            5 => write!(out, "{}", d.free()),
            _ => match d.level() {
                Level::Ok => write!(out, "{:.0}%", d.taken_percent()),
                level => write!(out, "{:.0}% {}", d.taken_percent(), level.name()),
            },
        };
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        match (column, self.0[row].level()) {
            (6, Level::Warning) => Some(Tint::Yellow),
            (6, Level::Critical) => Some(Tint::Red),
            _ => None,
        }
    }
}

fn tw_reuse(value: Option<u8>) -> String {
    match value {
        Some(0) => "0 (off)".into(),
        Some(1) => "1 (on)".into(),
        Some(2) => "2 (loopback only)".into(),
        Some(v) => v.to_string(),
        None => "?".into(),
    }
}

pub fn text(
    out: &mut dyn Write,
    report: &Report,
    inv: &Inventory,
    style: &Style,
) -> io::Result<()> {
    let s = &report.settings;
    writeln!(
        out,
        "Ephemeral range (net.ipv4.ip_local_port_range): {}–{}, {}",
        s.range.0,
        s.range.1,
        crate::text::count(s.range_size(), "port")
    )?;
    let reserved: Vec<String> = s
        .reserved
        .iter()
        .map(|(l, h)| {
            if l == h {
                l.to_string()
            } else {
                format!("{l}-{h}")
            }
        })
        .collect();
    writeln!(
        out,
        "  reserved (ip_local_reserved_ports): {} ({} in the range)",
        if reserved.is_empty() {
            "none".to_string()
        } else {
            reserved.join(",")
        },
        s.reserved_in_range()
    )?;
    writeln!(
        out,
        "  ip_unprivileged_port_start {} · tcp_tw_reuse {} · tcp_fin_timeout {} s",
        s.unprivileged_port_start
            .map_or("?".into(), |p| p.to_string()),
        tw_reuse(s.tcp_tw_reuse),
        s.tcp_fin_timeout.map_or("?".into(), |t| t.to_string()),
    )?;
    let states: Vec<String> = report
        .tcp_by_state
        .iter()
        .map(|(state, n)| format!("{} {n}", state.name()))
        .collect();
    writeln!(
        out,
        "In use from the range now: TCP {}{} · UDP {}",
        report.tcp,
        if states.is_empty() {
            String::new()
        } else {
            format!(" ({})", states.join(", "))
        },
        report.udp
    )?;
    let held = &report.bind_before_connect;
    let about = if held.is_estimate() { "≈ " } else { "" };
    writeln!(
        out,
        "Per destination: a connect() port must be unique per (local address, remote address, \
         remote port), but a port bind() took is taken for every destination; capacity = range \
         {} − reserved {} − held by bind() {about}{} = {about}{}",
        s.range_size(),
        s.reserved_in_range(),
        report.tcp_bind_held,
        report.capacity()
    )?;
    let listeners = report.tcp_bind_held - held.ports.len().min(report.tcp_bind_held);
    match held.evidence {
        Evidence::Nothing => {}
        Evidence::Trial => writeln!(
            out,
            "  held by bind(): {listeners} listening or only bound, {} by connections bound before connect() \
             (found by trial connects limited to each port, which the kernel refuses)",
            held.ports.len()
        )?,
        Evidence::Parity => writeln!(
            out,
            "  held by bind(): {listeners} listening or only bound, ≈ {} by connections bound before connect() \
             — an estimate (no trial connects: an older kernel, loopback down, or over 4096 ports): ports of bind()'s parity ({}) used \
             by one connection only",
            held.ports.len(),
            if s.range.0 % 2 == 0 { "odd" } else { "even" }
        )?,
    }
    let shown = &report.destinations[..report.destinations.len().min(SHOWN)];
    if shown.is_empty() {
        writeln!(out, "  (no outgoing connections from the range)")?;
    } else {
        super::rows(out, &DestinationRows(shown), style)?;
    }
    if report.destinations.len() > shown.len() {
        let more = report.destinations.len() - shown.len();
        writeln!(
            out,
            "  … and {more} less busy destinations (--json lists all)"
        )?;
    }
    writeln!(
        out,
        "A connect() to a new destination can take {about}{} ports.",
        report.capacity()
    )?;
    // TCP and UDP ports are separate spaces: a bound UDP socket takes nothing from TCP.
    let (tcp, udp): (Vec<&Socket>, Vec<&Socket>) = report
        .bound
        .iter()
        .map(|i| &inv.sockets[*i])
        .partition(|s| s.proto == Proto::Tcp);
    writeln!(
        out,
        "Held through bind() (taken from every TCP destination):"
    )?;
    let connections = held.ports.len();
    if tcp.is_empty() && connections == 0 {
        writeln!(out, "  (none)")?;
    }
    bound(out, &tcp, inv)?;
    if connections > 0 {
        writeln!(
            out,
            "  and {about}{connections} connections bound before connect() (their rows' bind() \
             column above)"
        )?;
    }
    if !udp.is_empty() {
        writeln!(
            out,
            "UDP sockets on range ports (UDP's own ports: none taken from TCP):"
        )?;
        bound(out, &udp, inv)?;
    }
    Ok(())
}

/// One line per socket: protocol, local address, state, owner.
fn bound(out: &mut dyn Write, sockets: &[&Socket], inv: &Inventory) -> io::Result<()> {
    for sock in sockets {
        let mut line = format!("  {:<5} ", text::proto_label(sock));
        text::endpoint(&sock.local, sock.iface.as_deref(), &mut line);
        let _ = write!(line, "  {}  ", sock.state.name());
        text::owner(sock, inv, &mut line);
        writeln!(out, "{line}")?;
    }
    Ok(())
}

#[derive(Serialize)]
struct JsonReport<'a> {
    range: JsonRange,
    reserved: Vec<[u16; 2]>,
    reserved_in_range: usize,
    unprivileged_port_start: Option<u16>,
    tcp_tw_reuse: Option<u8>,
    tcp_fin_timeout: Option<u32>,
    in_use: JsonInUse,
    time_wait: usize,
    held_by_bind: usize,
    bound_before_connect: usize,
    /// How `bound_before_connect` was found: `trial`, `parity` (an estimate), or null.
    bound_before_connect_by: Option<&'static str>,
    /// `held_by_bind` and `capacity` are estimates.
    estimate: bool,
    capacity: usize,
    destinations: Vec<JsonDestination>,
    bound: Vec<super::json::JsonSocket<'a>>,
}

#[derive(Serialize)]
struct JsonRange {
    low: u16,
    high: u16,
    size: usize,
}

#[derive(Serialize)]
struct JsonInUse {
    tcp: usize,
    udp: usize,
    tcp_states: std::collections::BTreeMap<&'static str, usize>,
}

#[derive(Serialize)]
struct JsonDestination {
    local_addr: String,
    remote_addr: String,
    remote_port: u16,
    used: usize,
    bound: usize,
    time_wait: usize,
    capacity: usize,
    free: usize,
    percent: f64,
    taken_percent: f64,
    level: &'static str,
}

pub fn json(out: &mut dyn Write, report: &Report, inv: &Inventory) -> io::Result<()> {
    let s = &report.settings;
    let value = JsonReport {
        range: JsonRange {
            low: s.range.0,
            high: s.range.1,
            size: s.range_size(),
        },
        reserved: s.reserved.iter().map(|(l, h)| [*l, *h]).collect(),
        reserved_in_range: s.reserved_in_range(),
        unprivileged_port_start: s.unprivileged_port_start,
        tcp_tw_reuse: s.tcp_tw_reuse,
        tcp_fin_timeout: s.tcp_fin_timeout,
        in_use: JsonInUse {
            tcp: report.tcp,
            udp: report.udp,
            tcp_states: report
                .tcp_by_state
                .iter()
                .map(|(st, n)| (st.name(), *n))
                .collect(),
        },
        time_wait: report.time_wait,
        held_by_bind: report.tcp_bind_held,
        bound_before_connect: report.bind_before_connect.ports.len(),
        bound_before_connect_by: match report.bind_before_connect.evidence {
            Evidence::Nothing => None,
            Evidence::Trial => Some("trial"),
            Evidence::Parity => Some("parity"),
        },
        estimate: report.bind_before_connect.is_estimate(),
        capacity: report.capacity(),
        destinations: report
            .destinations
            .iter()
            .map(|d| JsonDestination {
                local_addr: d.local.to_string(),
                remote_addr: d.remote.to_string(),
                remote_port: d.remote_port,
                used: d.used,
                bound: d.bound,
                time_wait: d.time_wait,
                capacity: d.capacity,
                free: d.free(),
                percent: (d.percent() * 10.0).round() / 10.0,
                taken_percent: (d.taken_percent() * 10.0).round() / 10.0,
                level: d.level().name(),
            })
            .collect(),
        bound: report
            .bound
            .iter()
            .map(|i| super::json::JsonSocket::new(&inv.sockets[*i], inv))
            .collect(),
    };
    super::json::value(out, &value)
}
