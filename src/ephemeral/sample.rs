//! `portscope ephemeral sample`: make N sockets on loopback, keep them all open so each holds a
//! distinct port, record the ports the kernel chose, then close them.

use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use anyhow::{Context, Result, bail};

use super::allocation::{Allocation, Method};
use crate::endpoint::sockopt;
use crate::host::Host;
use crate::interrupt::interrupted;
use crate::model::{PortSettings, Proto, Socket};
use crate::query::Query;

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
    let peers = Peers::open()?;
    if let Ok(settings) = settings {
        check_free(host, sample, PortSettings { range, ..settings })?;
    }
    allocate(
        sample.method,
        sample.n,
        range,
        sample.own_range,
        &peers,
        tick,
    )
}

/// The sample's own listener and UDP receiver: they take ports too, before the sample counts.
struct Peers {
    listener: TcpListener,
    receiver: UdpSocket,
}

impl Peers {
    fn open() -> Result<Peers> {
        let loopback: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
        Ok(Peers {
            listener: TcpListener::bind(loopback).context("opening the loopback listener")?,
            receiver: UdpSocket::bind(loopback).context("opening the loopback UDP receiver")?,
        })
    }
}

/// Refuses a sample that the ports free now cannot hold (the sample's own listener and
/// receiver already in place): for connect(), what a new destination can take (the
/// `ephemeral` report's capacity); for bind() to 127.0.0.1, the range ports no TCP socket on
/// 127.0.0.1 or a wildcard address holds; for UDP (an unbound socket takes a wildcard port),
/// the range ports no IPv4 or dual-stack UDP socket holds.
fn check_free(host: &dyn Host, sample: &Sample, settings: PortSettings) -> Result<()> {
    let query = Query::everything().without_owners();
    let sockets = crate::inventory::collect(host, &query)?.sockets;
    let usable = settings
        .range_size()
        .saturating_sub(settings.reserved_in_range());
    let (free, estimate) = match sample.method {
        Method::Connect | Method::BindNoPort => {
            let report = super::report(host, &settings, &sockets);
            (report.capacity(), report.bind_before_connect.is_estimate())
        }
        Method::Bind => (usable - taken(&settings, &sockets, Proto::Tcp), false),
        Method::Udp => (usable - taken(&settings, &sockets, Proto::Udp), false),
    };
    if sample.n > free {
        let own = if sample.method == Method::Udp {
            "receiver"
        } else {
            "listener"
        };
        bail!(
            "{} {} sockets cannot each hold a port of {}–{} now: {}{free} of its {usable} usable \
             ports are free (this sample's own {own} takes one; `portscope ephemeral` shows the \
             rest)",
            sample.n,
            sample.method.name(),
            settings.range.0,
            settings.range.1,
            if estimate { "about " } else { "" },
        );
    }
    Ok(())
}

/// Usable range ports the sample's sockets of `proto` cannot take: TCP binds 127.0.0.1, which
/// a socket on it or on a wildcard address taking IPv4 blocks; UDP takes a port for the
/// wildcard address, which any IPv4 or dual-stack socket blocks.
fn taken(settings: &PortSettings, sockets: &[Socket], proto: Proto) -> usize {
    let blocks = |s: &Socket| match (proto, s.local.ip) {
        _ if s.is_dual_stack() => true,
        (Proto::Udp, ip) => ip.is_ipv4(),
        (Proto::Tcp, ip) => ip == Ipv4Addr::LOCALHOST || ip == Ipv4Addr::UNSPECIFIED,
    };
    sockets
        .iter()
        .filter(|s| s.proto == proto && blocks(s))
        .map(|s| s.local.port)
        .filter(|p| settings.in_range(*p) && !settings.is_reserved(*p))
        .collect::<std::collections::HashSet<u16>>()
        .len()
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
    peers: &Peers,
    tick: &dyn Fn(),
) -> Result<Option<Allocation>> {
    let loopback: SocketAddr = "127.0.0.1:0".parse()?;
    let Peers { listener, receiver } = peers;
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
    if e.raw_os_error() == Some(libc::EAGAIN) && method == Method::Udp {
        // udp_lib_get_port's answer when an unbound socket's first send finds no free port.
        anyhow::anyhow!(
            "the kernel ran out of UDP ports after {made} sockets: sending from an unbound \
             socket needs a free port of the range and there was none ({why})"
        )
    } else if matches!(
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A UDP send that finds no free port fails with EAGAIN: said in words, not "os error 11".
    #[test]
    fn udp_exhaustion_is_explained() {
        let e = exhausted(
            std::io::Error::from_raw_os_error(libc::EAGAIN),
            199,
            Method::Udp,
        );
        let text = format!("{e:#}");
        assert!(
            text.contains("ran out of UDP ports after 199 sockets"),
            "{text}"
        );
        assert!(text.contains("needs a free port of the range"), "{text}");
    }
}
