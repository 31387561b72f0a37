//! One TCP connection of an endpoint: reads, answers, sends, reports its kernel state, closes.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use super::decode::TextDecoder;
use super::event::{Event, EventKind};
use super::follow::Follow;
use super::sockopt;
use crate::cli::EncodingName;
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::render::events::Reporter;

/// What a server says back to each message.
#[derive(Debug, Clone)]
pub enum Answer {
    Nothing,
    Echo,
    Reply(Vec<u8>),
}

pub struct Conn {
    pub id: Option<u32>,
    pub stream: TcpStream,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    state: Option<TcpState>,
    decoder: TextDecoder,
    /// The peer sent FIN (a read returned 0) or reset the connection.
    pub peer_done: bool,
}

impl Conn {
    /// `remote` comes from accept() or the connect target: asking the socket again fails once
    /// the peer has already reset it.
    pub fn new(
        id: Option<u32>,
        stream: TcpStream,
        remote: SocketAddr,
        encoding: EncodingName,
    ) -> io::Result<Conn> {
        Ok(Conn {
            id,
            local: stream.local_addr()?,
            remote,
            stream,
            state: None,
            decoder: TextDecoder::new(encoding),
            peer_done: false,
        })
    }

    pub fn event(&self, kind: EventKind) -> Event {
        Event::new(kind, Proto::Tcp)
            .conn(self.id)
            .addrs(Some(self.local), Some(self.remote))
    }

    /// Reports the kernel's state for this connection if it changed since the last look.
    /// TCP_INFO describes the socket on our descriptor; once the connection has moved into a
    /// TIME_WAIT mini-socket that one reads CLOSE, so the table is asked for the real state.
    pub fn check_state(&mut self, reporter: &Reporter) -> io::Result<()> {
        let Ok(mut state) = sockopt::tcp_state(&self.stream) else {
            return Ok(());
        };
        let mut timer_ms = None;
        if state == TcpState::Close
            && let Ok(Some(entry)) = inventory::find_socket(Proto::Tcp, self.local, self.remote)
        {
            state = entry.state;
            timer_ms = entry.time_wait_left_ms();
        }
        if self.state != Some(state) {
            self.state = Some(state);
            let mut event = self.event(EventKind::State).state(state);
            event.timer_ms = timer_ms;
            reporter.emit(&event)?;
        }
        Ok(())
    }

    /// Reads what is there (call when poll says readable) and answers it.
    pub fn read(&mut self, reporter: &Reporter, answer: &Answer) -> io::Result<()> {
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => {
                self.peer_done = true;
                reporter.emit(&self.event(EventKind::Eof))?;
                self.check_state(reporter)
            }
            Ok(n) => {
                let bytes = &buf[..n];
                let mut event = self.event(EventKind::Received).bytes(n);
                let text = reporter.decodes().then(|| self.decoder.decode(bytes));
                event.data = text.clone();
                reporter.emit(&event)?;
                reporter.data(text.as_deref(), bytes)?;
                match answer {
                    Answer::Nothing => Ok(()),
                    Answer::Echo => self.send(bytes, reporter),
                    Answer::Reply(text) => self.send(text, reporter),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => {
                self.peer_done = true;
                let mut event = self.event(EventKind::Error);
                event.error = Some(describe(&e));
                reporter.emit(&event)
            }
        }
    }

    pub fn send(&mut self, bytes: &[u8], reporter: &Reporter) -> io::Result<()> {
        match self.stream.write_all(bytes) {
            Ok(()) => reporter.emit(&self.event(EventKind::Sent).bytes(bytes.len())),
            Err(e) => {
                self.peer_done = true;
                let mut event = self.event(EventKind::Error);
                event.error = Some(describe(&e));
                reporter.emit(&event)
            }
        }
    }

    /// Half-close: no more data from us (FIN), while the peer may still send.
    pub fn shutdown_write(&mut self, reporter: &Reporter) -> io::Result<()> {
        let _ = self.stream.shutdown(Shutdown::Write);
        self.check_state(reporter)
    }

    /// Closes the descriptor (with RST when `linger0`) and returns the follower of what the
    /// kernel keeps.
    pub fn close(self, reporter: &Reporter, linger0: bool, grace: Duration) -> io::Result<Follow> {
        let mut closed = self.event(EventKind::Closed);
        if linger0 {
            socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO))?;
            closed.note = Some("with SO_LINGER 0: the kernel sends RST, keeps no TIME_WAIT");
        }
        let follow = Follow::new(self.id, self.local, self.remote, self.state, grace);
        drop(self.stream);
        reporter.emit(&closed)?;
        Ok(follow)
    }
}

/// An error as the event says it: `connection reset by peer (ECONNRESET)`.
pub fn describe(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ECONNRESET) => "connection reset by peer (RST received)".to_string(),
        Some(libc::EPIPE) => "broken pipe (the peer reset the connection)".to_string(),
        _ => e.to_string(),
    }
}
