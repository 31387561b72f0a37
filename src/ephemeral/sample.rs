//! `portscope ephemeral sample`: make N sockets on loopback, keep them all open so each holds a
//! distinct port, record the ports the kernel chose, then close them.

use std::net::{SocketAddr, TcpListener, UdpSocket};

use anyhow::{Context, Result, bail};
use indicatif::ProgressBar;
use socket2::{Domain, Socket, Type};

use super::allocation::{Allocation, Method};
use crate::cli::SampleArgs;
use crate::endpoint::{addr, sockopt};
use crate::exit::Exit;
use crate::interrupt::{install, interrupted};
use crate::inventory;
use crate::render::{self, Style};
use crate::terminal::stderr_is_terminal;

pub fn run(args: &SampleArgs, style: Style) -> Result<Exit> {
    let (method, n) = match (args.connect, args.bind, args.udp) {
        (Some(n), _, _) if args.bind_no_port => (Method::BindNoPort, n),
        (Some(n), _, _) => (Method::Connect, n),
        (_, Some(n), _) if args.bind_no_port => (Method::BindNoPort, n),
        (_, Some(n), _) => (Method::Bind, n),
        (_, _, Some(n)) => (Method::Udp, n),
        _ => bail!("give one of --connect N, --bind N, --udp N"),
    };
    let own_range = args
        .port_range
        .as_deref()
        .map(addr::port_range)
        .transpose()?;
    let settings = inventory::port_settings();
    let Some(range) = own_range.or(settings.as_ref().map(|s| s.range)) else {
        bail!("unsupported here: the ephemeral port range is read on Linux only");
    };
    let reserved = settings.as_ref().map_or(0, |s| {
        (range.0..=range.1).filter(|p| s.is_reserved(*p)).count()
    });
    check_budget(method, n, range, reserved)?;
    install();
    let allocation = allocate(method, n, range, own_range)?;
    let Some(allocation) = allocation else {
        return Ok(Exit::Interrupted);
    };
    let mut out = crate::commands::stdout();
    if args.json {
        render::sample::json(&mut out, &allocation)?;
    } else {
        render::sample::text(&mut out, &allocation, &style)?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(Exit::Success)
}

/// Refuses, with the numbers, a sample that the range or the open-files limit cannot hold.
fn check_budget(method: Method, n: usize, range: (u16, u16), reserved: usize) -> Result<()> {
    if n == 0 {
        bail!("N must be at least 1");
    }
    let ports = usize::from(range.1 - range.0) + 1 - reserved;
    if n > ports {
        bail!(
            "{n} sockets cannot each hold a port of {}–{}: it has {ports} usable ports",
            range.0,
            range.1
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
        bail!(
            "{n} sockets need about {needed} open files but the limit is {limit} \
             (ulimit -n; each connection also has its accepted end)"
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
) -> Result<Option<Allocation>> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let listener = TcpListener::bind(loopback).context("opening the loopback listener")?;
    let receiver = UdpSocket::bind(loopback).context("opening the loopback UDP receiver")?;
    let bar = (n > 1000 && stderr_is_terminal()).then(|| ProgressBar::new(n as u64));
    let mut held: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(2 * n);
    let mut ports = Vec::with_capacity(n);
    for i in 0..n {
        if interrupted() {
            return Ok(None);
        }
        let kind = if method == Method::Udp {
            Type::DGRAM
        } else {
            Type::STREAM
        };
        let socket = Socket::new(Domain::IPV4, kind, None).context("creating a socket")?;
        if let Some((low, high)) = own_range {
            sockopt::set_local_port_range(&socket, low, high).context("--port-range")?;
        }
        let failed = |e: std::io::Error| exhausted(e, i, method);
        match method {
            Method::Connect => socket
                .connect(&listener.local_addr()?.into())
                .map_err(failed)?,
            Method::Bind => socket.bind(&loopback.into()).map_err(failed)?,
            Method::BindNoPort => {
                sockopt::set_bind_address_no_port(&socket).context("IP_BIND_ADDRESS_NO_PORT")?;
                socket.bind(&loopback.into()).map_err(failed)?;
                socket
                    .connect(&listener.local_addr()?.into())
                    .map_err(failed)?;
            }
            Method::Udp => {
                socket
                    .send_to(b"sample", &receiver.local_addr()?.into())
                    .map_err(failed)?;
            }
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
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    drop(held);
    Ok(Some(Allocation {
        method,
        range,
        ports,
    }))
}

fn exhausted(e: std::io::Error, made: usize, method: Method) -> anyhow::Error {
    if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) || e.raw_os_error() == Some(libc::EADDRINUSE) {
        anyhow::anyhow!(
            "the kernel ran out of ports after {made} {} sockets ({e})",
            method.name()
        )
    } else {
        anyhow::anyhow!("{} socket {}: {e}", method.name(), made + 1)
    }
}
