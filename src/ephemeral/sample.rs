//! `portscope ephemeral sample`: make N sockets on loopback, keep them all open so each holds a
//! distinct port, record the ports the kernel chose, then close them.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use anyhow::{Context, Result, bail};

use super::allocation::{Allocation, Method};
use crate::endpoint::sockopt;
use crate::host::Host;
use crate::interrupt::interrupted;
use crate::model::Proto;

/// What to sample.
#[derive(Debug, Clone)]
pub struct Sample {
    pub method: Method,
    pub n: usize,
    /// IP_LOCAL_PORT_RANGE on every socket.
    pub own_range: Option<(u16, u16)>,
}

/// Makes the sockets and records their ports; None on Ctrl-C. `tick` hears each socket made.
pub fn run(host: &dyn Host, sample: &Sample, tick: &dyn Fn()) -> Result<Option<Allocation>> {
    let settings = host.port_settings();
    let range = match (sample.own_range, &settings) {
        (Some(range), _) => range,
        (None, Ok(s)) => s.range,
        (None, Err(e)) => bail!("{e:#}"),
    };
    let reserved = settings.as_ref().map_or(0, |s| {
        (range.0..=range.1).filter(|p| s.is_reserved(*p)).count()
    });
    check_budget(sample.method, sample.n, range, reserved)?;
    allocate(sample.method, sample.n, range, sample.own_range, tick)
}

/// Refuses, with the numbers, a sample that the range or the open-files limit cannot hold.
fn check_budget(method: Method, n: usize, range: (u16, u16), reserved: usize) -> Result<()> {
    if n == 0 {
        bail!("N must be at least 1");
    }
    let ports = usize::from(range.1 - range.0) + 1 - reserved;
    if n > ports {
        bail!(
            "{n} sockets cannot each hold a port of {}–{}: it has {}",
            range.0,
            range.1,
            crate::text::count(ports, "usable port")
        );
    }
    let per_socket = if matches!(method, Method::Connect | Method::BindNoPort) {
        2
    } else {
        1
    };
    let limit = crate::fdlimit::raise() as usize;
    let needed = n * per_socket + 32;
    if needed > limit {
        let why = if per_socket == 2 {
            "; each connection also has its accepted end"
        } else {
            ""
        };
        bail!(
            "{n} sockets need about {needed} open files but the limit is {limit} (ulimit -n{why})"
        );
    }
    Ok(())
}

/// Makes the sockets, holding every one until all ports are recorded. None on Ctrl-C.
fn allocate(
    method: Method,
    n: usize,
    range: (u16, u16),
    own_range: Option<(u16, u16)>,
    tick: &dyn Fn(),
) -> Result<Option<Allocation>> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let listener = TcpListener::bind(loopback).context("opening the loopback listener")?;
    let receiver = UdpSocket::bind(loopback).context("opening the loopback UDP receiver")?;
    let mut held: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(2 * n);
    let mut ports = Vec::with_capacity(n);
    for i in 0..n {
        if interrupted() {
            return Ok(None);
        }
        let proto = if method == Method::Udp {
            Proto::Udp
        } else {
            Proto::Tcp
        };
        let socket = sockopt::socket(loopback, proto, false).context("creating a socket")?;
        if let Some((low, high)) = own_range {
            sockopt::set_local_port_range(&socket, low, high).context("--port-range")?;
        }
        let target = listener.local_addr()?.into();
        let taken = match method {
            Method::Connect => socket.connect(&target),
            Method::Bind => socket.bind(&loopback.into()),
            Method::BindNoPort => {
                sockopt::set_bind_address_no_port(&socket).context("IP_BIND_ADDRESS_NO_PORT")?;
                socket
                    .bind(&loopback.into())
                    .and_then(|()| socket.connect(&target))
            }
            Method::Udp => socket
                .send_to(b"sample", &receiver.local_addr()?.into())
                .map(drop),
        };
        match taken {
            Ok(()) => {}
            // Ctrl-C during a connect() is an interruption, not a failure.
            Err(_) if interrupted() => return Ok(None),
            Err(e) => return Err(exhausted(e, i, method)),
        }
        let port = socket.local_addr()?.as_socket().map_or(0, |a| a.port());
        ports.push(port);
        if method != Method::Bind && method != Method::Udp {
            // Accept at once so the listener's queue never fills.
            let (accepted, _) = listener.accept().context("accepting a sample connection")?;
            socket2::SockRef::from(&accepted).set_linger(Some(std::time::Duration::ZERO))?;
            held.push(Box::new(accepted));
        }
        // Closed with RST when the sample ends, so the experiment leaves no TIME_WAIT behind.
        socket.set_linger(Some(std::time::Duration::ZERO))?;
        held.push(Box::new(socket));
        tick();
    }
    drop(held);
    Ok(Some(Allocation {
        method,
        range,
        ports,
    }))
}

fn exhausted(e: std::io::Error, made: usize, method: Method) -> anyhow::Error {
    let why = crate::text::errno(&e);
    if matches!(
        e.raw_os_error(),
        Some(libc::EADDRNOTAVAIL | libc::EADDRINUSE)
    ) {
        anyhow::anyhow!(
            "the kernel ran out of ports after {made} {} sockets ({why})",
            method.name()
        )
    } else {
        anyhow::anyhow!("{} socket {}: {why}", method.name(), made + 1)
    }
}
