//! Would a bind succeed, and if not, why: the holders of the port, the settings, then a real
//! trial bind.

use std::net::{IpAddr, SocketAddr};

use anyhow::Result;

use super::findings::{Findings, Trial};
use super::trial::{self, Reuse};
use crate::host::Host;
use crate::inventory;
use crate::model::{Family, Inventory, Proto, Socket as Entry, TcpState};

/// What stands in the way of binding `want`, and what the kernel says to a real try.
pub fn examine(host: &dyn Host, want: SocketAddr, proto: Proto) -> Result<(Findings, Inventory)> {
    if want.port() == 0 {
        anyhow::bail!("give a port: binding port 0 always succeeds (the kernel picks one)");
    }
    let inv = inventory::holders(host, want.port(), &[proto])?;
    let settings = host.port_settings().ok();
    let overlapping: Vec<usize> = (0..inv.sockets.len())
        .filter(|i| overlaps(want, &inv.sockets[*i]))
        .collect();
    let holders: Vec<usize> = overlapping
        .iter()
        .copied()
        .filter(|i| inv.sockets[*i].state != TcpState::TimeWait)
        .collect();
    let time_wait = overlapping.len() - holders.len();
    let listening = holders.iter().any(|i| inv.sockets[*i].state.is_listening());
    let bound_only = holders
        .iter()
        .any(|i| inv.sockets[*i].state == TcpState::Bound);
    let trial = Trial {
        plain: trial::bind(want, proto, Reuse::Plain),
        reuseaddr: trial::bind(want, proto, Reuse::Addr),
        reuseport: trial::bind(want, proto, Reuse::Port),
    };
    let findings = Findings {
        want,
        proto,
        holders,
        time_wait,
        listening,
        bound_only,
        privileged: settings
            .as_ref()
            .and_then(|s| s.unprivileged_port_start)
            .is_some_and(|start| want.port() < start),
        start: settings.as_ref().and_then(|s| s.unprivileged_port_start),
        reserved: settings
            .as_ref()
            .is_some_and(|s| s.is_reserved(want.port())),
        in_range: settings.as_ref().is_some_and(|s| s.in_range(want.port())),
        trial,
    };
    Ok((findings, inv))
}

/// Whether a socket's address takes `want`'s address away: the same address, either side a
/// wildcard, or an IPv6 wildcard that also accepts IPv4 (IPV6_V6ONLY off), and back.
fn overlaps(want: SocketAddr, s: &Entry) -> bool {
    let theirs = match s.local.ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        ip => ip,
    };
    let mine = want.ip();
    match (mine, theirs) {
        (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
            mine == theirs || mine.is_unspecified() || theirs.is_unspecified()
        }
        // A v4 bind against [::] that takes IPv4 too (the Linux default, net.ipv6.bindv6only 0).
        (IpAddr::V4(_), IpAddr::V6(_)) => s.is_dual_stack(),
        // A [::] bind takes IPv4 too by default, so every IPv4 holder counts.
        (IpAddr::V6(v6), IpAddr::V4(_)) => v6.is_unspecified() && s.family == Family::Ipv4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeHost;
    use crate::model::Endpoint;

    fn on(ip: &str, port: u16, remote: u16, state: TcpState) -> Entry {
        let ep = |ip: &str, port| Endpoint {
            ip: ip.parse().expect("address"),
            port,
        };
        let any = if ip.contains(':') { "::" } else { "0.0.0.0" };
        let mut s = Entry::new(Proto::Tcp, ep(ip, port), ep(any, remote), state);
        s.inode = u32::from(state != TcpState::TimeWait);
        s
    }

    /// Which sockets stand in the way, from a scripted table (the trial bind is real and is
    /// not asserted here: this host's port may well be free).
    #[test]
    fn holders_by_overlap_and_time_wait_apart() {
        let port = 47_123;
        let mut dual = on("::", port, 0, TcpState::Listen);
        dual.v6only = Some(false);
        let mut v6only = on("::", port, 0, TcpState::Listen);
        v6only.v6only = Some(true);
        let host = FakeHost::new(vec![vec![
            on("127.0.0.2", port, 0, TcpState::Listen),
            dual,
            v6only,
            on("127.0.0.1", port, 50_000, TcpState::TimeWait),
        ]]);
        let want: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let (findings, inv) = examine(&host, want, Proto::Tcp).unwrap();
        let held: Vec<String> = findings
            .holders
            .iter()
            .map(|i| format!("{}:{:?}", inv.sockets[*i].local.ip, inv.sockets[*i].v6only))
            .collect();
        assert_eq!(
            held,
            [":::Some(false)"],
            "only [::] taking IPv4 overlaps 127.0.0.1"
        );
        assert_eq!(findings.time_wait, 1);
        assert!(findings.listening);
        let wildcard: SocketAddr = format!("0.0.0.0:{port}").parse().unwrap();
        let (findings, _) = examine(&host, wildcard, Proto::Tcp).unwrap();
        assert_eq!(
            findings.holders.len(),
            2,
            "0.0.0.0 meets 127.0.0.2 and dual-stack [::]"
        );
    }
}
