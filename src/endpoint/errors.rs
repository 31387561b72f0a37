//! Turning socket errors into one line that names the thing, the cause and the way out.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::anyhow;

use crate::ephemeral::trial::Reuse;
use crate::exit::NotThere;
use crate::host::Host;
use crate::inventory;
use crate::model::{Proto, TcpState};

/// `binding 127.0.0.1:80/tcp: …` with who holds the port or what permission is missing.
pub fn bind_error(host: &dyn Host, e: io::Error, addr: SocketAddr, proto: Proto) -> anyhow::Error {
    let what = format!("binding {addr}/{}", proto.name());
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => {
            anyhow!(
                "{what}: address in use: {}",
                holders(host, addr, proto)
            )
        }
        Some(libc::EACCES) => {
            let start = host
                .port_settings()
                .ok()
                .and_then(|s| s.unprivileged_port_start)
                .unwrap_or(1024);
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

/// Who holds `addr`'s port, from the socket table: `port 8080/tcp is held by nginx (pid
/// 812)`; for sockets their processes closed alone (TIME_WAIT, orphans the kernel is finishing
/// closing), whether SO_REUSEADDR gets past them, from a trial bind.
fn holders(host: &dyn Host, addr: SocketAddr, proto: Proto) -> String {
    let port = addr.port();
    let taken = format!("port {port}/{} is taken", proto.name());
    let Ok(inv) = inventory::holders(host, port, &[proto]) else {
        return taken;
    };
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    let mut hidden = 0;
    let mut time_wait = 0;
    let mut orphans = 0;
    let mut left_ms = 0;
    for s in &inv.sockets {
        time_wait += usize::from(s.state == TcpState::TimeWait);
        orphans += usize::from(s.inode == 0 && s.state != TcpState::TimeWait);
        left_ms = left_ms.max(s.time_wait_left_ms().unwrap_or(0));
        hidden += usize::from(s.pids.is_empty() && s.inode != 0);
        for pid in &s.pids {
            let mut name = String::new();
            match inv.processes.get(pid) {
                Some(p) => crate::text::process(p, false, &mut name),
                None => name = format!("pid {pid}"),
            }
            names.insert(*pid, name);
        }
    }
    let mut parts: Vec<String> = names.into_values().collect();
    if hidden > 0 {
        parts.push(hidden_holder(inv.unreadable_processes).to_string());
    }
    let closed: Vec<String> = [
        (time_wait, "TIME_WAIT entry"),
        (orphans, "orphaned connection"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| crate::text::count(n, what))
    .collect();
    let orphaned = match orphans {
        0 => "",
        _ => " (closed by its process; the kernel is finishing the close)",
    };
    match (parts.is_empty(), closed.is_empty()) {
        (true, true) => taken,
        (true, false) => format!(
            "port {port}/{} is held by {}{orphaned}; {}",
            proto.name(),
            closed.join(" and "),
            past_closed(addr, proto, (orphans == 0).then_some(left_ms))
        ),
        (false, _) => format!(
            "port {port}/{} is held by {}",
            proto.name(),
            parts.join(", ")
        ),
    }
}

/// Whether SO_REUSEADDR gets past the sockets that closed, as a trial bind with it says: only
/// when they had set it too. `left_ms`: TIME_WAIT alone, the longest time one has left.
fn past_closed(addr: SocketAddr, proto: Proto, left_ms: Option<u32>) -> String {
    let Some(e) = crate::ephemeral::trial::bind(addr, proto, Reuse::Addr) else {
        return "a bind with SO_REUSEADDR (--reuseaddr) succeeds, since the sockets that closed \
                set it too"
            .to_string();
    };
    let (past, free) = match left_ms {
        Some(ms) => (
            "TIME_WAIT",
            format!("the port is free in {:.0} s at most", f64::from(ms) / 1000.0),
        ),
        None => (
            "them",
            format!(
                "`portscope wait {} --free` waits until the kernel has closed them",
                addr.port()
            ),
        ),
    };
    format!(
        "SO_REUSEADDR does not get past {past} here (a trial bind with it: {}), since the \
         sockets that closed did not set it; {free}",
        crate::text::errno(&e)
    )
}

/// A holder no process shown has: another user's, or, for root, one whose descriptors could
/// not be read (another user namespace, a hardened /proc) or that no process holds.
fn hidden_holder(unreadable: usize) -> &'static str {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    match (root, unreadable) {
        (false, _) => "another user's process (run as root to see which)",
        (true, 0) => "no process visible here (one in another PID namespace, or a descriptor in \
                      flight)",
        (true, _) => "a process whose descriptors cannot be read even as root (another user \
                      namespace or a hardened /proc)",
    }
}

/// A peer that cannot be reached: refused, timed out and unreachable mean "not there" (exit
/// 1), for TCP and UDP alike.
pub fn connect_error(
    e: io::Error,
    to: SocketAddr,
    proto: Proto,
    timeout: Duration,
) -> anyhow::Error {
    let what = format!("connecting to {to}/{}", proto.name());
    match why_not_connected(&e, proto, timeout) {
        (why, true) => anyhow::Error::new(NotThere(format!("{what}: {why}"))),
        (why, false) => anyhow!("{what}: {why}"),
    }
}

/// Why a connect failed, in words, and whether that means the peer is not there (refused,
/// no answer, unreachable) rather than a failure on this side.
pub fn why_not_connected(e: &io::Error, proto: Proto, timeout: Duration) -> (String, bool) {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => (
            match proto {
                Proto::Tcp => "connection refused (nothing listens there)".into(),
                Proto::Udp => "nothing listens there (ICMP port unreachable came back)".into(),
            },
            true,
        ),
        Some(libc::ETIMEDOUT) => (
            format!(
                "no answer within {} ms (a firewall drops the packets, the host is down, or \
                 its accept queue is full)",
                timeout.as_millis()
            ),
            true,
        ),
        Some(libc::EHOSTUNREACH) => ("host unreachable".into(), true),
        Some(libc::ENETUNREACH) => ("network unreachable (no route)".into(), true),
        Some(libc::EADDRNOTAVAIL) => (
            "no local port left (every port of the ephemeral range is in use for this \
             destination)"
                .into(),
            false,
        ),
        _ => (crate::text::errno(e), false),
    }
}
