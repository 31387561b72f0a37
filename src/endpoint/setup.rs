//! The options every endpoint shares, and making and binding its sockets.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use socket2::Socket;

use super::decode::Encoding;
use super::{Reporter, errors, sockopt};
use crate::addr::Families;
use crate::model::Proto;

/// The options every endpoint takes, resolved once from the command line.
#[derive(Debug, Clone)]
pub struct Common {
    pub families: Families,
    pub encoding: Encoding,
    pub reuseaddr: bool,
    pub reuseport: bool,
}

/// The options of the TCP endpoints alone.
#[derive(Debug, Clone)]
pub struct TcpOptions {
    /// How long to follow a socket in the kernel's table after close.
    pub grace: Duration,
    pub nodelay: bool,
}

impl TcpOptions {
    pub fn tune(&self, stream: &TcpStream) -> Result<()> {
        if self.nodelay {
            stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        }
        Ok(())
    }
}

/// Whether stdin may be read now: a pipe or file always, a terminal only while this process
/// is in its foreground (a background job reading its terminal is stopped by SIGTTIN, as
/// `nc -l … &` is).
pub fn stdin_readable() -> bool {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return true;
    }
    // SAFETY: tcgetpgrp and getpgrp only read the process's state.
    unsafe { libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// The common options and where to report, for one endpoint's run.
pub struct Setup<'a> {
    pub common: &'a Common,
    pub reporter: Reporter<'a>,
}

impl<'a> Setup<'a> {
    pub fn new(common: &'a Common, reporter: Reporter<'a>) -> Setup<'a> {
        Setup { common, reporter }
    }

    /// A new socket of `addr`'s family.
    pub fn socket(&self, addr: SocketAddr, proto: Proto) -> Result<Socket> {
        sockopt::socket(addr, proto, false)
            .with_context(|| format!("creating a {} socket", proto.name()))
    }

    /// SO_REUSEADDR / SO_REUSEPORT as asked, then bind(), with a failure explained (who holds
    /// the port, which permission is missing).
    pub fn bind(&self, socket: &Socket, addr: SocketAddr, proto: Proto) -> Result<()> {
        let what = || format!("setting socket options for {addr}");
        if self.common.reuseaddr {
            socket.set_reuse_address(true).with_context(what)?;
        }
        if self.common.reuseport {
            socket.set_reuse_port(true).with_context(what)?;
        }
        socket
            .bind(&addr.into())
            .map_err(|e| errors::bind_error(self.reporter.host, e, addr, proto))
    }
}
