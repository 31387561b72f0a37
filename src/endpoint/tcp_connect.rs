//! `portscope tcp connect`: a client that shows its port, its handshake and its way out.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use socket2::Socket;

use super::conn::{Answer, Conn};
use super::event::{Event, EventKind, KernelChoice};
use super::{Setup, addr, errors, poll, sockopt};
use crate::cli::TcpConnectArgs;
use crate::exit::Exit;
use crate::interrupt::interrupted;
use crate::inventory;
use crate::model::Proto;

pub fn run(args: &TcpConnectArgs) -> Result<Exit> {
    let setup = Setup::new(&args.common);
    let targets = addr::remote(&args.target, setup.families)?;
    let source = args
        .source
        .as_deref()
        .map(|s| addr::source(s, setup.families))
        .transpose()?;
    let range = args
        .port_range
        .as_deref()
        .map(addr::port_range)
        .transpose()?;
    let timeout = Duration::from_millis(args.timeout);
    for i in 0..args.count.max(1) {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(args.interval));
        }
        if interrupted() {
            return Ok(Exit::Interrupted);
        }
        let Some(mut conn) = connect_any(&setup, &targets, source, range, args, timeout)? else {
            return Ok(Exit::Interrupted);
        };
        let exit = converse(&setup, &mut conn, args)?;
        conn.close(&setup.reporter, args.linger0, setup.grace)?
            .run(&setup.reporter)?;
        if exit != Exit::Success {
            return Ok(exit);
        }
    }
    Ok(Exit::Success)
}

/// Tries each resolved address in turn; the last failure is the error.
fn connect_any(
    setup: &Setup,
    targets: &[SocketAddr],
    source: Option<SocketAddr>,
    range: Option<(u16, u16)>,
    args: &TcpConnectArgs,
    timeout: Duration,
) -> Result<Option<Conn>> {
    let mut last = None;
    for target in targets {
        match connect(setup, *target, source, range, args, timeout) {
            Ok(conn) => return Ok(conn),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no address to connect to")))
}

fn connect(
    setup: &Setup,
    target: SocketAddr,
    source: Option<SocketAddr>,
    range: Option<(u16, u16)>,
    args: &TcpConnectArgs,
    timeout: Duration,
) -> Result<Option<Conn>> {
    let rep = &setup.reporter;
    let socket = setup.socket(target, Proto::Tcp)?;
    let mut chosen = source.is_none_or(|s| s.port() == 0);
    if let Some((low, high)) = range {
        sockopt::set_local_port_range(&socket, low, high).context("--port-range")?;
    }
    if let Some(source) = source {
        if args.bind_no_port {
            sockopt::set_bind_address_no_port(&socket).context("--bind-no-port")?;
        }
        setup.bind(&socket, source, Proto::Tcp)?;
        let bound = socket.local_addr()?.as_socket();
        let mut event = Event::new(EventKind::Bound, Proto::Tcp).addrs(bound, None);
        if source.port() == 0 && !args.bind_no_port {
            // bind(port 0) picked the port now, unique against every destination.
            event.chosen = Some(KernelChoice {
                range: range.or_else(inventory::port_range),
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
        Err(e) => return Err(errors::connect_error(e, target, timeout)),
    }
    let handshake = started.elapsed();
    socket.set_nonblocking(false)?;
    let stream: TcpStream = socket.into();
    setup.tune_stream(&stream)?;
    let mut conn = Conn::new(None, stream, target, setup.encoding)?;
    let mut event = conn.event(EventKind::Connected);
    event.handshake = Some(handshake);
    if chosen {
        event.chosen = Some(KernelChoice {
            range: range.or_else(inventory::port_range),
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
            return Err(errors::connect_error(e, target, timeout));
        }
        let mut fds = [libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        }];
        if poll::wait(&mut fds, left.min(Duration::from_millis(100)))? == 0 {
            continue;
        }
        return match socket.take_error()? {
            None => Ok(true),
            Some(e) => Err(errors::connect_error(e, target, timeout)),
        };
    }
}

/// The life of one connection before close: hold it, or relay stdin until EOF and then wait
/// for the peer to finish.
fn converse(setup: &Setup, conn: &mut Conn, args: &TcpConnectArgs) -> Result<Exit> {
    let rep = &setup.reporter;
    let hold_until = args
        .hold
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    // Several short connections, unheld, close at once; a single one relays stdin (nc style).
    if args.count > 1 && hold_until.is_none() {
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
        let mut fds = [
            poll::entry(conn.stream.as_raw_fd()),
            poll::entry(if stdin_open { 0 } else { -1 }),
        ];
        poll::wait(&mut fds, Duration::from_millis(100))?;
        if poll::ready(&fds[0]) {
            conn.read(rep, &Answer::Nothing)?;
        }
        if poll::ready(&fds[1]) {
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
