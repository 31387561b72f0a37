//! `portscope probe HOST PORTS`: is that port reachable? Honest open / closed / filtered.
//! The probing itself is built on poll(2) and exists on Unix systems.

#[cfg(unix)]
mod engine;
pub mod model;
#[cfg(unix)]
mod payload;
#[cfg(unix)]
mod run;

#[cfg(unix)]
pub use run::run;

/// Whether `port` is open on any of `addrs` (one TCP probe each), for `portscope wait --host`.
#[cfg(unix)]
pub fn tcp_open(
    host: &str,
    addrs: &[std::net::IpAddr],
    port: u16,
    timeout: std::time::Duration,
) -> std::io::Result<bool> {
    let host: std::sync::Arc<str> = host.into();
    let targets: Vec<model::Target> = addrs
        .iter()
        .map(|addr| model::Target {
            host: host.clone(),
            addr: *addr,
            port,
            proto: crate::model::Proto::Tcp,
        })
        .collect();
    let plan = engine::Plan {
        timeout,
        parallel: targets.len().max(1),
        payload: &|_| Vec::new(),
    };
    let outcomes = engine::round(&targets, 1, &plan, &|| {})?;
    Ok(outcomes.iter().any(|o| o.status == model::Status::Open))
}
