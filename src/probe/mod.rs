//! Is that port reachable? Honest open / closed / filtered, from non-blocking connects and
//! datagrams on poll(2): no raw packets, no root.

mod engine;
pub mod icmp;
pub mod model;
pub mod pace;
pub mod payload;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use engine::{Plan, round};
use model::{Status, Target};

use crate::model::Proto;

/// Every (port, address) pair to probe, ports in the order given; `host` is what the user
/// typed, `addrs` what it resolved to (ports aside).
pub fn targets(host: &str, addrs: &[SocketAddr], ports: &[u16], proto: Proto) -> Vec<Target> {
    let host: Arc<str> = host.into();
    ports
        .iter()
        .flat_map(|port| {
            let host = &host;
            addrs.iter().map(move |addr| {
                let mut addr = *addr;
                addr.set_port(*port);
                Target {
                    host: host.clone(),
                    addr,
                    proto,
                }
            })
        })
        .collect()
}

/// Whether every one of `ports` is open on one of `addrs` at least (one TCP probe each), for
/// `portscope wait HOST:PORTS`.
pub fn tcp_open(
    host: &str,
    addrs: &[SocketAddr],
    ports: &[u16],
    timeout: Duration,
) -> std::io::Result<bool> {
    let targets = targets(host, addrs, ports, Proto::Tcp);
    let plan = Plan {
        timeout,
        parallel: targets.len().clamp(1, 256),
        payload: &|_| Vec::new(),
        rate: None,
    };
    let outcomes = round(&targets, 1, &plan, &|| {})?;
    let open: std::collections::HashSet<u16> = outcomes
        .iter()
        .filter(|o| o.status == Status::Open)
        .map(|o| targets[o.target].port())
        .collect();
    Ok(ports.iter().all(|p| open.contains(p)))
}
