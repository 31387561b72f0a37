//! The trial bind: what the kernel says to a real bind (and listen, for TCP) of an address
//! right now, released at once. Advice about a port (why-bind, wait --free, an endpoint's
//! "address in use") follows this answer rather than a rule about it.

use std::io;
use std::net::SocketAddr;

use crate::endpoint::sockopt;
use crate::model::Proto;

/// The socket options a trial sets before bind().
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    Plain,
    /// SO_REUSEADDR: gets past a TIME_WAIT entry whose socket had set it too.
    Addr,
    /// SO_REUSEPORT: shares the port with holders that set it too (same user).
    Port,
}

impl Reuse {
    /// `plain`, `SO_REUSEADDR`, `SO_REUSEPORT`.
    pub fn name(self) -> &'static str {
        match self {
            Reuse::Plain => "plain",
            Reuse::Addr => "SO_REUSEADDR",
            Reuse::Port => "SO_REUSEPORT",
        }
    }
}

/// A real bind (and listen, for TCP) of `want` with these options, released at once: None
/// when it succeeded, else the kernel's error.
pub fn bind(want: SocketAddr, proto: Proto, reuse: Reuse) -> Option<io::Error> {
    let try_it = || -> io::Result<()> {
        let socket = sockopt::socket(want, proto, false)?;
        match reuse {
            Reuse::Plain => {}
            Reuse::Addr => socket.set_reuse_address(true)?,
            Reuse::Port => socket.set_reuse_port(true)?,
        }
        socket.bind(&want.into())?;
        if proto == Proto::Tcp {
            socket.listen(1)?;
        }
        Ok(())
    };
    try_it().err()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A port held by a listener refuses every trial; a free one takes any.
    #[test]
    fn trials_meet_a_listener() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let at = held.local_addr().unwrap();
        for reuse in [Reuse::Plain, Reuse::Addr, Reuse::Port] {
            let e = bind(at, Proto::Tcp, reuse).unwrap_or_else(|| panic!("{}", reuse.name()));
            assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        }
        drop(held);
        assert!(bind(at, Proto::Tcp, Reuse::Plain).is_none(), "free again");
    }
}
