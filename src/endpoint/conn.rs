//! One TCP connection of an endpoint: reads, answers, sends, reports its kernel state, closes.
//!
//! The socket is non-blocking and what we send waits in a bounded outbox, so a peer that
//! never reads stalls only its own connection (its reads pause until it catches up), never
//! the loop serving the others or Ctrl-C.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Duration;

use super::Reporter;
use super::decode::{Encoding, TextDecoder};
use super::event::{Event, EventKind};
use super::follow::Follow;
use super::sockopt;
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::poll;

/// What a server says back to each message.
#[derive(Debug, Clone)]
pub enum Answer {
    Nothing,
    Echo,
    Reply(Vec<u8>),
}

/// Bytes queued for a peer before its connection stops reading (back-pressure).
const OUTBOX_LIMIT: usize = 1 << 20;

pub struct Conn {
    pub id: Option<u32>,
    pub stream: TcpStream,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    state: Option<TcpState>,
    decoder: TextDecoder,
    /// The peer sent FIN (a read returned 0) or reset the connection.
    pub peer_done: bool,
    outbox: Vec<u8>,
    /// Reads are paused: the peer is not taking what we send.
    paused: bool,
    /// Shut our sending side once the outbox is empty.
    shutdown_pending: bool,
}

impl Conn {
    /// `remote` comes from accept() or the connect target: asking the socket again fails once
    /// the peer has already reset it.
    pub fn new(
        id: Option<u32>,
        stream: TcpStream,
        remote: SocketAddr,
        encoding: Encoding,
    ) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        Ok(Conn {
            id,
            local: stream.local_addr()?,
            remote,
            stream,
            state: None,
            decoder: TextDecoder::new(encoding),
            peer_done: false,
            outbox: Vec::new(),
            paused: false,
            shutdown_pending: false,
        })
    }

    pub fn event(&self, kind: EventKind) -> Event {
        Event::new(kind, Proto::Tcp)
            .conn(self.id)
            .addrs(Some(self.local), Some(self.remote))
    }

    /// What to poll this connection for.
    pub fn poll_entry(&self) -> libc::pollfd {
        use std::os::fd::AsRawFd;
        let mut events = 0;
        if !self.peer_done && !self.paused {
            events |= poll::IN;
        }
        if !self.outbox.is_empty() && !self.peer_done {
            events |= poll::OUT;
        }
        poll::entry(self.stream.as_raw_fd(), events)
    }

    /// The outbox is full: more input for this peer should wait.
    pub fn backed_up(&self) -> bool {
        self.outbox.len() >= OUTBOX_LIMIT
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
            && let Ok(Some(entry)) =
                inventory::find_socket(reporter.host, Proto::Tcp, self.local, self.remote)
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

    /// Handles what poll found for this connection: reads (and answers) what arrived, sends
    /// what is queued.
    pub fn serve(
        &mut self,
        ready: &libc::pollfd,
        reporter: &Reporter,
        answer: &Answer,
    ) -> io::Result<()> {
        if poll::writable(ready) && !self.outbox.is_empty() {
            self.flush(reporter)?;
        }
        if poll::readable(ready) && !self.peer_done && !self.paused {
            self.read(reporter, answer)?;
        }
        Ok(())
    }

    fn read(&mut self, reporter: &Reporter, answer: &Answer) -> io::Result<()> {
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
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(())
            }
            Err(e) => self.failed(&e, reporter),
        }
    }

    /// Queues bytes for the peer and sends what the socket takes now.
    pub fn send(&mut self, bytes: &[u8], reporter: &Reporter) -> io::Result<()> {
        if self.peer_done {
            return Ok(());
        }
        self.outbox.extend_from_slice(bytes);
        self.flush(reporter)
    }

    /// Writes as much of the outbox as the socket takes without blocking.
    fn flush(&mut self, reporter: &Reporter) -> io::Result<()> {
        let mut written = 0;
        while written < self.outbox.len() {
            match self.stream.write(&self.outbox[written..]) {
                Ok(0) => break,
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.outbox.clear();
                    return self.failed(&e, reporter);
                }
            }
        }
        self.outbox.drain(..written);
        if written > 0 {
            reporter.emit(&self.event(EventKind::Sent).bytes(written))?;
        }
        if self.backed_up() && !self.paused {
            self.paused = true;
            let mut event = self.event(EventKind::Paused).bytes(self.outbox.len());
            event.note = Some("the peer is not reading what we send; reading from it paused");
            reporter.emit(&event)?;
        } else if self.paused && self.outbox.len() < OUTBOX_LIMIT / 2 {
            self.paused = false;
            reporter.emit(&self.event(EventKind::Resumed).bytes(self.outbox.len()))?;
        }
        if self.shutdown_pending && self.outbox.is_empty() {
            self.shutdown_pending = false;
            let _ = self.stream.shutdown(Shutdown::Write);
            self.check_state(reporter)?;
        }
        Ok(())
    }

    fn failed(&mut self, e: &io::Error, reporter: &Reporter) -> io::Result<()> {
        self.peer_done = true;
        let mut event = self.event(EventKind::Error);
        event.error = Some(describe(e));
        reporter.emit(&event)
    }

    /// Half-close: no more data from us (FIN) once what is queued is sent, while the peer may
    /// still send.
    pub fn shutdown_write(&mut self, reporter: &Reporter) -> io::Result<()> {
        self.shutdown_pending = true;
        self.flush(reporter)
    }

    /// Closes the descriptor (with RST when `linger0`) and returns the follower of what the
    /// kernel keeps. What the socket does not take at once is dropped.
    pub fn close(
        mut self,
        reporter: &Reporter,
        linger0: bool,
        grace: Duration,
    ) -> io::Result<Follow> {
        if !self.outbox.is_empty() && !self.peer_done {
            self.flush(reporter)?;
        }
        let mut closed = self.event(EventKind::Closed);
        if linger0 {
            socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO))?;
            closed.note = Some("with SO_LINGER 0: the kernel sends RST, keeps no TIME_WAIT");
        } else if !self.outbox.is_empty() && !self.peer_done {
            closed.bytes = Some(self.outbox.len());
            closed.note = Some("bytes the peer never took were dropped");
        }
        let follow = Follow::new(self.id, self.local, self.remote, self.state, grace);
        drop(self.stream);
        reporter.emit(&closed)?;
        Ok(follow)
    }
}

/// An error as the event says it: `ECONNRESET (connection reset by peer): RST received`.
pub fn describe(e: &io::Error) -> String {
    let named = crate::text::errno(e);
    match e.raw_os_error() {
        Some(libc::ECONNRESET) => format!("{named}: RST received"),
        Some(libc::EPIPE) => format!("{named}: the peer reset the connection"),
        _ => named,
    }
}
