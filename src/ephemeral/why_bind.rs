//! `portscope why-bind [ADDR:]PORT`: would a bind succeed, and if not, why; then a real trial.

use std::net::{IpAddr, SocketAddr};

use anyhow::Result;
use socket2::Socket;

use super::findings::{Findings, Trial};
use crate::cli::{FilterArgs, WhyBindArgs};
use crate::endpoint::addr::{self, Families};
use crate::exit::Exit;
use crate::inventory;
use crate::model::{Family, Proto, Socket as Entry, TcpState};
use crate::query::Query;

pub fn run(args: &WhyBindArgs) -> Result<Exit> {
    let families = if args.ipv6 {
        Families::V6
    } else {
        Families::Any
    };
    let want = addr::local(&args.addr, families)?;
    if want.port() == 0 {
        anyhow::bail!("give a port: binding port 0 always succeeds (the kernel picks one)");
    }
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let filter = FilterArgs {
        tcp: proto == Proto::Tcp,
        udp: proto == Proto::Udp,
        sport: Some(want.port().to_string()),
        ..FilterArgs::default()
    };
    let inv = inventory::collect(&Query::from_filters(&filter, true, true)?)?;
    let settings = inventory::port_settings();
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
    let trial = Trial {
        plain: attempt(want, proto, Options::Plain),
        reuseaddr: attempt(want, proto, Options::ReuseAddr),
        reuseport: attempt(want, proto, Options::ReusePort),
    };
    let bindable = trial.plain.is_none();
    let findings = Findings {
        want,
        proto,
        holders,
        time_wait,
        listening,
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
    let mut out = crate::commands::stdout();
    if args.json {
        crate::render::why_bind::json(&mut out, &findings, &inv)?;
    } else {
        crate::render::why_bind::text(&mut out, &findings, &inv)?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(Exit::found(bindable))
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

#[derive(Clone, Copy)]
enum Options {
    Plain,
    ReuseAddr,
    ReusePort,
}

/// A real bind (and listen, for TCP) with these options, released at once; the kernel's error.
fn attempt(want: SocketAddr, proto: Proto, options: Options) -> Option<std::io::Error> {
    let kind = match proto {
        Proto::Tcp => socket2::Type::STREAM,
        Proto::Udp => socket2::Type::DGRAM,
    };
    let try_it = || -> std::io::Result<()> {
        let socket = Socket::new(socket2::Domain::for_address(want), kind, None)?;
        match options {
            Options::Plain => {}
            Options::ReuseAddr => socket.set_reuse_address(true)?,
            Options::ReusePort => socket.set_reuse_port(true)?,
        }
        socket.bind(&want.into())?;
        if proto == Proto::Tcp {
            socket.listen(1)?;
        }
        Ok(())
    };
    try_it().err()
}
