//! What a test endpoint reports: plain data, rendered by `render::events`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::model::{Proto, TcpState};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Bound,
    Listening,
    Connecting,
    Connected,
    Accepted,
    State,
    Sent,
    Received,
    Eof,
    /// Reads from a peer paused: it is not taking what we send (back-pressure).
    Paused,
    Resumed,
    Closed,
    Error,
}

impl EventKind {
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Bound => "bound",
            EventKind::Listening => "listening",
            EventKind::Connecting => "connecting",
            EventKind::Connected => "connected",
            EventKind::Accepted => "accepted",
            EventKind::State => "state",
            EventKind::Sent => "sent",
            EventKind::Received => "received",
            EventKind::Eof => "eof",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::Closed => "closed",
            EventKind::Error => "error",
        }
    }
}

/// The ephemeral port the kernel picked, and the range it picked from (when known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelChoice {
    pub range: Option<(u16, u16)>,
}

/// One step of an endpoint's life. Optional fields are set where they mean something.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub proto: Proto,
    /// Which connection of a listener (1, 2, …).
    pub conn: Option<u32>,
    pub local: Option<SocketAddr>,
    pub remote: Option<SocketAddr>,
    pub state: Option<TcpState>,
    pub bytes: Option<usize>,
    pub error: Option<String>,
    /// The local port was chosen by the kernel.
    pub chosen: Option<KernelChoice>,
    pub backlog: Option<i32>,
    pub handshake: Option<Duration>,
    /// Time left on the socket's TIME_WAIT timer.
    pub timer_ms: Option<u32>,
    /// Received bytes as text (used by JSON output; people see them on stdout).
    pub data: Option<String>,
    /// A short explanation for people (`the peer closed its side`).
    pub note: Option<&'static str>,
}

impl Event {
    pub fn new(kind: EventKind, proto: Proto) -> Event {
        Event {
            kind,
            proto,
            conn: None,
            local: None,
            remote: None,
            state: None,
            bytes: None,
            error: None,
            chosen: None,
            backlog: None,
            handshake: None,
            timer_ms: None,
            data: None,
            note: None,
        }
    }

    pub fn conn(mut self, conn: Option<u32>) -> Event {
        self.conn = conn;
        self
    }

    pub fn addrs(mut self, local: Option<SocketAddr>, remote: Option<SocketAddr>) -> Event {
        self.local = local;
        self.remote = remote;
        self
    }

    pub fn state(mut self, state: TcpState) -> Event {
        self.state = Some(state);
        self
    }

    pub fn bytes(mut self, bytes: usize) -> Event {
        self.bytes = Some(bytes);
        self
    }

    pub fn note(mut self, note: &'static str) -> Event {
        self.note = Some(note);
        self
    }
}
