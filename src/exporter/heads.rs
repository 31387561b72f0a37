//! Request heads as they arrive, read by the accepting thread for all its connections at once:
//! a client slow to send its request (or silent) holds a descriptor and a small buffer until
//! its deadline, never a worker. A head that is complete, refused or late becomes a `Head`
//! for the workers.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

use super::request::{Head, parse};

/// A request's head must fit in this many bytes (Prometheus sends about 300).
pub const HEAD_LIMIT: usize = 8 * 1024;

/// A connection whose request head is still arriving.
pub struct Arriving {
    pub stream: TcpStream,
    pub accepted: Instant,
    buf: Vec<u8>,
}

impl Arriving {
    /// `stream` must be non-blocking.
    pub fn new(stream: TcpStream, accepted: Instant) -> Arriving {
        Arriving {
            stream,
            accepted,
            buf: Vec::new(),
        }
    }

    /// Reads what has arrived: the head once complete, refused, or the client gone; None while
    /// more is to come.
    pub fn read(&mut self) -> Option<Head> {
        let mut chunk = [0u8; 2048];
        loop {
            let room = (HEAD_LIMIT - self.buf.len()).min(chunk.len());
            match self.stream.read(&mut chunk[..room]) {
                Ok(0) => return Some(Head::Gone),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(_) => return Some(Head::Gone),
            }
            match parse(&self.buf) {
                Ok(Some(head)) => return Some(head),
                Ok(None) if self.buf.len() == HEAD_LIMIT => {
                    return Some(Head::Answer(431, "the request head is too large\n"));
                }
                Ok(None) => {}
                Err(()) => return Some(Head::Answer(400, "malformed request\n")),
            }
        }
    }
}
