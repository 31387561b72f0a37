//! Waiting for a port: until something listens on it (here, or on a remote host), or until it
//! is free: nothing but closed sockets left in the table and, for `wait --free`, a real trial
//! bind succeeds.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::ephemeral::trial::{self, Reuse};
use crate::host::Host;
use crate::inventory;
use crate::model::{Family, Owner, Proto, TcpState};
use crate::ports::PortSet;
use crate::query::{Query, StateSet};

/// What is waited for; with several ports, on every one of them.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A TCP listener (or any bound UDP socket) on local ports.
    Listening { ports: PortSet, proto: Proto },
    /// Nothing left on local ports but sockets the kernel is finishing closing (TIME_WAIT,
    /// orphans: no process holds them); only the sockets `among` selects count. With `bind`,
    /// a trial bind of 0.0.0.0:PORT with those options must succeed on every port too: the
    /// kernel's answer, so TIME_WAIT and orphans count exactly as they do for the program
    /// waiting (`wait --free`). Without it the table decides alone (`kill`, whose -4 and
    /// --state narrowing a bind cannot honour).
    Free {
        ports: PortSet,
        proto: Proto,
        among: Among,
        bind: Option<Reuse>,
    },
    /// A remote host accepting TCP connections on ports; `host` is what the user typed.
    Accepting {
        host: String,
        addrs: Vec<SocketAddr>,
        ports: PortSet,
    },
}

/// Which sockets must go for a port to be free: every one (`wait --free`), or those of a
/// family and states (`kill 8080 -4 --state listen` leaves the others alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Among {
    pub families: Vec<Family>,
    pub states: StateSet,
}

impl Among {
    pub fn every() -> Among {
        Among {
            families: vec![Family::Ipv4, Family::Ipv6],
            states: StateSet::ALL,
        }
    }

    /// `IPv4 LISTEN`: the narrowing in words, empty when every socket counts.
    pub fn words(&self, proto: Proto) -> String {
        let mut words = match self.families.as_slice() {
            [Family::Ipv4] => vec!["IPv4".to_string()],
            [Family::Ipv6] => vec!["IPv6".to_string()],
            _ => Vec::new(),
        };
        if self.states != StateSet::ALL {
            let applies = |s: &&TcpState| match proto {
                Proto::Tcp => **s != TcpState::Unconn,
                Proto::Udp => matches!(s, TcpState::Unconn | TcpState::Established),
            };
            let states: Vec<&str> = TcpState::ALL
                .iter()
                .filter(applies)
                .filter(|s| self.states.contains(**s))
                .map(|s| s.name())
                .collect();
            if !states.is_empty() {
                words.push(states.join("/"));
            }
        }
        words.join(" ")
    }
}

impl Condition {
    /// `something to listen on port 8080/tcp`, for progress and the timeout message.
    pub fn describe(&self) -> String {
        let port = |ports: &PortSet| match ports.single() {
            Some(port) => format!("port {port}"),
            None => format!("every port of {ports}"),
        };
        match self {
            Condition::Accepting { host, ports, .. } => {
                let host = crate::text::escaped(host);
                match ports.single() {
                    Some(port) => format!("{host}:{port}/tcp to accept connections"),
                    None => format!("{host} to accept connections on every port of {ports}/tcp"),
                }
            }
            Condition::Free {
                ports,
                proto,
                among,
                bind,
            } => {
                let words = among.words(*proto);
                let of = if words.is_empty() {
                    String::new()
                } else {
                    format!(" of {words} sockets")
                };
                let trial = match bind {
                    Some(Reuse::Plain) => " (a plain bind to succeed)".to_string(),
                    Some(reuse) => format!(" (a bind with {} to succeed)", reuse.name()),
                    None => String::new(),
                };
                format!("{}/{} to be free{of}{trial}", port(ports), proto.name())
            }
            Condition::Listening {
                ports,
                proto: Proto::Udp,
            } => format!("something to bind {}/udp", port(ports)),
            Condition::Listening { ports, .. } => {
                format!("something to listen on {}/tcp", port(ports))
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
    let (ports, proto, among) = match condition {
        Condition::Accepting { host, addrs, ports } => {
            let timeout = left.clamp(Duration::from_millis(50), Duration::from_secs(1));
            let ports: Vec<u16> = ports.ports().collect();
            return Ok((
                crate::probe::tcp_open(host, addrs, &ports, timeout)?,
                Vec::new(),
            ));
        }
        Condition::Listening { ports, proto } => (ports, *proto, None),
        Condition::Free {
            ports,
            proto,
            among,
            bind,
        } => {
            // The kernel's word first: a port a bind cannot take is not free, whatever the
            // table shows.
            if let Some(reuse) = bind
                && ports.ports().any(|port| trial::bind(any(port), *proto, *reuse).is_some())
            {
                return Ok((false, Vec::new()));
            }
            (ports, *proto, Some(among))
        }
    };
    let free = among.is_some();
    let query = Query::ports(ports.clone())
        .protos(&[proto])
        .without_owners();
    let query = match (proto, among) {
        (_, Some(among)) => Query {
            families: among.families.clone(),
            states: among.states,
            ..query
        },
        (Proto::Tcp, None) => query.states(&[TcpState::Listen]),
        (Proto::Udp, None) => query.states(&[TcpState::Unconn, TcpState::Established]),
    };
    let inv = inventory::collect(host, &query)?;
    let live: BTreeSet<u16> = inv
        .sockets
        .iter()
        .filter(|s| s.owner(false) != Owner::Closed)
        .map(|s| s.local.port)
        .collect();
    let met = if free {
        live.is_empty()
    } else {
        live.len() == ports.len()
    };
    Ok((met, inv.notes))
}

/// Where `wait --free` tries a bind: every IPv4 address, as most servers bind.
fn any(port: u16) -> SocketAddr {
    SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port)
}

/// Once `wait --free` is met, which bind succeeds on each port: `a plain bind of
/// 0.0.0.0:8080/tcp succeeds now`, or with SO_REUSEADDR, whether a plain one would too.
pub fn free_now(ports: &PortSet, proto: Proto, reuse: Reuse) -> Vec<String> {
    ports
        .ports()
        .map(|port| {
            let what = format!("{}/{}", any(port), proto.name());
            match reuse {
                Reuse::Plain => format!("a plain bind of {what} succeeds now"),
                _ => match trial::bind(any(port), proto, Reuse::Plain) {
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
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeHost;
    use crate::model::Socket;

    fn on(port: u16, state: TcpState) -> Socket {
        let remote = if state == TcpState::Listen { 0 } else { 50000 };
        let inode = u32::from(state != TcpState::TimeWait);
        crate::fixtures::loopback_tcp(port, remote, state, inode, &[])
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
            ports: PortSet::one(8080),
            proto: Proto::Tcp,
        };
        let mut ticks = Ticks::default();
        let waited = until(&host, &condition, None, &mut ticks).unwrap();
        assert_eq!(waited, Waited::Met);
        assert_eq!(host.looks_taken(), 3);
        assert_eq!(ticks.0, 2, "progress after each failed look");
    }

    #[test]
    fn free_among_some_sockets_leaves_the_others_out() {
        let among = Among {
            families: vec![Family::Ipv6],
            states: StateSet::of(&[TcpState::Listen]),
        };
        assert_eq!(among.words(Proto::Tcp), "IPv6 LISTEN");
        assert_eq!(Among::every().words(Proto::Udp), "");
        let free = Condition::Free {
            ports: PortSet::one(8080),
            proto: Proto::Tcp,
            among,
            bind: None,
        };
        assert_eq!(
            free.describe(),
            "port 8080/tcp to be free of IPv6 LISTEN sockets"
        );
        // An IPv4 listener: not among the sockets that must go.
        let host = FakeHost::new(vec![vec![on(8080, TcpState::Listen)]]);
        let waited = until(&host, &free, None, &mut Ticks::default()).unwrap();
        assert_eq!(waited, Waited::Met);
    }

    #[test]
    fn free_means_only_closed_sockets_left_and_times_out_otherwise() {
        let free = Condition::Free {
            ports: PortSet::one(8080),
            proto: Proto::Tcp,
            among: Among::every(),
            bind: None,
        };
        // Closed by their processes: TIME_WAIT, and an orphan finishing its close.
        let mut orphan = on(8080, TcpState::FinWait2);
        orphan.inode = 0;
        let host = FakeHost::new(vec![vec![on(8080, TcpState::TimeWait), orphan]]);
        assert_eq!(
            until(&host, &free, None, &mut Ticks::default()).unwrap(),
            Waited::Met
        );
        // A process that shut its end down still holds the port.
        let held = FakeHost::new(vec![vec![on(8080, TcpState::FinWait2)]]);
        let waited = until(
            &held,
            &free,
            Some(Duration::from_millis(150)),
            &mut Ticks::default(),
        );
        let waited = waited.unwrap();
        assert_eq!(waited, Waited::TimedOut);
        assert!(held.looks_taken() >= 2);
    }

    /// With a trial bind, the kernel decides too: a listener the table does not show (the fake
    /// host's table is empty) keeps the wait going until it closes.
    #[test]
    fn free_with_a_bind_means_a_trial_bind_succeeds() {
        let held = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = held.local_addr().unwrap().port();
        let free = Condition::Free {
            ports: PortSet::one(port),
            proto: Proto::Tcp,
            among: Among::every(),
            bind: Some(Reuse::Addr),
        };
        assert!(free.describe().ends_with("(a bind with SO_REUSEADDR to succeed)"));
        let host = FakeHost::new(vec![vec![], vec![]]);
        let waited = until(
            &host,
            &free,
            Some(Duration::from_millis(150)),
            &mut Ticks::default(),
        );
        assert_eq!(waited.unwrap(), Waited::TimedOut);
        assert_eq!(host.looks_taken(), 0, "the failed trial ends each look");
        drop(held);
        let waited = until(&host, &free, None, &mut Ticks::default()).unwrap();
        assert_eq!(waited, Waited::Met);
        assert_eq!(host.looks_taken(), 1, "then the table is read");
    }
}
