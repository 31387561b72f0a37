//! `ls -i`: each socket's details (tcp_info, memory, congestion control, timer) as a compact
//! second line on a terminal (`line`), as columns of plain numbers in a pipe (here), and as
//! JSON (`json`).

mod json;
mod line;

pub use json::JsonInfo;
pub use line::{rate, spaced_line};

use crate::model::{Inventory, Socket, TcpInfo};

use super::table::Narrow;
use super::text::{long_number, number};
use super::{Align, Rows, Tint};
use line::{connection_info, line, timer};

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

/// Socket rows (`ls`'s, or with their namespaces) and each socket's details; row `i` is
/// `inventory.sockets[i]` (Unix rows after them have none).
pub struct DetailRows<'a> {
    rows: &'a dyn Rows,
    inventory: &'a Inventory,
    layout: Layout,
    /// The columns of `rows`; the details' come after them.
    base: usize,
    headers: Vec<&'static str>,
}

impl<'a> DetailRows<'a> {
    pub fn new(rows: &'a dyn Rows, inventory: &'a Inventory, layout: Layout) -> DetailRows<'a> {
        let mut headers = rows.headers().to_vec();
        let base = headers.len();
        if layout == Layout::Columns {
            headers.extend(COLUMNS);
        }
        DetailRows {
            rows,
            inventory,
            layout,
            base,
            headers,
        }
    }

    fn socket(&self, row: usize) -> Option<&Socket> {
        self.inventory.sockets.get(row)
    }
}

impl Rows for DetailRows<'_> {
    fn headers(&self) -> &[&'static str] {
        &self.headers
    }

    fn align(&self, column: usize) -> Align {
        match column.checked_sub(self.base) {
            None => self.rows.align(column),
            Some(16 | 17 | 19) => Align::Left,
            Some(_) => Align::Right,
        }
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, column: usize, out: &mut String) {
        match column.checked_sub(self.base) {
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
        // No RTT sample yet (as the second line says).
        (_, None) | (0 | 1, Some(TcpInfo { rtt_us: 0, .. })) => out.push('-'),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::model::{Details, SocketMemory};
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
                congestion: Some("cubic".into()),
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
        let socket_rows = crate::render::sockets::SocketRows { inventory: &inv };
        rows(
            &mut out,
            &DetailRows::new(&socket_rows, &inv, layout),
            &style,
        )
        .unwrap();
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

    /// Before the handshake there is no RTT sample: the kernel's 0 and its initial variation
    /// (250 ms) are no measurement, and ss leaves them out too.
    #[test]
    fn a_connection_without_an_rtt_sample_shows_none() {
        let mut inv = with_details();
        let s = &mut inv.sockets[0];
        s.state = crate::model::TcpState::SynSent;
        if let Some(tcp) = s.details.as_mut().and_then(|d| d.tcp.as_mut()) {
            tcp.rtt_us = 0;
            tcp.rttvar_us = 250_000;
        }
        let mut text = String::new();
        spaced_line(&inv.sockets[0], &mut text);
        assert!(text.starts_with("cubic cwnd 10 mss 1448 "), "{text}");
        for column in [0, 1] {
            text.clear();
            cell(&inv.sockets[0], column, &mut text);
            assert_eq!(text, "-", "{}", COLUMNS[column]);
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
