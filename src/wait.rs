//! Waiting for a port: until something listens on it (here, or on a remote host), or until it
//! is free — a real trial bind succeeds.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::ephemeral::trial::{self, Reuse};
use crate::host::Host;
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::query::Query;

/// What is waited for.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A TCP listener (or any bound UDP socket) on a local port.
    Listening { port: u16, proto: Proto },
    /// A bind of `addr` (and listen, for TCP) with these options succeeds: the kernel's
    /// answer to a trial, so TIME_WAIT counts exactly as it does for the program waiting.
    Free {
        addr: SocketAddr,
        proto: Proto,
        reuse: Reuse,
    },
    /// A remote host accepting TCP connections on a port; `host` is what the user typed.
    Accepting {
        host: String,
        addrs: Vec<SocketAddr>,
        port: u16,
    },
}

impl Condition {
    /// `something to listen on port 8080/tcp`, for progress and the timeout message.
    pub fn describe(&self) -> String {
        match self {
            Condition::Accepting { host, port, .. } => {
                format!(
                    "{}:{port}/tcp to accept connections",
                    crate::text::escaped(host)
                )
            }
            Condition::Free { addr, proto, reuse } => format!(
                "port {}/{} to be free (a {} bind of {addr} to succeed)",
                addr.port(),
                proto.name(),
                reuse.name()
            ),
            Condition::Listening {
                port,
                proto: Proto::Udp,
            } => format!("something to bind port {port}/udp"),
            Condition::Listening { port, .. } => {
                format!("something to listen on port {port}/tcp")
            }
        }
    }

    /// Between two checks: a look at the local table is cheap, a connection attempt is not.
    fn every(&self) -> Duration {
        match self {
            Condition::Accepting { .. } => Duration::from_millis(500),
            _ => Duration::from_millis(100),
        }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    Met,
    TimedOut,
    Interrupted,
}

/// What a wait tells as it goes.
pub trait Progress {
    /// How a look read the table (a fallback, say).
    fn notes(&mut self, notes: &[String]);
    /// Still waiting, `elapsed` after the start: a look found the condition unmet.
    fn waiting(&mut self, elapsed: Duration);
}

/// Checks until the condition holds, the timeout passes or Ctrl-C.
pub fn until(
    host: &dyn Host,
    condition: &Condition,
    timeout: Option<Duration>,
    progress: &mut dyn Progress,
) -> Result<Waited> {
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);
    loop {
        let left = deadline.map_or(Duration::from_secs(1), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let (met, notes) = holds(host, condition, left)?;
        progress.notes(&notes);
        if met {
            return Ok(Waited::Met);
        }
        if crate::interrupt::interrupted() {
            return Ok(Waited::Interrupted);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Waited::TimedOut);
        }
        progress.waiting(started.elapsed());
        if crate::interrupt::sleep(condition.every()) {
            return Ok(Waited::Interrupted);
        }
    }
}

/// One check, and how the table was read. `left` bounds a connection attempt.
fn holds(host: &dyn Host, condition: &Condition, left: Duration) -> Result<(bool, Vec<String>)> {
    let (port, proto) = match condition {
        Condition::Accepting { host, addrs, port } => {
            let timeout = left.clamp(Duration::from_millis(50), Duration::from_secs(1));
            return Ok((
                crate::probe::tcp_open(host, addrs, *port, timeout)?,
                Vec::new(),
            ));
        }
        Condition::Free { addr, proto, reuse } => {
            return Ok((trial::bind(*addr, *proto, *reuse).is_none(), Vec::new()));
        }
        Condition::Listening { port, proto } => (*port, *proto),
    };
    let query = Query::port(port).protos(&[proto]).without_owners();
    let query = match proto {
        Proto::Tcp => query.states(&[TcpState::Listen]),
        Proto::Udp => query.states(&[TcpState::Unconn, TcpState::Established]),
    };
    let inv = inventory::collect(host, &query)?;
    Ok((!inv.sockets.is_empty(), inv.notes))
}

/// Once `wait --free` is met, which bind succeeds: `a plain bind of 0.0.0.0:8080/tcp succeeds
/// now`, or with SO_REUSEADDR, whether a plain one would too (another trial).
pub fn free_now(addr: SocketAddr, proto: Proto, reuse: Reuse) -> String {
    let what = format!("{addr}/{}", proto.name());
    match reuse {
        Reuse::Plain => format!("a plain bind of {what} succeeds now"),
        _ => match trial::bind(addr, proto, Reuse::Plain) {
            None => format!(
                "a bind of {what} with {} succeeds now (a plain one does too)",
                reuse.name()
            ),
            Some(e) => format!(
                "a bind of {what} with {} succeeds now (a plain one still fails: {})",
                reuse.name(),
                crate::text::errno(&e)
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeHost;
    use crate::model::{Endpoint, Socket};

    fn on(port: u16, state: TcpState) -> Socket {
        let ep = |port| Endpoint {
            ip: "127.0.0.1".parse().expect("address"),
            port,
        };
        let remote = if state == TcpState::Listen { 0 } else { 50000 };
        let mut s = Socket::new(Proto::Tcp, ep(port), ep(remote), state);
        s.inode = u32::from(state != TcpState::TimeWait);
        s
    }

    /// Counts the looks that found the condition unmet.
    #[derive(Default)]
    struct Ticks(usize);

    impl Progress for Ticks {
        fn notes(&mut self, _notes: &[String]) {}
        fn waiting(&mut self, _elapsed: Duration) {
            self.0 += 1;
        }
    }

    #[test]
    fn waits_for_a_listener_over_several_looks() {
        let host = FakeHost::new(vec![
            vec![],
            vec![on(8080, TcpState::SynSent)],
            vec![on(8080, TcpState::Listen)],
        ]);
        let condition = Condition::Listening {
            port: 8080,
            proto: Proto::Tcp,
        };
        let mut ticks = Ticks::default();
        let waited = until(&host, &condition, None, &mut ticks).unwrap();
        assert_eq!(waited, Waited::Met);
        assert_eq!(host.looks_taken(), 3);
        assert_eq!(ticks.0, 2, "progress after each failed look");
    }

    /// Free means a real bind succeeds: a listener on the port keeps the wait going until it
    /// closes; the host's table is not asked.
    #[test]
    fn free_means_a_trial_bind_succeeds() {
        let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = held.local_addr().unwrap();
        let free = Condition::Free {
            addr,
            proto: Proto::Tcp,
            reuse: Reuse::Addr,
        };
        let host = FakeHost::new(vec![vec![]]);
        let waited = until(
            &host,
            &free,
            Some(Duration::from_millis(150)),
            &mut Ticks::default(),
        );
        assert_eq!(waited.unwrap(), Waited::TimedOut);
        drop(held);
        let waited = until(&host, &free, None, &mut Ticks::default()).unwrap();
        assert_eq!(waited, Waited::Met);
        assert_eq!(host.looks_taken(), 0, "the trial decides, not the table");
    }
}
