//! Test endpoints that explain themselves: `tcp listen|connect`, `udp recv|send`. They are
//! built on poll(2) and Unix socket options. Each takes a config resolved once from the
//! command line and pushes what happens into a `Sink`.

mod conn;
pub mod decode;
mod errors;
pub mod event;
mod follow;
mod setup;
pub mod sockopt;
mod tcp_connect;
mod tcp_listen;
mod udp;

use std::io;

pub use conn::Answer;
pub use errors::{bind_error, why_not_connected};
pub use setup::{Common, TcpOptions};
pub use tcp_connect::{Connect, connect};
pub use tcp_listen::{Listen, listen};
pub use udp::{UdpRecv, UdpSend, recv, send};

use crate::host::Host;
use event::Event;
use setup::Setup;

/// Where an endpoint's events and received data go.
pub trait Sink {
    fn event(&self, event: &Event) -> io::Result<()>;
    /// Received bytes: as `text` when `decodes()` said so, else raw.
    fn data(&self, text: Option<&str>, raw: &[u8]) -> io::Result<()>;
    /// Whether received data should be decoded into text.
    fn decodes(&self) -> bool;
}

/// What an endpoint reports to, and the host whose table it follows its sockets in.
#[derive(Clone, Copy)]
pub struct Reporter<'a> {
    pub host: &'a dyn Host,
    sink: &'a dyn Sink,
}

impl<'a> Reporter<'a> {
    pub fn new(host: &'a dyn Host, sink: &'a dyn Sink) -> Reporter<'a> {
        Reporter { host, sink }
    }

    pub fn emit(&self, event: &Event) -> io::Result<()> {
        self.sink.event(event)
    }

    pub fn data(&self, text: Option<&str>, raw: &[u8]) -> io::Result<()> {
        self.sink.data(text, raw)
    }

    pub fn decodes(&self) -> bool {
        self.sink.decodes()
    }

    /// The ephemeral range the kernel picks from, when it can be read.
    pub fn port_range(&self) -> Option<(u16, u16)> {
        self.host.port_settings().ok().map(|s| s.range)
    }
}
