//! `portscope tcp connect`: a client that shows its port, its handshake and its way out.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::Socket;

use super::conn::{Answer, Conn};
use super::event::{Event, EventKind, KernelChoice};
use super::setup::stdin_readable;
use super::{Common, Reporter, Setup, TcpOptions, errors, sockopt};
use crate::exit::Exit;
use crate::interrupt::{self, interrupted};
use crate::model::Proto;
use crate::poll;

/// `tcp connect`, resolved.
#[derive(Debug, Clone)]
pub struct Connect {
    /// Every address the target resolved to, tried in turn.
    pub targets: Vec<SocketAddr>,
    /// Bind here first (port 0: the kernel picks one at bind time).
    pub source: Option<SocketAddr>,
    pub bind_no_port: bool,
    pub port_range: Option<(u16, u16)>,
    pub timeout: Duration,
    pub linger0: bool,
    /// Keep the connection this long, then close it.
    pub hold: Option<Duration>,
    pub count: u32,
    /// Pause between connections of `count`.
    pub interval: Duration,
    pub common: Common,
    pub tcp: TcpOptions,
}

pub fn connect(config: &Connect, reporter: Reporter) -> Result<Exit> {
    let setup = Setup::new(&config.common, reporter);
    for i in 0..config.count.max(1) {
        if i > 0 && interrupt::sleep(config.interval) {
            return Ok(Exit::Interrupted);
        }
        if interrupted() {
            return Ok(Exit::Interrupted);
        }
        let Some(mut conn) = connect_any(&setup, config)? else {
            return Ok(Exit::Interrupted);
        };
        let exit = converse(&setup, &mut conn, config)?;
        conn.close(&setup.reporter, config.linger0, config.tcp.grace)?
            .run(&setup.reporter)?;
        if exit != Exit::Success {
            return Ok(exit);
        }
    }
    Ok(if interrupted() {
        Exit::Interrupted
    } else {
        Exit::Success
    })
}

/// Tries each resolved address in turn; the last failure is the error.
fn connect_any(setup: &Setup, config: &Connect) -> Result<Option<Conn>> {
    let mut last = None;
    for target in &config.targets {
        match connect_one(setup, *target, config) {
            Ok(conn) => return Ok(conn),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no address to connect to")))
}

fn connect_one(setup: &Setup, target: SocketAddr, config: &Connect) -> Result<Option<Conn>> {
    let (source, range, timeout) = (config.source, config.port_range, config.timeout);
    let rep = &setup.reporter;
    let socket = setup.socket(target, Proto::Tcp)?;
    let mut chosen = source.is_none_or(|s| s.port() == 0);
    if let Some((low, high)) = range {
        sockopt::set_local_port_range(&socket, low, high).context("--port-range")?;
    }
    if let Some(source) = source {
        if config.bind_no_port {
            sockopt::set_bind_address_no_port(&socket).context("--bind-no-port")?;
        }
        setup.bind(&socket, source, Proto::Tcp)?;
        let bound = socket.local_addr()?.as_socket();
        let mut event = Event::new(EventKind::Bound, Proto::Tcp).addrs(bound, None);
        if source.port() == 0 && !config.bind_no_port {
            // bind(port 0) picked the port now, unique against every destination.
            event.chosen = Some(KernelChoice {
                range: range.or_else(|| rep.port_range()),
            });
            chosen = false;
        }
        rep.emit(&event)?;
    }
    rep.emit(&Event::new(EventKind::Connecting, Proto::Tcp).addrs(None, Some(target)))?;
    socket.set_nonblocking(true)?;
    let started = Instant::now();
    match socket.connect(&target.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            if !wait_connected(&socket, target, timeout)? {
                return Ok(None);
            }
        }
        Err(e) => return Err(errors::connect_error(e, target, Proto::Tcp, timeout)),
    }
    let handshake = started.elapsed();
    let stream: TcpStream = socket.into();
    config.tcp.tune(&stream)?;
    let mut conn = Conn::new(None, stream, target, setup.common.encoding)?;
    let mut event = conn.event(EventKind::Connected);
    event.handshake = Some(handshake);
    if chosen {
        event.chosen = Some(KernelChoice {
            range: range.or_else(|| rep.port_range()),
        });
    }
    rep.emit(&event)?;
    conn.check_state(rep)?;
    Ok(Some(conn))
}

/// Waits for a non-blocking connect; false on Ctrl-C.
fn wait_connected(socket: &Socket, target: SocketAddr, timeout: Duration) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if interrupted() {
            return Ok(false);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            let e = std::io::Error::from_raw_os_error(libc::ETIMEDOUT);
            return Err(errors::connect_error(e, target, Proto::Tcp, timeout));
        }
        let mut fds = [poll::entry(socket.as_raw_fd(), poll::OUT)];
        if poll::wait(&mut fds, left.min(Duration::from_millis(100)))? == 0 {
            continue;
        }
        return match socket.take_error()? {
            None => Ok(true),
            Some(e) => Err(errors::connect_error(e, target, Proto::Tcp, timeout)),
        };
    }
}

/// The life of one connection before close: hold it, or relay stdin until EOF and then wait
/// for the peer to finish.
fn converse(setup: &Setup, conn: &mut Conn, config: &Connect) -> Result<Exit> {
    let rep = &setup.reporter;
    let hold_until = config.hold.map(|d| Instant::now() + d);
    // Several short connections, unheld, close at once; a single one relays stdin (nc style).
    if config.count > 1 && hold_until.is_none() {
        return Ok(Exit::Success);
    }
    let mut stdin_open = hold_until.is_none();
    loop {
        if interrupted() {
            return Ok(Exit::Interrupted);
        }
        if conn.peer_done || hold_until.is_some_and(|t| Instant::now() >= t) {
            return Ok(Exit::Success);
        }
        // stdin waits while the peer is not taking what it was sent.
        let read_stdin = stdin_open && !conn.backed_up() && stdin_readable();
        let mut fds = [
            conn.poll_entry(),
            poll::entry(if read_stdin { 0 } else { -1 }, poll::IN),
        ];
        poll::wait(&mut fds, Duration::from_millis(100))?;
        conn.serve(&fds[0], rep, &Answer::Nothing)?;
        if poll::readable(&fds[1]) {
            let mut buf = [0u8; 16 * 1024];
            match std::io::stdin().read(&mut buf) {
                Ok(n) if n > 0 => conn.send(&buf[..n], rep)?,
                _ => {
                    stdin_open = false;
                    conn.shutdown_write(rep)?;
                }
            }
        }
        conn.check_state(rep)?;
    }
}
