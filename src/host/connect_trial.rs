//! Which ports a connect() to a new destination cannot take now: one trial connect per port,
//! its socket limited to that port with IP_LOCAL_PORT_RANGE (Linux 6.3). __inet_hash_connect
//! skips a port whose bind bucket bind() made (tb->fastreuse >= 0) for every destination, but
//! shares one that connect() made; so EADDRNOTAVAIL means bind() holds the port.
//!
//! The trial goes to 127.0.0.1 port 0, where nothing can listen (binding port 0 picks
//! another): a refused SYN on loopback at most. Its socket closes with RST, leaving no
//! TIME_WAIT, and it only ever joins a port that connections already share.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::{Context, Result, bail};

use crate::endpoint::sockopt;
use crate::model::Proto;

/// The ports among `ports` that bind() holds (a trial connect limited to the port fails with
/// EADDRNOTAVAIL); an error when trials cannot run here (an older kernel, loopback down).
pub fn bind_held(ports: &[u16]) -> Result<Vec<u16>> {
    let nowhere = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut held = Vec::new();
    for &port in ports {
        let socket = sockopt::socket(nowhere, Proto::Tcp, true).context("a trial connect")?;
        sockopt::set_local_port_range(&socket, port, port).context("a trial connect")?;
        socket.set_linger(Some(std::time::Duration::ZERO))?;
        match socket.connect(&nowhere.into()) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => held.push(port),
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EINPROGRESS | libc::ECONNREFUSED)
                ) => {}
            Err(e) => bail!("a trial connect from port {port}: {}", errno(&e)),
        }
    }
    Ok(held)
}

fn errno(e: &io::Error) -> String {
    crate::text::errno(e)
}
