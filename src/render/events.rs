//! Endpoint events: the line people read, or one JSON object per line.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;

use crate::endpoint::event::{Event, EventKind};
use crate::model::TcpState;

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

/// One event as a JSON line; `t_ms` counts from the endpoint's start.
pub fn json(out: &mut dyn Write, t_ms: f64, event: &Event) -> io::Result<()> {
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
    serde_json::to_writer(&mut *out, &json)?;
    out.write_all(b"\n")
}

/// `1 byte`, `16384 bytes`.
fn bytes(n: Option<usize>) -> String {
    crate::text::count(n.unwrap_or_default(), "byte")
}

/// `81.3 MiB/s`, `512 B/s`.
fn rate(bytes: u64, took: Duration) -> String {
    let mut text = String::new();
    let per_second = bytes as f64 / took.as_secs_f64().max(1e-3);
    super::text::binary_size(per_second, "/s", &mut text);
    text
}

/// A burst of transfers on one connection: `sent 52428800 bytes so far (80.1 MiB/s)`, and
/// once it ends (`total`), `sent 104857600 bytes in all, in 1.28 s (78.1 MiB/s)`.
pub fn transfer(
    conn: Option<u32>,
    sent: u64,
    received: u64,
    took: Duration,
    total: bool,
) -> String {
    let mut line = String::new();
    if let Some(conn) = conn {
        let _ = write!(line, "[{conn}] ");
    }
    let start = line.len();
    for (verb, n) in [("sent", sent), ("received", received)] {
        if n > 0 || (sent == 0 && received == 0 && verb == "sent") {
            if line.len() > start {
                line.push_str(", ");
            }
            let _ = write!(line, "{verb} {}", bytes(Some(n as usize)));
        }
    }
    let rate = rate(sent + received, took);
    if total {
        let _ = write!(line, " in all, in {:.2} s ({rate})", took.as_secs_f64());
    } else {
        let _ = write!(line, " so far ({rate})");
    }
    line
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
        EventKind::Sent => write!(line, "sent {}", bytes(e.bytes)),
        EventKind::Received => write!(line, "received {}", bytes(e.bytes)),
        EventKind::Eof => write!(line, "eof: the peer closed its side (recv returned 0)"),
        EventKind::Paused => write!(line, "paused reading, {} queued", bytes(e.bytes)),
        EventKind::Resumed => write!(line, "resumed reading: the peer caught up"),
        EventKind::Closed => match e.bytes {
            Some(_) => write!(line, "closed, {} unsent", bytes(e.bytes)),
            None => write!(line, "closed"),
        },
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
        // One byte is a byte, not "1 bytes".
        let mut one = Event::new(EventKind::Received, Proto::Tcp);
        one.bytes = Some(1);
        assert_eq!(human(&one), "received 1 byte");
        let eof = Event::new(EventKind::Eof, Proto::Tcp).conn(Some(2));
        assert_eq!(
            human(&eof),
            "[2] eof: the peer closed its side (recv returned 0)"
        );
    }
}
