//! The shared filter flags, resolved into a `Query`.

use anyhow::{Context, Result, bail};

use crate::cli::{FilterArgs, SortKey};
use crate::host::Host;
use crate::model::{Family, Proto, TcpState};
use crate::ports::PortSet;
use crate::query::{DetailLevel, OwnerLookup, Query, StateSet, parse_states};
use crate::render::sockets::Order;

/// What the flags ask for. `need_owners` says whether the output shows owners;
/// `first_owner` lets the owner search stop at each socket's first holder.
pub fn query(
    host: &dyn Host,
    f: &FilterArgs,
    need_owners: bool,
    first_owner: bool,
) -> Result<Query> {
    // -x alone: Unix sockets only; with -t or -u, those too.
    let protos = if f.unix && !f.tcp && !f.udp {
        Vec::new()
    } else {
        pick(f.tcp, f.udp, [Proto::Tcp, Proto::Udp])
    };
    let families = pick(f.ipv4, f.ipv6, [Family::Ipv4, Family::Ipv6]);
    let mut states = if f.state.is_empty() {
        StateSet::ALL
    } else {
        StateSet::of(&parse_states(&f.state)?)
    };
    if f.listening {
        states = states.intersect(StateSet::of(&[TcpState::Listen, TcpState::Unconn]));
    }
    let port = |text: &Option<String>, flag: &str| -> Result<Option<PortSet>> {
        text.as_deref().map(|t| ports(t, flag)).transpose()
    };
    let uid = f
        .user
        .as_deref()
        .map(|u| resolve_user(host, u))
        .transpose()?;
    let wants_owner = need_owners || f.pid.is_some() || f.process.is_some();
    let owners = match (wants_owner, first_owner) {
        (false, _) => OwnerLookup::Skip,
        (true, false) => OwnerLookup::Complete,
        (true, true) => OwnerLookup::First,
    };
    Ok(Query {
        protos,
        families,
        unix: f.unix,
        states,
        any_port: port(&f.port, "--port")?,
        local_port: port(&f.sport, "--sport")?,
        remote_port: port(&f.dport, "--dport")?,
        uid,
        pid: f.pid,
        process: f.process.clone(),
        owners,
        details: DetailLevel::None,
    })
}

/// A port list (`80,443,8000-8100`, service names) given as `name` (`--sport`, `PORTS`); an
/// error names that argument as the user typed it.
pub fn ports(text: &str, name: &str) -> Result<PortSet> {
    PortSet::parse(text).with_context(|| crate::text::argument(name, text))
}

/// The display order asked for.
pub fn order(key: Option<SortKey>) -> Order {
    match key {
        None => Order::Listeners,
        Some(SortKey::Port) => Order::Port,
        Some(SortKey::State) => Order::State,
        Some(SortKey::Pid) => Order::Pid,
        Some(SortKey::Proto) => Order::Proto,
    }
}

/// Both flags or neither means both kinds.
pub fn pick<T: Copy>(first: bool, second: bool, kinds: [T; 2]) -> Vec<T> {
    match (first, second) {
        (true, false) => vec![kinds[0]],
        (false, true) => vec![kinds[1]],
        _ => kinds.to_vec(),
    }
}

fn resolve_user(host: &dyn Host, text: &str) -> Result<u32> {
    if let Ok(uid) = text.parse::<u32>() {
        return Ok(uid);
    }
    match host.uid_of(text) {
        Some(uid) => Ok(uid),
        None => bail!("unknown user '{}'", crate::text::escaped(text)),
    }
}

/// lsof's `:8080` and fuser's `8080/tcp`, typed from habit: the port, and the protocol a
/// `/tcp` or `/udp` suffix names.
pub fn habit(text: &str) -> (&str, Option<Proto>) {
    let text = text.trim();
    let text = text.strip_prefix(':').unwrap_or(text);
    match text.rsplit_once('/') {
        Some((port, "tcp")) => (port, Some(Proto::Tcp)),
        Some((port, "udp")) => (port, Some(Proto::Udp)),
        _ => (text, None),
    }
}
