//! What the user asked for, resolved once: which sockets, and how owners are looked up.
//! Built by `commands::filters` from the command line, or by a constructor below.

use std::net::SocketAddr;

use anyhow::{Context, Result};

use crate::model::{Family, Process, Proto, Socket, TcpState, UnixSocket};
use crate::ports::PortSet;

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
    /// Port filters: local or remote, local, remote (lists and ranges).
    pub any_port: Option<PortSet>,
    pub local_port: Option<PortSet>,
    pub remote_port: Option<PortSet>,
    pub uid: Option<u32>,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub owners: OwnerLookup,
    /// What the dump reads of each socket beyond its addresses and state.
    pub details: DetailLevel,
}

/// How much of each socket's inner state a dump asks the kernel for (sock_diag extensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailLevel {
    None,
    /// tcp_info alone: its byte counters are all `watch --rates` reads, and memory and
    /// congestion control cost the kernel a tenth more per socket.
    TcpInfo,
    /// tcp_info, memory and congestion control (`ls -i`).
    All,
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
            details: DetailLevel::None,
        }
    }

    /// Every socket on a local port, any state, with every holder.
    pub fn port(port: u16) -> Query {
        Query::ports(PortSet::one(port))
    }

    /// Every socket on one of these local ports, any state, with every holder: `who PORTS`.
    pub fn ports(ports: PortSet) -> Query {
        Query {
            local_port: Some(ports),
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
            local_port: Some(PortSet::one(local.port())),
            remote_port: Some(PortSet::one(remote.port())),
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
            remote_port: Some(PortSet::one(port)),
            ..self
        }
    }

    /// Sockets whose local or remote port is `port`.
    pub fn any_port(self, port: u16) -> Query {
        Query {
            any_port: Some(PortSet::one(port)),
            ..self
        }
    }

    /// With each socket's details (tcp_info, memory, congestion control).
    pub fn with_details(self) -> Query {
        Query {
            details: DetailLevel::All,
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

    /// No port filter: the kernel sends the whole table (of the asked protocols and states).
    pub fn is_broad(&self) -> bool {
        self.any_port.is_none() && self.local_port.is_none() && self.remote_port.is_none()
    }

    /// The filters that need only what the kernel reported (no owners).
    pub fn matches_kernel_fields(&self, s: &Socket) -> bool {
        self.protos.contains(&s.proto)
            && (self.families.contains(&s.family)
                || (self.families.contains(&Family::Ipv4) && s.carries_ipv4()))
            && self.states.contains(s.state)
            && self
                .any_port
                .as_ref()
                .is_none_or(|p| p.contains(s.local.port) || p.contains(s.remote.port))
            && self
                .local_port
                .as_ref()
                .is_none_or(|p| p.contains(s.local.port))
            && self
                .remote_port
                .as_ref()
                .is_none_or(|p| p.contains(s.remote.port))
            && self.uid.is_none_or(|uid| s.inode != 0 && s.uid == uid)
    }

    /// The same for a Unix socket: it has no port, so a port filter leaves it out.
    pub fn matches_unix_kernel_fields(&self, s: &UnixSocket) -> bool {
        self.states.contains(s.state)
            && self.is_broad()
            && self.uid.is_none_or(|uid| s.uid == Some(uid))
    }

    /// The filters on owners, given a socket's holders: `--process` looks for its text in the
    /// name or the command line (`--process http.server` finds `python3 -m http.server`).
    pub fn matches_owner<'a>(
        &self,
        pids: &[u32],
        processes: impl Fn(u32) -> Option<&'a Process>,
    ) -> bool {
        self.pid.is_none_or(|pid| pids.contains(&pid))
            && self.process.as_deref().is_none_or(|wanted| {
                pids.iter()
                    .filter_map(|pid| processes(*pid))
                    .any(|p| p.name.contains(wanted) || p.cmdline.contains(wanted))
            })
    }
}

/// ss's groups of states (`ss state connected`), and what it prints or takes that the
/// net-tools names do not say (`estab`, `listening`, `closed`).
/// A group's name, and whether a state belongs to it.
type Group = (&'static str, fn(TcpState) -> bool);

const GROUPS: [Group; 9] = {
    use TcpState::*;
    fn connected(s: TcpState) -> bool {
        matches!(
            s,
            Established
                | SynSent
                | SynRecv
                | FinWait1
                | FinWait2
                | TimeWait
                | CloseWait
                | LastAck
                | Closing
        )
    }
    [
        ("all", |_| true),
        ("connected", connected),
        ("synchronized", |s| connected(s) && s != SynSent),
        ("bucket", |s| matches!(s, SynRecv | TimeWait)),
        ("big", |s| !matches!(s, SynRecv | TimeWait)),
        ("estab", |s| s == Established),
        ("listening", |s| s == Listen),
        // The kernel's TCP_CLOSE: a closed TCP socket, or an unconnected UDP one.
        ("closed", |s| matches!(s, Close | Unconn)),
        // ss's name for a TCP socket bound but neither listening nor connected.
        ("bound-inactive", |s| s == Bound),
    ]
};

fn known_states() -> String {
    let known: Vec<&str> = TcpState::ALL.iter().map(|s| s.name()).collect();
    known.join(" ")
}

fn known_groups() -> String {
    let groups: Vec<&str> = GROUPS.iter().map(|(g, _)| *g).collect();
    groups.join(" ")
}

/// State names as people type them (`established`, `time-wait`, `TIME_WAIT`, `estab`), and
/// ss's groups (`connected`, `synchronized`, `bucket`, `big`, `all`).
pub fn parse_states(names: &[String]) -> Result<Vec<TcpState>> {
    let mut states = Vec::new();
    // `estab,` as typed in a hurry: an empty name between commas is no state at all.
    for name in names.iter().filter(|n| !n.trim().is_empty()) {
        let wanted = name.trim();
        if let Some((_, member)) = GROUPS.iter().find(|(g, _)| g.eq_ignore_ascii_case(wanted)) {
            states.extend(TcpState::ALL.into_iter().filter(|s| member(*s)));
            continue;
        }
        states.push(TcpState::parse(wanted).with_context(|| {
            format!(
                "unknown state '{}' (known: {}; as ss says them: {})",
                crate::text::escaped(name),
                known_states(),
                known_groups()
            )
        })?);
    }
    anyhow::ensure!(
        !states.is_empty(),
        "--state: no state named (known: {}; as ss says them: {})",
        known_states(),
        known_groups()
    );
    Ok(states)
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
    fn ss_state_names_and_groups() {
        use TcpState::*;
        let parse = |name: &str| parse_states(&[name.to_string()]).unwrap();
        assert_eq!(parse("estab"), [Established]);
        assert_eq!(parse("bound-inactive"), [Bound]);
        assert_eq!(
            parse_states(&["estab".to_string(), String::new()]).unwrap(),
            [Established]
        );
        assert_eq!(parse("ESTAB"), [Established]);
        assert_eq!(parse("syn-sent"), [SynSent]);
        assert_eq!(parse("fin-wait-1"), [FinWait1]);
        assert_eq!(parse("time-wait"), [TimeWait]);
        assert_eq!(parse("close-wait"), [CloseWait]);
        assert_eq!(parse("unconn"), [Unconn]);
        assert_eq!(parse("listening"), [Listen]);
        assert_eq!(parse("closed"), [Unconn, Close]);
        let set = |name: &str| StateSet::of(&parse(name));
        let connected = set("connected");
        assert!(connected.contains(Established) && connected.contains(TimeWait));
        assert!(!connected.contains(Listen) && !connected.contains(Unconn));
        let synchronized = set("synchronized");
        assert!(!synchronized.contains(SynSent) && synchronized.contains(SynRecv));
        assert_eq!(set("bucket"), StateSet::of(&[SynRecv, TimeWait]));
        let big = set("big");
        for state in TcpState::ALL {
            assert_eq!(
                big.contains(state),
                !matches!(state, SynRecv | TimeWait),
                "{state:?}"
            );
            assert!(set("all").contains(state));
        }
        let err = parse_states(&["nope".to_string()]).unwrap_err().to_string();
        assert!(err.contains("connected synchronized bucket big"), "{err}");
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
