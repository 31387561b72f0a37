//! What the user asked for, resolved once: which sockets, and how owners are looked up.
//! Built by `commands::filters` from the command line, or by a constructor below.

use std::net::SocketAddr;

use anyhow::{Context, Result};

use crate::model::{Family, Proto, Socket, TcpState, UnixSocket};

/// A set of socket states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSet(u16);

impl StateSet {
    pub const ALL: StateSet = StateSet(u16::MAX);

    pub fn of(states: &[TcpState]) -> StateSet {
        StateSet(states.iter().fold(0, |bits, s| bits | StateSet::bit(*s)))
    }

    fn bit(state: TcpState) -> u16 {
        1 << (state as u16)
    }

    pub fn contains(self, state: TcpState) -> bool {
        self.0 & StateSet::bit(state) != 0
    }

    pub fn intersect(self, other: StateSet) -> StateSet {
        StateSet(self.0 & other.0)
    }

    /// The sock_diag state mask for one protocol (bit n = kernel state n); 0 means skip it.
    pub fn kernel_mask(self, proto: Proto) -> u32 {
        let applies = |s: &TcpState| match proto {
            Proto::Tcp => *s != TcpState::Unconn,
            Proto::Udp => matches!(s, TcpState::Unconn | TcpState::Established),
        };
        TcpState::ALL
            .iter()
            .filter(|s| applies(s) && self.contains(**s))
            .fold(0, |mask, s| mask | 1 << s.kernel_number())
    }

    /// The unix_diag state mask; 0 means no Unix socket can match.
    pub fn unix_mask(self) -> u32 {
        TcpState::ALL
            .iter()
            .filter(|s| self.contains(**s))
            .filter_map(|s| UnixSocket::kernel_number(*s))
            .fold(0, |mask, n| mask | 1 << n)
    }
}

/// How owning processes are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerLookup {
    /// Nothing shown or filtered needs them.
    Skip,
    /// Every holder of every socket: every process's descriptors are read.
    Complete,
    /// `--first-owner`: the first holder of each socket is enough (the scan stops once each
    /// has one); with a pid filter, only that process is read.
    First,
}

#[derive(Debug, Clone)]
pub struct Query {
    /// TCP and UDP: which protocols, in which families.
    pub protos: Vec<Proto>,
    pub families: Vec<Family>,
    /// Unix domain sockets too.
    pub unix: bool,
    pub states: StateSet,
    pub any_port: Option<u16>,
    pub local_port: Option<u16>,
    pub remote_port: Option<u16>,
    pub uid: Option<u32>,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub owners: OwnerLookup,
    /// Each socket's tcp_info, memory and congestion control too (`ls -i`), from the same dump.
    pub details: bool,
}

impl Query {
    /// Every socket, owners looked up.
    pub fn everything() -> Query {
        Query {
            protos: vec![Proto::Tcp, Proto::Udp],
            families: vec![Family::Ipv4, Family::Ipv6],
            unix: false,
            states: StateSet::ALL,
            any_port: None,
            local_port: None,
            remote_port: None,
            uid: None,
            pid: None,
            process: None,
            owners: OwnerLookup::Complete,
            details: false,
        }
    }

    /// Every socket on a local port, any state, with every holder: `who PORT`.
    pub fn port(port: u16) -> Query {
        Query {
            local_port: Some(port),
            ..Query::everything()
        }
    }

    /// Every Unix domain socket and nothing else, with owners.
    pub fn unix_sockets() -> Query {
        Query {
            protos: Vec::new(),
            unix: true,
            ..Query::everything()
        }
    }

    /// The kernel's entry for one connection by its 4-tuple, without owners.
    pub fn connection(proto: Proto, local: SocketAddr, remote: SocketAddr) -> Query {
        Query {
            protos: vec![proto],
            families: vec![Family::of(local.ip())],
            local_port: Some(local.port()),
            remote_port: Some(remote.port()),
            owners: OwnerLookup::Skip,
            ..Query::everything()
        }
    }

    /// Only these protocols.
    pub fn protos(self, protos: &[Proto]) -> Query {
        Query {
            protos: protos.to_vec(),
            ..self
        }
    }

    /// Only these states.
    pub fn states(self, states: &[TcpState]) -> Query {
        Query {
            states: StateSet::of(states),
            ..self
        }
    }

    /// Sockets whose remote port is `port`.
    pub fn remote_port(self, port: u16) -> Query {
        Query {
            remote_port: Some(port),
            ..self
        }
    }

    /// Sockets whose local or remote port is `port`.
    pub fn any_port(self, port: u16) -> Query {
        Query {
            any_port: Some(port),
            ..self
        }
    }

    /// With each socket's details (tcp_info, memory, congestion control).
    pub fn with_details(self) -> Query {
        Query {
            details: true,
            ..self
        }
    }

    /// No owner lookup: the table alone.
    pub fn without_owners(self) -> Query {
        Query {
            owners: OwnerLookup::Skip,
            ..self
        }
    }

    /// No port filter: the kernel sends the whole table (of the asked protocols and states).
    pub fn is_broad(&self) -> bool {
        self.any_port.is_none() && self.local_port.is_none() && self.remote_port.is_none()
    }

    /// The filters that need only what the kernel reported (no owners).
    pub fn matches_kernel_fields(&self, s: &Socket) -> bool {
        self.protos.contains(&s.proto)
            && self.families.contains(&s.family)
            && self.states.contains(s.state)
            && self
                .any_port
                .is_none_or(|p| s.local.port == p || s.remote.port == p)
            && self.local_port.is_none_or(|p| s.local.port == p)
            && self.remote_port.is_none_or(|p| s.remote.port == p)
            && self.uid.is_none_or(|uid| s.inode != 0 && s.uid == uid)
    }

    /// The same for a Unix socket: it has no port, so a port filter leaves it out.
    pub fn matches_unix_kernel_fields(&self, s: &UnixSocket) -> bool {
        self.states.contains(s.state)
            && self.any_port.is_none()
            && self.local_port.is_none()
            && self.remote_port.is_none()
            && self.uid.is_none_or(|uid| s.uid == Some(uid))
    }

    /// The filters on owners, given a socket's holders and their processes' names.
    pub fn matches_owner<'a>(&self, pids: &[u32], names: impl Fn(u32) -> Option<&'a str>) -> bool {
        self.pid.is_none_or(|pid| pids.contains(&pid))
            && self.process.as_deref().is_none_or(|wanted| {
                pids.iter()
                    .filter_map(|pid| names(*pid))
                    .any(|name| name.contains(wanted))
            })
    }
}

/// State names as people type them (`established`, `time-wait`, `TIME_WAIT`).
pub fn parse_states(names: &[String]) -> Result<Vec<TcpState>> {
    names
        .iter()
        .map(|name| {
            TcpState::parse(name).with_context(|| {
                let known: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
                format!("unknown state '{name}' (known: {})", known.join(" "))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_names_in_any_spelling() {
        let names: Vec<String> = [
            "established",
            "time-wait",
            "TIME_WAIT",
            "Time-Wait",
            "syn_recv",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let states = parse_states(&names).unwrap();
        assert_eq!(states[0], TcpState::Established);
        assert!(states[1..4].iter().all(|s| *s == TcpState::TimeWait));
        assert_eq!(states[4], TcpState::SynRecv);
        assert!(parse_states(&["bogus".to_string()]).is_err());
    }

    #[test]
    fn kernel_masks_per_protocol() {
        let listening = StateSet::of(&[TcpState::Listen, TcpState::Unconn]);
        assert_eq!(listening.kernel_mask(Proto::Tcp), 1 << 10);
        assert_eq!(listening.kernel_mask(Proto::Udp), 1 << 7);
        let tw = StateSet::of(&[TcpState::TimeWait]);
        assert_eq!(tw.kernel_mask(Proto::Udp), 0);
        assert_eq!(StateSet::ALL.kernel_mask(Proto::Tcp), 0x2ffe);
        let bound = StateSet::of(&[TcpState::Bound]);
        assert_eq!(bound.kernel_mask(Proto::Tcp), 1 << 13);
        assert_eq!(bound.kernel_mask(Proto::Udp), 0);
        assert_eq!(StateSet::ALL.kernel_mask(Proto::Udp), (1 << 7) | (1 << 1));
        assert_eq!(StateSet::ALL.unix_mask(), (1 << 10) | (1 << 7) | (1 << 1));
        assert_eq!(listening.unix_mask(), (1 << 10) | (1 << 7));
        assert_eq!(tw.unix_mask(), 0);
    }
}
