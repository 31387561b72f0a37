//! What the user asked for, resolved once: which sockets, and how owners are looked up.
//! Built by `commands::filters` from the command line, or by a constructor below.

use std::net::SocketAddr;

use anyhow::{Context, Result};

use crate::model::{Family, Proto, Socket, TcpState};

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
}

/// How owning processes are looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerLookup {
    /// Nothing shown or filtered needs them.
    Skip,
    /// Scan every process; with `stop_early`, stop once each wanted socket has an owner.
    Scan { stop_early: bool },
    /// Only this process's descriptors.
    Pid(u32),
}

#[derive(Debug, Clone)]
pub struct Query {
    pub protos: Vec<Proto>,
    pub families: Vec<Family>,
    pub states: StateSet,
    pub any_port: Option<u16>,
    pub local_port: Option<u16>,
    pub remote_port: Option<u16>,
    pub uid: Option<u32>,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub owners: OwnerLookup,
}

impl Query {
    /// Every socket, owners looked up.
    pub fn everything() -> Query {
        Query {
            protos: vec![Proto::Tcp, Proto::Udp],
            families: vec![Family::Ipv4, Family::Ipv6],
            states: StateSet::ALL,
            any_port: None,
            local_port: None,
            remote_port: None,
            uid: None,
            pid: None,
            process: None,
            owners: OwnerLookup::Scan { stop_early: false },
        }
    }

    /// Every socket on a local port, any state, with every holder: `who PORT`.
    pub fn port(port: u16) -> Query {
        Query {
            local_port: Some(port),
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

    /// No owner lookup: the table alone.
    pub fn without_owners(self) -> Query {
        Query {
            owners: OwnerLookup::Skip,
            ..self
        }
    }

    /// The families whose tables the host reads: IPv6's too when IPv4 is asked for, since an
    /// IPv6 socket may carry IPv4 (`Socket::carries_ipv4`).
    pub fn dumped_families(&self) -> Vec<Family> {
        let mut families = self.families.clone();
        if families.contains(&Family::Ipv4) && !families.contains(&Family::Ipv6) {
            families.push(Family::Ipv6);
        }
        families
    }

    /// The filters that need only what the kernel reported (no owners).
    pub fn matches_kernel_fields(&self, s: &Socket) -> bool {
        (self.families.contains(&s.family)
            || (self.families.contains(&Family::Ipv4) && s.carries_ipv4()))
            && self.states.contains(s.state)
            && self
                .any_port
                .is_none_or(|p| s.local.port == p || s.remote.port == p)
            && self.local_port.is_none_or(|p| s.local.port == p)
            && self.remote_port.is_none_or(|p| s.remote.port == p)
            && self.uid.is_none_or(|uid| s.inode != 0 && s.uid == uid)
    }

    /// The filters on owners, given the socket's processes' names.
    pub fn matches_owner<'a>(&self, s: &Socket, names: impl Fn(u32) -> Option<&'a str>) -> bool {
        self.pid.is_none_or(|pid| s.pids.contains(&pid))
            && self.process.as_deref().is_none_or(|wanted| {
                s.pids
                    .iter()
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
        assert_eq!(StateSet::ALL.kernel_mask(Proto::Tcp), 0xffe);
        assert_eq!(StateSet::ALL.kernel_mask(Proto::Udp), (1 << 7) | (1 << 1));
    }
}
