//! The lab itself: real sockets on loopback, one call at a time, the table after each.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};

use anyhow::{Context, Result};
use socket2::{Domain, Socket, Type};

use super::closes;
use super::model::{Captured, Row, Step};
use super::table::{Known, rows, settled, state_of};
use crate::host::Host;
use crate::model::TcpState;

/// How the lab's connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The client closes first (it ends in TIME_WAIT).
    ClientFirst,
    /// The server closes first (it ends in TIME_WAIT).
    ServerFirst,
    /// The client closes with SO_LINGER 0: RST, no TIME_WAIT.
    Rst,
    /// The client shuts down its sending side and keeps receiving.
    HalfClose,
}

const BACKLOG: i32 = 4;

/// Reads the segments sent since its last call, naming endpoints with the map given.
pub type Segments = Box<dyn FnMut(&HashMap<SocketAddr, &'static str>) -> Captured>;

/// Collects steps and hands each to `show` as it happens.
pub struct Lab<'a> {
    /// Where the lab's sockets are read from.
    pub host: &'a dyn Host,
    pub steps: Vec<Step>,
    /// How the table was read, when it was not the usual way (a fallback).
    pub notes: Vec<String>,
    show: &'a mut dyn FnMut(&Step) -> Result<()>,
    segments: Option<Segments>,
    names: HashMap<SocketAddr, &'static str>,
}

impl<'a> Lab<'a> {
    pub fn new(
        host: &'a dyn Host,
        show: &'a mut dyn FnMut(&Step) -> Result<()>,
        segments: Option<Segments>,
    ) -> Lab<'a> {
        Lab {
            host,
            steps: Vec::new(),
            notes: Vec::new(),
            show,
            segments,
            names: HashMap::new(),
        }
    }

    /// Names an endpoint in the captured segments.
    fn name(&mut self, addr: SocketAddr, role: &'static str) {
        self.names.insert(addr, role);
    }

    pub(super) fn step(
        &mut self,
        actor: &'static str,
        call: String,
        rows: Vec<Row>,
        explanation: String,
    ) -> Result<()> {
        let names = &self.names;
        let captured = self
            .segments
            .as_mut()
            .map(|take| take(names))
            .unwrap_or_default();
        let step = Step {
            number: self.steps.len() + 1,
            actor,
            call,
            rows,
            explanation,
            segments: captured.segments,
            segments_not_shown: captured.not_shown,
        };
        (self.show)(&step)?;
        self.steps.push(step);
        Ok(())
    }
}

fn listen(backlog: i32) -> Result<(TcpListener, SocketAddr)> {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    socket
        .bind(&any.into())
        .context("binding the lab's listener")?;
    socket.listen(backlog)?;
    let listener: TcpListener = socket.into();
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}

pub(super) fn queues_empty(rows: &[Row]) -> bool {
    rows.iter()
        .filter(|r| r.state != TcpState::Listen)
        .all(|r| r.recv_q == 0 && r.send_q == 0)
}

pub(super) fn row<'r>(rows: &'r [Row], role: &str) -> Option<&'r Row> {
    rows.iter().find(|r| r.role == role)
}

/// Handshake, accept, data, then the close `close` asks for.
pub fn connection(lab: &mut Lab, close: Close) -> Result<()> {
    let (listener, l) = listen(BACKLOG)?;
    let port = l.port();
    lab.name(l, "server");
    let mut known = vec![Known {
        role: "listener",
        local: l,
        remote: None,
    }];
    let now = rows(lab, port, &known)?;
    lab.step(
        "server",
        format!("socket(), bind(127.0.0.1:0), listen({BACKLOG})"),
        now,
        format!(
            "A listening socket on port {port}, chosen by the kernel. From now on the kernel \
             completes handshakes by itself. For a listener Send-Q shows the backlog ({BACKLOG}) \
             and Recv-Q the connections waiting for accept()."
        ),
    )?;

    let mut client = TcpStream::connect(l).context("connecting to the lab's listener")?;
    let c = client.local_addr()?;
    lab.name(c, "client");
    known.push(Known {
        role: "client",
        local: c,
        remote: Some(l),
    });
    known.push(Known {
        role: "server",
        local: l,
        remote: Some(c),
    });
    let table = settled(lab, port, &known, |r| {
        state_of(r, "server") == Some(TcpState::Established)
            && row(r, "listener").is_some_and(|l| l.recv_q == 1)
    })?;
    lab.step(
        "client",
        format!("connect({l})"),
        table,
        format!(
            "connect() returned once the three-way handshake (SYN, SYN-ACK, ACK) was done — by \
             the two kernels alone. Both ends are ESTABLISHED; the server's end has no process \
             yet: it waits in the accept queue (listener Recv-Q 1). The client's port {} was \
             chosen by the kernel.",
            c.port()
        ),
    )?;

    let (mut server, _) = listener.accept()?;
    let table = settled(lab, port, &known, |r| {
        row(r, "listener").is_some_and(|l| l.recv_q == 0)
    })?;
    lab.step(
        "server",
        "accept()".into(),
        table,
        "accept() took the connection off the queue (listener Recv-Q back to 0) and gave the \
         server a descriptor for it: now it has an owner."
            .into(),
    )?;

    let sent = fill(&mut client)?;
    let table = settled(lab, port, &known, |r| {
        row(r, "server").is_some_and(|s| s.recv_q > 0)
    })?;
    lab.step(
        "client",
        format!("send() {sent} bytes while the server does not read"),
        table,
        "The bytes wait in the server's receive queue (Recv-Q) until it reads them; what did \
         not fit there stays in the client's send queue (Send-Q), unacknowledged, until the \
         server's window opens again."
            .into(),
    )?;

    drain(&mut server, sent)?;
    let table = settled(lab, port, &known, queues_empty)?;
    lab.step(
        "server",
        format!("recv() {sent} bytes"),
        table,
        "Reading emptied the receive queue; the window opened and the client's send queue \
         drained."
            .into(),
    )?;

    match close {
        Close::ClientFirst => {
            closes::orderly(lab, port, &known, client, server, ["client", "server"])
        }
        Close::ServerFirst => {
            closes::orderly(lab, port, &known, server, client, ["server", "client"])
        }
        Close::Rst => closes::reset(lab, port, &known, client, server),
        Close::HalfClose => closes::half_close(lab, port, &known, client, server),
    }
}

/// Sends until the kernel would block: the receiver's buffer and the sender's are full.
fn fill(stream: &mut TcpStream) -> Result<usize> {
    stream.set_nonblocking(true)?;
    let chunk = [b'x'; 64 * 1024];
    let mut sent = 0;
    while sent < 64 * 1024 * 1024 {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e).context("filling the connection"),
        }
    }
    stream.set_nonblocking(false)?;
    Ok(sent)
}

fn drain(stream: &mut TcpStream, mut left: usize) -> Result<()> {
    let mut buf = [0u8; 64 * 1024];
    while left > 0 {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        left = left.saturating_sub(n);
    }
    Ok(())
}

/// A listener with backlog 0 and one connection queued drops the next SYN.
pub fn overflow(lab: &mut Lab) -> Result<()> {
    let (_listener, l) = listen(0)?;
    let port = l.port();
    let a = TcpStream::connect(l)?;
    let b = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    b.set_nonblocking(true)?;
    match b.connect(&l.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e).context("starting client B's connect"),
    }
    let b_local = b.local_addr()?.as_socket().context("client B's address")?;
    lab.name(l, "server");
    lab.name(a.local_addr()?, "client A");
    lab.name(b_local, "client B");
    let known = [
        Known {
            role: "listener",
            local: l,
            remote: None,
        },
        Known {
            role: "server A",
            local: l,
            remote: Some(a.local_addr()?),
        },
        Known {
            role: "client A",
            local: a.local_addr()?,
            remote: Some(l),
        },
        Known {
            role: "client B",
            local: b_local,
            remote: Some(l),
        },
    ];
    let table = settled(lab, port, &known, |r| {
        row(r, "client B")
            .and_then(|b| b.timer)
            .is_some_and(|t| t.retransmits >= 1)
    })?;
    lab.step(
        "client B",
        format!("connect({l}) while the listener (backlog 0) already holds one connection"),
        table,
        "The accept queue is full (listener Recv-Q 1 over a backlog of 0), so the server's \
         kernel drops client B's SYN without an answer: client B sits in SYN_SENT and \
         retransmits, the timer doubling from 1 s, until the queue has room or connect() gives \
         up (net.ipv4.tcp_syn_retries, about two minutes). From outside this looks exactly like \
         a firewall dropping packets."
            .into(),
    )
}
