//! `portscope tcp listen`: bind, listen, serve connections concurrently, explain each step.

use std::fs::File;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::conn::{Answer, Conn};
use super::event::{Event, EventKind, KernelChoice};
use super::follow::{Follow, TICK};
use super::setup::stdin_readable;
use super::{Common, Reporter, Setup, TcpOptions};
use crate::exit::Exit;
use crate::interrupt::interrupted;
use crate::model::Proto;
use crate::poll;

/// `tcp listen`, resolved.
#[derive(Debug, Clone)]
pub struct Listen {
    pub addr: SocketAddr,
    pub backlog: i32,
    /// Exit after the first connection ends.
    pub once: bool,
    pub answer: Answer,
    pub common: Common,
    pub tcp: TcpOptions,
}

/// How often idle connections' states are re-read.
const STATE_TICK: Duration = Duration::from_millis(100);
/// How long accepting pauses after the process or the host ran out of a resource.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(250);

pub fn listen(config: &Listen, reporter: Reporter) -> Result<Exit> {
    let setup = Setup::new(&config.common, reporter);
    let wanted = config.addr;
    let listener = bind_listen(&setup, wanted, config.backlog)?;
    let local = listener.local_addr()?;
    let rep = &setup.reporter;
    let mut bound = Event::new(EventKind::Bound, Proto::Tcp).addrs(Some(local), None);
    if wanted.port() == 0 {
        bound.chosen = Some(KernelChoice {
            range: rep.port_range(),
        });
    }
    rep.emit(&bound)?;
    let mut listening = Event::new(EventKind::Listening, Proto::Tcp).addrs(Some(local), None);
    listening.backlog = Some(config.backlog);
    rep.emit(&listening)?;

    let mut server = Server {
        setup: &setup,
        config,
        listener,
        conns: Vec::new(),
        following: Vec::new(),
        accepted: 0,
        stdin_open: true,
        reserve: File::open("/dev/null").ok(),
        accept_paused_until: None,
    };
    loop {
        if interrupted() {
            // Returning drops, and so closes, every socket.
            return Ok(Exit::Interrupted);
        }
        if !server.accepting() && server.conns.is_empty() && server.following.is_empty() {
            return Ok(Exit::Success);
        }
        server.turn()?;
    }
}

/// The listener, its connections and what the kernel still keeps of closed ones.
struct Server<'a> {
    setup: &'a Setup<'a>,
    config: &'a Listen,
    listener: TcpListener,
    conns: Vec<Conn>,
    following: Vec<Follow>,
    accepted: u32,
    stdin_open: bool,
    /// A descriptor held back for the day the process runs out: closing it lets the loop go on
    /// (follow sockets in the table, report) while accepting waits.
    reserve: Option<File>,
    accept_paused_until: Option<Instant>,
}

impl Server<'_> {
    fn accepting(&self) -> bool {
        !(self.config.once && self.accepted > 0)
    }

    /// One poll and what it found.
    fn turn(&mut self) -> Result<()> {
        let rep = &self.setup.reporter;
        if self
            .accept_paused_until
            .is_some_and(|t| Instant::now() >= t)
        {
            self.accept_paused_until = None;
        }
        let accept_now = self.accepting() && self.accept_paused_until.is_none();
        let mut fds = vec![poll::entry(
            if accept_now {
                self.listener.as_raw_fd()
            } else {
                -1
            },
            poll::IN,
        )];
        // stdin goes to the peers, so it waits until there is one (nc does the same), and
        // while one of them is not taking what it was sent. Typed on a terminal, it goes a
        // line at a time (the terminal's line editing).
        let feed_stdin = self.stdin_open
            && !self.conns.is_empty()
            && !self.conns.iter().any(Conn::backed_up)
            && stdin_readable();
        fds.push(poll::entry(if feed_stdin { 0 } else { -1 }, poll::IN));
        fds.extend(self.conns.iter().map(Conn::poll_entry));
        let timeout = if self.following.is_empty() {
            STATE_TICK
        } else {
            TICK
        };
        poll::wait(&mut fds, timeout)?;

        if poll::readable(&fds[0]) {
            self.accept()?;
        }
        if poll::readable(&fds[1]) {
            let mut buf = [0u8; 16 * 1024];
            match std::io::stdin().read(&mut buf) {
                Ok(0) | Err(_) => self.stdin_open = false,
                Ok(n) => {
                    for conn in &mut self.conns {
                        conn.send(&buf[..n], rep)?;
                    }
                }
            }
        }
        for (conn, ready) in self.conns.iter_mut().zip(&fds[2..]) {
            conn.serve(ready, rep, &self.config.answer)?;
            conn.check_state(rep)?;
        }
        // A peer that closed gets our close too: CLOSE_WAIT -> LAST_ACK -> gone.
        let (done, open): (Vec<Conn>, Vec<Conn>) = std::mem::take(&mut self.conns)
            .into_iter()
            .partition(|c| c.peer_done);
        self.conns = open;
        if !done.is_empty() && self.reserve.is_none() {
            // A descriptor was freed: take the reserve back, accept again.
            self.reserve = File::open("/dev/null").ok();
            self.accept_paused_until = None;
        }
        for conn in done {
            self.following
                .push(conn.close(rep, false, self.config.tcp.grace)?);
        }
        let mut still = Vec::new();
        for mut f in std::mem::take(&mut self.following) {
            if !f.step(rep)? {
                still.push(f);
            }
        }
        self.following = still;
        Ok(())
    }

    fn accept(&mut self) -> Result<()> {
        let rep = &self.setup.reporter;
        let (stream, remote) = match self.listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => return self.accept_failed(e),
        };
        self.accepted += 1;
        self.config.tcp.tune(&stream)?;
        let mut conn = Conn::new(
            Some(self.accepted),
            stream,
            remote,
            self.setup.common.encoding,
        )?;
        rep.emit(&conn.event(EventKind::Accepted))?;
        conn.check_state(rep)?;
        self.conns.push(conn);
        Ok(())
    }

    /// A failed accept() never ends the server: a peer that gave up is skipped; running out
    /// of descriptors, buffers or memory pauses accepting (the connection waits in the
    /// kernel's queue) until a connection closes or a moment passes.
    fn accept_failed(&mut self, e: std::io::Error) -> Result<()> {
        let transient_peer = matches!(
            e.raw_os_error(),
            Some(libc::ECONNABORTED | libc::EPROTO | libc::EINTR | libc::EAGAIN | libc::EPERM)
        );
        if transient_peer {
            return Ok(());
        }
        let exhausted = matches!(
            e.raw_os_error(),
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
        );
        if !exhausted {
            return Err(e).context("accepting a connection");
        }
        let first = self.accept_paused_until.is_none() && self.reserve.is_some();
        self.reserve = None;
        self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
        if first {
            let mut event = Event::new(EventKind::Error, Proto::Tcp);
            event.error = Some(format!(
                "accepting: {}; {} connection(s) open; new ones wait in the accept queue until \
                 one closes (raise `ulimit -n` to serve more)",
                crate::text::errno(&e),
                self.conns.len()
            ));
            self.setup.reporter.emit(&event)?;
        }
        Ok(())
    }
}

fn bind_listen(setup: &Setup, addr: SocketAddr, backlog: i32) -> Result<TcpListener> {
    let socket = setup.socket(addr, Proto::Tcp)?;
    setup.bind(&socket, addr, Proto::Tcp)?;
    socket
        .listen(backlog)
        .with_context(|| format!("listening on {addr}"))?;
    Ok(socket.into())
}
