//! What the user asked for, resolved once from the command line.

use anyhow::{Context, Result, bail};

use crate::cli::FilterArgs;
use crate::model::{Family, Proto, Socket, TcpState};
use crate::ports::parse_port;

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

    /// Resolves the shared filter flags. `need_owners` says whether the output shows owners;
    /// `all_owners` turns off the early stop.
    pub fn from_filters(f: &FilterArgs, need_owners: bool, all_owners: bool) -> Result<Query> {
        let protos = pick(f.tcp, f.udp, [Proto::Tcp, Proto::Udp]);
        let families = pick(f.ipv4, f.ipv6, [Family::Ipv4, Family::Ipv6]);
        let mut states = if f.state.is_empty() {
            StateSet::ALL
        } else {
            StateSet::of(&parse_states(&f.state)?)
        };
        if f.listening {
            states = states.intersect(StateSet::of(&[TcpState::Listen, TcpState::Unconn]));
        }
        let port = |text: &Option<String>, what: &str| -> Result<Option<u16>> {
            text.as_deref()
                .map(|t| parse_port(t).with_context(|| what.to_string()))
                .transpose()
        };
        let uid = f.user.as_deref().map(resolve_user).transpose()?;
        let wants_owner = need_owners || f.pid.is_some() || f.process.is_some();
        // A port filter leaves few sockets, so the scan may stop at their first holders.
        let by_port = f.port.is_some() || f.sport.is_some() || f.dport.is_some();
        let owners = match (wants_owner, f.pid) {
            (false, _) => OwnerLookup::Skip,
            (true, Some(pid)) => OwnerLookup::Pid(pid),
            (true, None) => OwnerLookup::Scan {
                stop_early: by_port && !all_owners,
            },
        };
        Ok(Query {
            protos,
            families,
            states,
            any_port: port(&f.port, "--port")?,
            local_port: port(&f.sport, "--sport")?,
            remote_port: port(&f.dport, "--dport")?,
            uid,
            pid: f.pid,
            process: f.process.clone(),
            owners,
        })
    }

    /// The filters that need only what the kernel reported (no owners).
    pub fn matches_kernel_fields(&self, s: &Socket) -> bool {
        self.states.contains(s.state)
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

/// Both flags or neither means both kinds.
fn pick<T: Copy>(first: bool, second: bool, kinds: [T; 2]) -> Vec<T> {
    match (first, second) {
        (true, false) => vec![kinds[0]],
        (false, true) => vec![kinds[1]],
        _ => kinds.to_vec(),
    }
}

fn parse_states(names: &[String]) -> Result<Vec<TcpState>> {
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

fn resolve_user(text: &str) -> Result<u32> {
    if let Ok(uid) = text.parse::<u32>() {
        return Ok(uid);
    }
    match crate::inventory::users::uid_of(text) {
        Some(uid) => Ok(uid),
        None => bail!("unknown user '{text}'"),
    }
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
