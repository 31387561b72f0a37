//! The options every endpoint shares, resolved once: families, output, sockets and binding.

use std::io::IsTerminal;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use socket2::{Domain, Socket, Type};

use super::addr::Families;
use super::errors;
use crate::cli::{EncodingName, EndpointArgs};
use crate::model::Proto;
use crate::render::events::{Mode, Reporter};

/// The common options, resolved once.
pub struct Setup {
    pub families: Families,
    pub reporter: Reporter,
    pub encoding: EncodingName,
    /// How long to follow a socket in the kernel's table after close.
    pub grace: Duration,
    reuseaddr: bool,
    reuseport: bool,
    nodelay: bool,
}

impl Setup {
    pub fn new(args: &EndpointArgs) -> Setup {
        let mode = if args.json {
            Mode::Json
        } else if args.quiet {
            Mode::Quiet
        } else {
            Mode::Human
        };
        // Bytes go to a pipe as they came, unless an encoding was asked for.
        let decode = args.encoding.is_some() || std::io::stdout().is_terminal();
        Setup {
            families: Families::from_flags(args.ipv4, args.ipv6),
            reporter: Reporter::new(mode, decode),
            encoding: args.encoding.unwrap_or(EncodingName::Utf8),
            grace: Duration::from_millis(args.follow),
            reuseaddr: args.reuseaddr,
            reuseport: args.reuseport,
            nodelay: args.nodelay,
        }
    }

    /// A new socket of `addr`'s family.
    pub fn socket(&self, addr: SocketAddr, proto: Proto) -> Result<Socket> {
        let kind = match proto {
            Proto::Tcp => Type::STREAM,
            Proto::Udp => Type::DGRAM,
        };
        Socket::new(Domain::for_address(addr), kind, None)
            .with_context(|| format!("creating a {} socket", proto.name()))
    }

    /// SO_REUSEADDR / SO_REUSEPORT as asked, then bind(), with a failure explained (who holds
    /// the port, which permission is missing).
    pub fn bind(&self, socket: &Socket, addr: SocketAddr, proto: Proto) -> Result<()> {
        let what = || format!("setting socket options for {addr}");
        if self.reuseaddr {
            socket.set_reuse_address(true).with_context(what)?;
        }
        if self.reuseport {
            set_reuse_port(socket).with_context(what)?;
        }
        socket
            .bind(&addr.into())
            .map_err(|e| errors::bind_error(e, addr, proto))
    }

    pub fn tune_stream(&self, stream: &TcpStream) -> Result<()> {
        if self.nodelay {
            stream.set_nodelay(true).context("setting TCP_NODELAY")?;
        }
        Ok(())
    }
}

#[cfg(unix)]
fn set_reuse_port(socket: &Socket) -> std::io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(not(unix))]
fn set_reuse_port(_socket: &Socket) -> std::io::Result<()> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "SO_REUSEPORT",
    ))
}
