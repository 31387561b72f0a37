//! `portscope udp recv` and `portscope udp send`.

use std::io::{self, Read};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::conn::Answer;
use super::decode::TextDecoder;
use super::event::{Event, EventKind, KernelChoice};
use super::{Common, Reporter, Setup, errors};
use crate::exit::Exit;
use crate::interrupt::interrupted;
use crate::model::{Proto, TcpState};
use crate::poll;

/// `udp recv`, resolved.
#[derive(Debug, Clone)]
pub struct UdpRecv {
    pub addr: SocketAddr,
    pub answer: Answer,
    /// Exit after this many datagrams.
    pub count: Option<u64>,
    pub common: Common,
}

/// `udp send`, resolved.
#[derive(Debug, Clone)]
pub struct UdpSend {
    pub target: SocketAddr,
    /// One datagram; without it, each line of stdin is one.
    pub text: Option<Vec<u8>>,
    /// After each datagram, how long to wait for a reply or an ICMP error.
    pub wait: Duration,
    pub source: Option<SocketAddr>,
    pub common: Common,
}

const TICK: Duration = Duration::from_millis(100);

fn bind(setup: &Setup, addr: SocketAddr) -> Result<UdpSocket> {
    let socket = setup.socket(addr, Proto::Udp)?;
    setup.bind(&socket, addr, Proto::Udp)?;
    let socket: UdpSocket = socket.into();
    let mut event =
        Event::new(EventKind::Bound, Proto::Udp).addrs(Some(socket.local_addr()?), None);
    if addr.port() == 0 {
        event.chosen = Some(KernelChoice {
            range: setup.reporter.port_range(),
        });
    }
    setup.reporter.emit(&event)?;
    Ok(socket)
}

/// Reports one received datagram (and its text on stdout).
fn received(
    setup: &Setup,
    decoder: &mut TextDecoder,
    local: SocketAddr,
    from: SocketAddr,
    bytes: &[u8],
) -> io::Result<()> {
    let rep = &setup.reporter;
    let mut event = Event::new(EventKind::Received, Proto::Udp)
        .addrs(Some(local), Some(from))
        .bytes(bytes.len());
    let text = rep.decodes().then(|| decoder.decode(bytes));
    event.data = text.clone();
    rep.emit(&event)?;
    rep.data(text.as_deref(), bytes)
}

pub fn recv(config: &UdpRecv, reporter: Reporter) -> Result<Exit> {
    let setup = Setup::new(&config.common, reporter);
    let socket = bind(&setup, config.addr)?;
    let local = socket.local_addr()?;
    let mut decoder = TextDecoder::new(config.common.encoding);
    let mut buf = vec![0u8; 65536];
    let mut count = 0;
    while config.count.is_none_or(|n| count < n) {
        if interrupted() {
            return Ok(Exit::Interrupted);
        }
        let mut fds = [poll::entry(socket.as_raw_fd(), poll::IN)];
        if poll::wait(&mut fds, TICK)? == 0 {
            continue;
        }
        let (n, from) = match socket.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("receiving a datagram"),
        };
        count += 1;
        received(&setup, &mut decoder, local, from, &buf[..n])?;
        let answer: Option<&[u8]> = match &config.answer {
            Answer::Reply(text) => Some(text),
            Answer::Echo => Some(&buf[..n]),
            Answer::Nothing => None,
        };
        if let Some(answer) = answer {
            let sent = socket
                .send_to(answer, from)
                .with_context(|| format!("answering {from}"))?;
            let event = Event::new(EventKind::Sent, Proto::Udp).addrs(Some(local), Some(from));
            setup.reporter.emit(&event.bytes(sent))?;
        }
    }
    Ok(Exit::Success)
}

pub fn send(config: &UdpSend, reporter: Reporter) -> Result<Exit> {
    let setup = Setup::new(&config.common, reporter);
    let rep = &setup.reporter;
    let target = config.target;
    let socket = match config.source {
        Some(source) => bind(&setup, source)?,
        // An unbound socket: the kernel gives it a port at connect() (or at a first send).
        None => setup.socket(target, Proto::Udp)?.into(),
    };
    let chosen_now = socket.local_addr().map_or(true, |a| a.port() == 0);
    // Connected, so that an ICMP port unreachable comes back as ECONNREFUSED. No route is
    // "not there" as it is for `tcp connect`.
    socket
        .connect(target)
        .map_err(|e| errors::connect_error(e, target, Proto::Udp, config.wait))?;
    let local = socket.local_addr()?;
    let mut event = Event::new(EventKind::Connected, Proto::Udp)
        .addrs(Some(local), Some(target))
        .state(TcpState::Established);
    if chosen_now {
        event.chosen = Some(KernelChoice {
            range: rep.port_range(),
        });
    }
    rep.emit(&event)?;
    let mut decoder = TextDecoder::new(config.common.encoding);
    let wait = config.wait;
    let mut send_one = |message: &[u8]| -> Result<Exit> {
        match socket.send(message) {
            Ok(n) => rep.emit(
                &Event::new(EventKind::Sent, Proto::Udp)
                    .addrs(Some(local), Some(target))
                    .bytes(n),
            )?,
            Err(e) => return Err(errors::connect_error(e, target, Proto::Udp, wait)),
        }
        await_reply(&setup, &socket, &mut decoder, local, target, wait)
    };
    if let Some(text) = &config.text {
        return send_one(text);
    }
    let mut pending = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if interrupted() {
            return Ok(Exit::Interrupted);
        }
        let mut fds = [poll::entry(0, poll::IN)];
        if poll::wait(&mut fds, TICK)? == 0 {
            continue;
        }
        let n = match io::stdin().read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading stdin"),
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let exit = send_one(&line[..line.len() - 1])?;
            if exit != Exit::Success {
                return Ok(exit);
            }
        }
        if n == 0 {
            if !pending.is_empty() {
                return send_one(&pending);
            }
            return Ok(Exit::Success);
        }
    }
}

/// Waits up to `wait` for a reply or an ICMP error on the connected socket.
fn await_reply(
    setup: &Setup,
    socket: &UdpSocket,
    decoder: &mut TextDecoder,
    local: SocketAddr,
    target: SocketAddr,
    wait: Duration,
) -> Result<Exit> {
    let deadline = Instant::now() + wait;
    let mut buf = vec![0u8; 65536];
    loop {
        if interrupted() {
            return Ok(Exit::Interrupted);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Exit::Success);
        }
        let mut fds = [poll::entry(socket.as_raw_fd(), poll::IN)];
        if poll::wait(&mut fds, left.min(TICK))? == 0 {
            continue;
        }
        match socket.recv(&mut buf) {
            Ok(n) => {
                received(setup, decoder, local, target, &buf[..n])?;
                return Ok(Exit::Success);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(errors::connect_error(e, target, Proto::Udp, wait)),
        }
    }
}
