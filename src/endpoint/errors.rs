//! Turning socket errors into one line that names the thing, the cause and the way out.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::anyhow;

use crate::cli::FilterArgs;
use crate::exit::NotThere;
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::query::Query;

/// `binding 127.0.0.1:80/tcp: …` with who holds the port or what permission is missing.
pub fn bind_error(e: io::Error, addr: SocketAddr, proto: Proto) -> anyhow::Error {
    let what = format!("binding {addr}/{}", proto.name());
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => {
            anyhow!("{what}: address in use: {}", holders(addr.port(), proto))
        }
        Some(libc::EACCES) => {
            let start = inventory::unprivileged_port_start().unwrap_or(1024);
            if addr.port() < start {
                anyhow!(
                    "{what}: permission denied (ports below {start} need root or \
                     CAP_NET_BIND_SERVICE: run with sudo, or pick a port of {start} or more)"
                )
            } else {
                anyhow!("{what}: permission denied ({e})")
            }
        }
        Some(libc::EADDRNOTAVAIL) => {
            anyhow!("{what}: {} is not an address of this host", addr.ip())
        }
        _ => anyhow!("{what}: {e}"),
    }
}

/// Who holds `port`, from the socket table: `port 8080/tcp is held by nginx (pid 812)`.
fn holders(port: u16, proto: Proto) -> String {
    let filter = FilterArgs {
        tcp: proto == Proto::Tcp,
        udp: proto == Proto::Udp,
        sport: Some(port.to_string()),
        ..FilterArgs::default()
    };
    let Ok(inv) = Query::from_filters(&filter, true, false).and_then(|q| inventory::collect(&q))
    else {
        return format!("port {port}/{} is taken", proto.name());
    };
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut hidden = 0;
    let mut time_wait = 0;
    for s in &inv.sockets {
        if s.state == TcpState::TimeWait {
            time_wait += 1;
        }
        for pid in &s.pids {
            let name = inv.processes.get(pid).map_or("?", |p| p.name.as_str());
            names.insert(
                *pid,
                format!("{} (pid {pid})", crate::render::text::escaped(name)),
            );
        }
        if s.pids.is_empty() && s.inode != 0 {
            hidden += 1;
        }
    }
    let mut parts: Vec<String> = names.into_values().collect();
    if hidden > 0 {
        parts.push("another user's process (run as root to see which)".to_string());
    }
    if parts.is_empty() && time_wait > 0 {
        return format!(
            "port {port}/{} is held by {time_wait} connection(s) in TIME_WAIT (--reuseaddr binds anyway)",
            proto.name()
        );
    }
    if parts.is_empty() {
        return format!("port {port}/{} is taken", proto.name());
    }
    format!(
        "port {port}/{} is held by {}",
        proto.name(),
        parts.join(", ")
    )
}

/// A failed connect: refused, timed out and unreachable mean "not there" (exit 1).
pub fn connect_error(e: io::Error, to: SocketAddr, timeout: Duration) -> anyhow::Error {
    let what = format!("connecting to {to}/tcp");
    let not_there = |why: String| anyhow::Error::new(NotThere(format!("{what}: {why}")));
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => not_there("connection refused (nothing listens there)".into()),
        Some(libc::ETIMEDOUT) => not_there(format!(
            "no answer within {} ms (a firewall drops the packets, the host is down, or its \
             accept queue is full)",
            timeout.as_millis()
        )),
        Some(libc::EHOSTUNREACH) => not_there("host unreachable".into()),
        Some(libc::ENETUNREACH) => not_there("network unreachable (no route)".into()),
        Some(libc::EADDRNOTAVAIL) => anyhow!(
            "{what}: no local port left (every port of the ephemeral range is in use for this \
             destination)"
        ),
        _ => anyhow!("{what}: {e}"),
    }
}
