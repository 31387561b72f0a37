//! Endpoint events: a line for people on stderr, or one JSON object per line on stdout;
//! received data goes to stdout (decoded on a terminal or with --encoding, raw otherwise).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use serde::Serialize;

use crate::endpoint::event::{Event, EventKind};
use crate::model::TcpState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Human,
    Json,
    /// Data only.
    Quiet,
}

/// When the first reporter was made: every event's `t_ms` counts from here.
static START: OnceLock<Instant> = OnceLock::new();

/// Where events and data go.
pub struct Reporter {
    mode: Mode,
    start: Instant,
    /// Decode received data for display (else write it raw).
    decode: bool,
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    t_ms: f64,
    event: &'static str,
    proto: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    conn: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    remote: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_chosen_by_kernel: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port_range: Option<[u16; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    backlog: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    handshake_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timer_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a str>,
}

impl Reporter {
    pub fn new(mode: Mode, decode: bool) -> Reporter {
        Reporter {
            mode,
            start: *START.get_or_init(Instant::now),
            decode,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Whether received data should be decoded into text (JSON always needs text).
    pub fn decodes(&self) -> bool {
        self.decode || self.mode == Mode::Json
    }

    pub fn emit(&self, event: &Event) -> io::Result<()> {
        let t_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        match self.mode {
            Mode::Quiet => Ok(()),
            Mode::Human => {
                let mut err = io::stderr().lock();
                writeln!(err, "{}", human(event))
            }
            Mode::Json => {
                let json = JsonEvent {
                    t_ms: (t_ms * 1000.0).round() / 1000.0,
                    event: event.kind.name(),
                    proto: event.proto.name(),
                    conn: event.conn,
                    local: event.local.map(|a| a.to_string()),
                    remote: event.remote.map(|a| a.to_string()),
                    state: event.state.map(TcpState::name),
                    bytes: event.bytes,
                    error: event.error.as_deref(),
                    port_chosen_by_kernel: event.chosen.map(|_| true),
                    port_range: event.chosen.and_then(|c| c.range).map(|(l, h)| [l, h]),
                    backlog: event.backlog,
                    handshake_ms: event
                        .handshake
                        .map(|d| (d.as_secs_f64() * 1e6).round() / 1e3),
                    timer_ms: event.timer_ms,
                    data: event.data.as_deref(),
                };
                let mut out = io::stdout().lock();
                serde_json::to_writer(&mut out, &json)?;
                out.write_all(b"\n")?;
                out.flush()
            }
        }
    }

    /// Received data for people and pipes: decoded text or raw bytes on stdout.
    pub fn data(&self, text: Option<&str>, raw: &[u8]) -> io::Result<()> {
        if self.mode == Mode::Json {
            return Ok(());
        }
        let mut out = io::stdout().lock();
        match text {
            Some(text) => {
                out.write_all(text.as_bytes())?;
                // On a terminal the next event line must not be glued to the data.
                if self.mode == Mode::Human && !text.ends_with('\n') {
                    out.write_all(b"\n")?;
                }
            }
            None => out.write_all(raw)?,
        }
        out.flush()
    }
}

fn addr(a: Option<SocketAddr>) -> String {
    a.map_or_else(|| "?".to_string(), |a| a.to_string())
}

/// The line people read, e.g. `connected 127.0.0.1:45012 → 127.0.0.1:7788 in 0.08 ms (port
/// 45012 chosen by the kernel from 32768–60999)`.
pub fn human(e: &Event) -> String {
    let mut line = String::new();
    if let Some(conn) = e.conn {
        let _ = write!(line, "[{conn}] ");
    }
    let _ = match e.kind {
        EventKind::Bound => write!(line, "bound {}/{}", addr(e.local), e.proto.name()),
        EventKind::Listening => write!(
            line,
            "listening on {}, backlog {}",
            addr(e.local),
            e.backlog.unwrap_or_default()
        ),
        EventKind::Connecting => {
            write!(line, "connecting to {}/{}", addr(e.remote), e.proto.name())
        }
        EventKind::Connected => write!(line, "connected {} → {}", addr(e.local), addr(e.remote)),
        EventKind::Accepted => write!(line, "accepted {} on {}", addr(e.remote), addr(e.local)),
        EventKind::State => write!(line, "state {}", e.state.map_or("?", TcpState::name)),
        EventKind::Sent => write!(line, "sent {} bytes", e.bytes.unwrap_or_default()),
        EventKind::Received => write!(line, "received {} bytes", e.bytes.unwrap_or_default()),
        EventKind::Eof => write!(line, "eof: the peer closed its side (recv returned 0)"),
        EventKind::Closed => write!(line, "closed"),
        EventKind::Error => write!(line, "error: {}", e.error.as_deref().unwrap_or("?")),
    };
    if e.kind == EventKind::Received && e.proto == crate::model::Proto::Udp {
        let _ = write!(line, " from {}", addr(e.remote));
    }
    if e.kind == EventKind::Sent && e.proto == crate::model::Proto::Udp {
        let _ = write!(line, " to {}", addr(e.remote));
    }
    if let Some(d) = e.handshake {
        let _ = write!(line, " in {:.2} ms", d.as_secs_f64() * 1000.0);
    }
    if let (Some(choice), Some(local)) = (e.chosen, e.local) {
        let _ = write!(line, " (port {} chosen by the kernel", local.port());
        if let Some((low, high)) = choice.range {
            let _ = write!(line, " from {low}–{high}");
        }
        line.push(')');
    }
    if let Some(ms) = e.timer_ms {
        let _ = write!(line, " ({:.0} s timer)", f64::from(ms) / 1000.0);
    }
    if let Some(note) = e.note {
        let _ = write!(line, ": {note}");
    }
    line
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::endpoint::event::KernelChoice;
    use crate::model::Proto;

    #[test]
    fn human_lines() {
        let mut e = Event::new(EventKind::Connected, Proto::Tcp).addrs(
            Some("127.0.0.1:45012".parse().unwrap()),
            Some("127.0.0.1:7788".parse().unwrap()),
        );
        e.handshake = Some(Duration::from_micros(80));
        e.chosen = Some(KernelChoice {
            range: Some((32768, 60999)),
        });
        assert_eq!(
            human(&e),
            "connected 127.0.0.1:45012 → 127.0.0.1:7788 in 0.08 ms (port 45012 chosen by the kernel from 32768–60999)"
        );
        let mut tw = Event::new(EventKind::State, Proto::Tcp).state(TcpState::TimeWait);
        tw.timer_ms = Some(59_800);
        assert_eq!(human(&tw), "state TIME_WAIT (60 s timer)");
        let eof = Event::new(EventKind::Eof, Proto::Tcp).conn(Some(2));
        assert_eq!(
            human(&eof),
            "[2] eof: the peer closed its side (recv returned 0)"
        );
    }
}
