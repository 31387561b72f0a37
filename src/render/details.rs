//! `ls -i`: each socket's details (tcp_info, memory, congestion control, timer) as a compact
//! second line on a terminal, as columns of plain numbers in a pipe, and as JSON.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Details, Socket, SocketMemory, TcpInfo, Timer, TimerKind};

use super::sockets::{HEADERS, SocketRows};
use super::table::Narrow;
use super::text::{long_number, number};
use super::{Align, FIELD_BREAK, Rows, Tint};

/// How the details are shown next to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// A second, indented line under each socket (people at a terminal).
    Line,
    /// More columns, plain numbers in fixed units (scripts reading a pipe).
    Columns,
}

/// The extra columns, in the units their names give.
pub const COLUMNS: [&str; 20] = [
    "Rtt-ms",
    "Rttvar-ms",
    "Cwnd",
    "Ssthresh",
    "Mss",
    "Retrans",
    "Retrans-Total",
    "Lost",
    "Bytes-Sent",
    "Bytes-Acked",
    "Bytes-Received",
    "Delivery-Bps",
    "Pacing-Bps",
    "Busy-ms",
    "Rwnd-Limited-ms",
    "Sndbuf-Limited-ms",
    "Cong",
    "Rmem/Rcvbuf",
    "Drops",
    "Timer",
];

/// The `ls` rows with each socket's details.
pub struct DetailRows<'a> {
    pub rows: SocketRows<'a>,
    pub layout: Layout,
    headers: Vec<&'static str>,
}

impl<'a> DetailRows<'a> {
    pub fn new(rows: SocketRows<'a>, layout: Layout) -> DetailRows<'a> {
        let mut headers = HEADERS.to_vec();
        if layout == Layout::Columns {
            headers.extend(COLUMNS);
        }
        DetailRows {
            rows,
            layout,
            headers,
        }
    }

    fn socket(&self, row: usize) -> Option<&Socket> {
        self.rows.inventory.sockets.get(row)
    }
}

impl Rows for DetailRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    fn align(&self, column: usize) -> Align {
        match column.checked_sub(HEADERS.len()) {
            None => self.rows.align(column),
            Some(16 | 17 | 19) => Align::Left,
            Some(_) => Align::Right,
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        match column.checked_sub(HEADERS.len()) {
            None => self.rows.cell(row, column, out),
            Some(extra) => match self.socket(row) {
                Some(s) => cell(s, extra, out),
                None => out.push('-'),
            },
        }
    }

    fn tint(&self, row: usize, column: usize) -> Option<Tint> {
        self.rows.tint(row, column)
    }

    fn narrowing(&self) -> &[Narrow] {
        self.rows.narrowing()
    }

    fn short_cell(&self, row: usize, column: usize, width: usize, out: &mut String) {
        self.rows.short_cell(row, column, width, out);
    }

    fn detail(&self, row: usize, out: &mut String) {
        if let Some(s) = self.socket(row).filter(|_| self.layout == Layout::Line) {
            line(s, out);
        }
    }
}

/// Microseconds as milliseconds with three decimals, digit by digit: a table of 20,000
/// connections writes 80,000 of them (measured, then printed).
fn ms(us: u32, out: &mut String) {
    number(us / 1000, out);
    let fraction = us % 1000;
    out.push('.');
    for digit in [fraction / 100, fraction / 10 % 10, fraction % 10] {
        out.push(char::from(b'0' + digit as u8));
    }
}

/// A number, or `-` when the kernel did not report it.
fn optional(value: Option<u64>, out: &mut String) {
    match value {
        Some(v) => long_number(v, out),
        None => out.push('-'),
    }
}

/// One extra column of a socket (`extra` counts from the first of `COLUMNS`).
fn cell(s: &Socket, extra: usize, out: &mut String) {
    let details = s.details.as_deref();
    let tcp = connection_info(s);
    let memory = details.and_then(|d| d.memory);
    let to_ms = |us: Option<u64>| us.map(|us| us / 1000);
    match (extra, tcp) {
        (16, _) => match details.and_then(|d| d.congestion.as_deref()) {
            Some(name) => crate::text::escape_into(name, out),
            None => out.push('-'),
        },
        (17, _) => match memory {
            Some(m) => {
                number(m.rmem_alloc, out);
                out.push('/');
                number(m.rcvbuf, out);
            }
            None => out.push('-'),
        },
        (18, _) => optional(memory.and_then(|m| m.drops).map(u64::from), out),
        (19, _) => match s.timer {
            Some(t) => timer(&t, out),
            None => out.push('-'),
        },
        (_, None) => out.push('-'),
        (0, Some(t)) => ms(t.rtt_us, out),
        (1, Some(t)) => ms(t.rttvar_us, out),
        (2, Some(t)) => number(t.cwnd, out),
        (3, Some(t)) => optional(t.ssthresh.map(u64::from), out),
        (4, Some(t)) => number(t.snd_mss, out),
        (5, Some(t)) => number(u32::from(t.retransmits), out),
        (6, Some(t)) => number(t.total_retrans, out),
        (7, Some(t)) => number(t.lost, out),
        (8, Some(t)) => optional(t.bytes_sent, out),
        (9, Some(t)) => long_number(t.bytes_acked, out),
        (10, Some(t)) => long_number(t.bytes_received, out),
        (11, Some(t)) => optional(t.delivery_rate, out),
        (12, Some(t)) => optional(t.pacing_rate, out),
        (13, Some(t)) => optional(to_ms(t.busy_us), out),
        (14, Some(t)) => optional(to_ms(t.rwnd_limited_us), out),
        (_, Some(t)) => optional(to_ms(t.sndbuf_limited_us), out),
    }
}

/// `keepalive:7199900ms`, `retransmit:204ms/3` (3 retransmissions so far).
fn timer(t: &Timer, out: &mut String) {
    let _ = write!(out, "{}:{}ms", timer_name(t.kind), t.expires_ms);
    if t.retransmits > 0 {
        let _ = write!(out, "/{}", t.retransmits);
    }
}

/// `1.2 MB`, in powers of 1024 as ss and free do.
fn bytes(n: u64, out: &mut String) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        let _ = write!(out, "{n} B");
    } else {
        let _ = write!(out, "{value:.1} {}", UNITS[unit]);
    }
}

/// A rate given in bytes per second, shown in bits per second as ss shows it.
pub fn rate(bytes_per_second: u64, out: &mut String) {
    let bits = bytes_per_second as f64 * 8.0;
    let (value, unit) = match bits {
        b if b >= 1e9 => (b / 1e9, "Gbit/s"),
        b if b >= 1e6 => (b / 1e6, "Mbit/s"),
        b if b >= 1e3 => (b / 1e3, "kbit/s"),
        b => (b, "bit/s"),
    };
    let _ = write!(out, "{value:.1} {unit}");
}

/// The compact line: what a person looks for first, the rest on request (JSON).
/// `cubic rtt 0.045/0.012ms cwnd 10 mss 32768 retrans 0/0 sent 1.0 MiB acked 1.0 MiB …`,
/// its fields separated by `FIELD_BREAK` (where a table may wrap it).
pub fn line(s: &Socket, out: &mut String) {
    let details = s.details.as_deref();
    let start = out.len();
    if let Some(cong) = details.and_then(|d| d.congestion.as_deref()) {
        crate::text::escape_into(cong, out);
        out.push(FIELD_BREAK);
    }
    if let Some(t) = connection_info(s) {
        tcp_line(t, s.state.is_synchronized(), out);
    }
    if let Some(m) = details.and_then(|d| d.memory) {
        memory_line(&m, out);
    }
    if let Some(t) = s.timer {
        out.push_str("timer ");
        timer(&t, out);
        out.push(FIELD_BREAK);
    }
    if out.len() == start {
        out.push_str("(no details: the kernel keeps none for this state)");
    }
    while out.ends_with(FIELD_BREAK) {
        out.pop();
    }
}

/// The line with its fields a space apart, for text no table wraps (`who -i`).
pub fn spaced_line(s: &Socket, out: &mut String) {
    let start = out.len();
    line(s, out);
    let fields = out.split_off(start);
    out.extend(
        fields
            .chars()
            .map(|c| if c == FIELD_BREAK { ' ' } else { c }),
    );
}

/// tcp_info where it describes a connection: a listener's or a bound socket's holds no
/// RTT or window (JSON still carries what the kernel sent).
fn connection_info(s: &Socket) -> Option<&TcpInfo> {
    let tcp = s.details.as_deref()?.tcp.as_ref()?;
    (!s.state.is_unconnected()).then_some(tcp)
}

/// `synchronized`: the handshake is done, so a zero window is the peer's (not the absence of
/// one yet).
fn tcp_line(t: &TcpInfo, synchronized: bool, out: &mut String) {
    out.push_str("rtt ");
    ms(t.rtt_us, out);
    out.push('/');
    ms(t.rttvar_us, out);
    let _ = write!(out, "ms{FIELD_BREAK}cwnd {}{FIELD_BREAK}", t.cwnd);
    if let Some(ssthresh) = t.ssthresh {
        let _ = write!(out, "ssthresh {ssthresh}{FIELD_BREAK}");
    }
    let _ = write!(
        out,
        "mss {}{FIELD_BREAK}retrans {}/{}{FIELD_BREAK}",
        t.snd_mss, t.retransmits, t.total_retrans
    );
    if t.lost > 0 {
        let _ = write!(out, "lost {}{FIELD_BREAK}", t.lost);
    }
    if t.ca_state != 0 {
        let _ = write!(out, "{}{FIELD_BREAK}", t.ca_state_name());
    }
    let mut field = |name: &str, value: &dyn Fn(&mut String)| {
        out.push_str(name);
        out.push(' ');
        value(out);
        out.push(FIELD_BREAK);
    };
    field("sent", &|out| {
        bytes(t.bytes_sent.unwrap_or(t.bytes_acked), out)
    });
    field("acked", &|out| bytes(t.bytes_acked, out));
    field("recv", &|out| bytes(t.bytes_received, out));
    if let Some(r) = t.delivery_rate.filter(|r| *r > 0) {
        field("delivery", &|out| rate(r, out));
    }
    if let Some(r) = t.pacing_rate.filter(|r| *r > 0) {
        field("pacing", &|out| rate(r, out));
    }
    let mut limited = |what: &str, share: Option<f64>| {
        if let Some(share) = share.filter(|s| *s > 0.0) {
            let _ = write!(out, "{what}-limited {:.0}%{FIELD_BREAK}", share * 100.0);
        }
    };
    limited("rwnd", t.rwnd_limited_share());
    limited("sndbuf", t.sndbuf_limited_share());
    if synchronized && t.snd_wnd == Some(0) {
        out.push_str("zero-window");
        out.push(FIELD_BREAK);
    }
}

fn memory_line(m: &SocketMemory, out: &mut String) {
    out.push_str("mem r ");
    bytes(u64::from(m.rmem_alloc), out);
    out.push('/');
    bytes(u64::from(m.rcvbuf), out);
    out.push_str(" w ");
    bytes(u64::from(m.wmem_queued.max(m.wmem_alloc)), out);
    out.push('/');
    bytes(u64::from(m.sndbuf), out);
    out.push(FIELD_BREAK);
    if let Some(drops) = m.drops.filter(|d| *d > 0) {
        let _ = write!(out, "drops {drops}{FIELD_BREAK}");
    }
}

/// The `info` object of a socket in the `ls --json` schema (docs/json.md).
#[derive(Debug, Serialize)]
pub struct JsonInfo<'a> {
    pub congestion: Option<&'a str>,
    pub tcp: Option<JsonTcp>,
    pub memory: Option<JsonMemory>,
    pub timer: Option<JsonTimer>,
}

#[derive(Debug, Serialize)]
pub struct JsonTcp {
    pub rtt_ms: f64,
    pub rttvar_ms: f64,
    pub min_rtt_ms: f64,
    pub rto_ms: f64,
    pub cwnd: u32,
    pub ssthresh: Option<u32>,
    pub mss: u32,
    pub rcv_mss: u32,
    pub ca_state: &'static str,
    pub retransmits: u8,
    pub retrans: u32,
    pub total_retrans: u32,
    pub lost: u32,
    pub unacked: u32,
    pub probes: u8,
    pub backoff: u8,
    pub bytes_sent: Option<u64>,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub bytes_retrans: Option<u64>,
    pub notsent_bytes: u32,
    pub delivery_rate: Option<u64>,
    pub pacing_rate: Option<u64>,
    pub busy_ms: Option<f64>,
    pub rwnd_limited_ms: Option<f64>,
    pub sndbuf_limited_ms: Option<f64>,
    pub snd_wnd: Option<u32>,
    pub rcv_wnd: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct JsonMemory {
    pub rmem_alloc: u32,
    pub rcvbuf: u32,
    pub wmem_alloc: u32,
    pub wmem_queued: u32,
    pub sndbuf: u32,
    pub fwd_alloc: u32,
    pub optmem: u32,
    pub backlog: u32,
    pub drops: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct JsonTimer {
    pub kind: &'static str,
    pub expires_ms: u32,
    pub retransmits: u8,
}

fn ms_of(us: u32) -> f64 {
    f64::from(us) / 1000.0
}

fn ms_of_long(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl<'a> JsonInfo<'a> {
    /// None for a socket read without details.
    pub fn of(s: &'a Socket) -> Option<JsonInfo<'a>> {
        let details: &Details = s.details.as_deref()?;
        Some(JsonInfo {
            congestion: details.congestion.as_deref(),
            tcp: details.tcp.as_ref().map(|t| JsonTcp {
                rtt_ms: ms_of(t.rtt_us),
                rttvar_ms: ms_of(t.rttvar_us),
                min_rtt_ms: ms_of(t.min_rtt_us),
                rto_ms: ms_of(t.rto_us),
                cwnd: t.cwnd,
                ssthresh: t.ssthresh,
                mss: t.snd_mss,
                rcv_mss: t.rcv_mss,
                ca_state: t.ca_state_name(),
                retransmits: t.retransmits,
                retrans: t.retrans,
                total_retrans: t.total_retrans,
                lost: t.lost,
                unacked: t.unacked,
                probes: t.probes,
                backoff: t.backoff,
                bytes_sent: t.bytes_sent,
                bytes_acked: t.bytes_acked,
                bytes_received: t.bytes_received,
                bytes_retrans: t.bytes_retrans,
                notsent_bytes: t.notsent_bytes,
                delivery_rate: t.delivery_rate,
                pacing_rate: t.pacing_rate,
                busy_ms: t.busy_us.map(ms_of_long),
                rwnd_limited_ms: t.rwnd_limited_us.map(ms_of_long),
                sndbuf_limited_ms: t.sndbuf_limited_us.map(ms_of_long),
                snd_wnd: t.snd_wnd,
                rcv_wnd: t.rcv_wnd,
            }),
            memory: details.memory.map(|m| JsonMemory {
                rmem_alloc: m.rmem_alloc,
                rcvbuf: m.rcvbuf,
                wmem_alloc: m.wmem_alloc,
                wmem_queued: m.wmem_queued,
                sndbuf: m.sndbuf,
                fwd_alloc: m.fwd_alloc,
                optmem: m.optmem,
                backlog: m.backlog,
                drops: m.drops,
            }),
            timer: s.timer.map(|t| JsonTimer {
                kind: timer_name(t.kind),
                expires_ms: t.expires_ms,
                retransmits: t.retransmits,
            }),
        })
    }
}

pub fn timer_name(kind: TimerKind) -> &'static str {
    match kind {
        TimerKind::Retransmit => "retransmit",
        TimerKind::KeepAlive => "keepalive",
        TimerKind::TimeWait => "timewait",
        TimerKind::ZeroWindowProbe => "zero-window-probe",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::render::{Style, rows};

    fn with_details() -> crate::model::Inventory {
        let mut inv = fixtures::inventory();
        for s in &mut inv.sockets {
            s.details = Some(Box::new(Details {
                tcp: Some(TcpInfo {
                    rtt_us: 1250,
                    rttvar_us: 500,
                    cwnd: 10,
                    snd_mss: 1448,
                    total_retrans: 3,
                    bytes_acked: 3 << 20,
                    bytes_sent: Some(3 << 20),
                    busy_us: Some(1000),
                    rwnd_limited_us: Some(500),
                    snd_wnd: Some(0),
                    ..TcpInfo::default()
                }),
                memory: Some(SocketMemory {
                    rcvbuf: 131072,
                    drops: Some(7),
                    ..SocketMemory::default()
                }),
                congestion: Some("cubic".to_string()),
            }));
        }
        inv
    }

    fn render(layout: Layout, terminal: bool, width: u16) -> String {
        let inv = with_details();
        let style = Style {
            color: false,
            terminal,
            width,
            header: true,
        };
        let mut out = Vec::new();
        let socket_rows = SocketRows { inventory: &inv };
        rows(&mut out, &DetailRows::new(socket_rows, layout), &style).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The row of the fixture's first established connection.
    fn first_connection() -> usize {
        let inv = fixtures::inventory();
        let found = inv.sockets.iter().position(|s| s.state.is_synchronized());
        found.unwrap()
    }

    /// Each row's second line, its wrapped parts joined by a space; and the longest part.
    fn second_lines(text: &str) -> (Vec<String>, usize) {
        let mut seconds: Vec<String> = Vec::new();
        let mut widest = 0;
        // Header and rule first.
        for line in text.lines().skip(2) {
            match line.strip_prefix("    ") {
                Some(part) => {
                    widest = widest.max(line.chars().count());
                    let second = seconds.last_mut().unwrap();
                    if !second.is_empty() {
                        second.push(' ');
                    }
                    second.push_str(part);
                }
                None => seconds.push(String::new()),
            }
        }
        (seconds, widest)
    }

    #[test]
    fn a_terminal_gets_a_second_line_per_socket_fitted_to_its_width() {
        assert!(fixtures::inventory().sockets[0].state.is_unconnected());
        let whole = "cubic rtt 1.250/0.500ms cwnd 10 mss 1448 retrans 0/3 sent 3.0 MiB \
                     acked 3.0 MiB recv 0 B rwnd-limited 50% zero-window mem r 0 B/128.0 KiB \
                     w 0 B/0 B drops 7";
        let wide = render(Layout::Line, true, 200);
        assert!(wide.lines().nth(1).unwrap().starts_with("───"), "{wide}");
        assert_eq!(
            wide.lines().nth(3),
            Some("    cubic mem r 0 B/128.0 KiB w 0 B/0 B drops 7"),
            "a listener has no RTT or window: {wide}"
        );
        for width in [200u16, 80, 60] {
            let text = render(Layout::Line, true, width);
            let (seconds, widest) = second_lines(&text);
            assert_eq!(seconds.len(), fixtures::inventory().sockets.len(), "{text}");
            assert_eq!(seconds[first_connection()], whole, "{text}");
            assert!(widest <= usize::from(width), "{width}: {text}");
            // Broken between fields, never inside one.
            assert!(
                !text.contains("\n    MiB") && !text.contains("\n    B"),
                "{text}"
            );
        }
    }

    #[test]
    fn a_pipe_gets_columns() {
        let text = render(Layout::Columns, false, 120);
        let header = text.lines().next().unwrap();
        let names: Vec<&str> = header.split_whitespace().collect();
        assert!(
            names.ends_with(&["Cong", "Rmem/Rcvbuf", "Drops", "Timer"]),
            "{header}"
        );
        let row = text.lines().nth(1 + first_connection()).unwrap();
        assert!(row.contains("3145728"), "{row}");
    }
}
