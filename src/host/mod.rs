//! The host: the one place that reads sockets, their owners, processes, users and port
//! settings. Every command receives a `&dyn Host` from `lib::run`; which one (this network
//! namespace, another one, the portable backend, a fake in tests) is decided here.

#[cfg(target_os = "linux")]
mod connect_trial;
mod counters;
#[cfg(test)]
pub mod fake;
#[cfg(target_os = "linux")]
mod icmp_limits;
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
mod netlink;
#[cfg(not(target_os = "linux"))]
mod portable;
mod process;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(target_os = "linux")]
mod procnet;
#[cfg(target_os = "linux")]
mod sysctl;
#[cfg(all(test, target_os = "linux"))]
mod tests;
mod users;

use std::collections::HashMap;

use anyhow::Result;

use crate::model::{PortSettings, Process, Proto, Socket};
use crate::query::Query;

pub use counters::Counters;

/// What a look at the socket table found, before owners.
#[derive(Debug, Default)]
pub struct Table {
    pub sockets: Vec<Socket>,
    /// Things the user should know about how the table was read (a fallback, say).
    pub notes: Vec<String>,
}

/// Which processes an owner scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every process; with `stop_early`, stop once each wanted inode has an owner.
    All { stop_early: bool },
    /// Only this process's descriptors.
    Pid(u32),
}

/// Socket inode -> the pids holding it, and what could not be read.
#[derive(Debug, Default)]
pub struct Owners {
    pub by_inode: HashMap<u32, Vec<u32>>,
    /// Processes whose descriptors could not be read (another user's, without privileges).
    pub unreadable: usize,
}

/// Sockets the kernel destroyed since the last call (empty when none).
pub type DestroyFeed = Box<dyn FnMut() -> Vec<Socket> + Send>;

/// Everything portscope reads about the machine, behind one seam.
pub trait Host: Sync {
    /// The sockets the query's kernel-side filters ask for (protocols, families, states and
    /// ports where the backend can apply them); more is fine, the caller filters again.
    /// Backends that learn owners with the table (netstat2) fill `pids` in.
    fn sockets(&self, query: &Query) -> Result<Table>;

    /// The processes holding these socket inodes.
    fn owners(&self, inodes: &[u32], scope: Scope) -> Owners;

    /// Name, command line and user of these pids; a pid that exited meanwhile is absent.
    /// Processes are host-wide, whichever network namespace the sockets come from.
    fn processes(&self, pids: &[u32]) -> HashMap<u32, Process> {
        process::describe(pids)
    }

    /// The name of a uid (NSS-aware where the platform has it).
    fn user_name(&self, uid: u32) -> Option<String> {
        users::lookup_user(uid)
    }

    /// The uid of a user name.
    fn uid_of(&self, name: &str) -> Option<u32> {
        users::uid_of(name)
    }

    /// How the kernel hands out ports here; the error says what could not be read.
    fn port_settings(&self) -> Result<PortSettings>;

    /// The kernel's protocol counters (/proc/net/netstat and /proc/net/snmp on Linux), by
    /// section and name.
    fn counters(&self) -> Result<Counters> {
        anyhow::bail!("the kernel's protocol counters are read on Linux only")
    }

    /// Subscribes to the kernel's socket-destroy notifications where it offers them (Linux,
    /// CAP_NET_ADMIN); None elsewhere.
    fn destroy_feed(&self, protos: &[Proto]) -> Option<DestroyFeed>;

    /// The TCP ports among `ports` that a connect() to a new destination cannot take now,
    /// because bind() holds them (a listener, or a client bound before it connected), found by
    /// a trial connect limited to each port; an error when trials cannot run here.
    fn bind_held(&self, _ports: &[u16]) -> Result<Vec<u16>> {
        anyhow::bail!("trial connects limited to one port need Linux 6.3 (IP_LOCAL_PORT_RANGE)")
    }
}

/// The host as this process sees it, in its own network namespace.
#[cfg(target_os = "linux")]
pub fn local() -> Box<dyn Host> {
    Box::new(linux::LinuxHost::current())
}

/// The host seen from inside another network namespace, entered through a file that names
/// it: `/run/netns/NAME`, `/proc/PID/ns/net` or any other nsfs path. Sockets and port
/// settings are that namespace's; processes and users stay host-wide.
#[cfg(target_os = "linux")]
pub fn in_netns(path: &std::path::Path) -> Result<Box<dyn Host>> {
    Ok(Box::new(linux::LinuxHost::entered(path)?))
}

#[cfg(not(target_os = "linux"))]
pub fn local() -> Box<dyn Host> {
    Box::new(portable::PortableHost)
}

#[cfg(not(target_os = "linux"))]
pub fn in_netns(_path: &std::path::Path) -> Result<Box<dyn Host>> {
    anyhow::bail!("network namespaces exist on Linux only")
}

/// The index of a network interface, by name (the scope of a link-local address).
#[cfg(unix)]
pub fn interface_index(name: &str) -> Option<u32> {
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: a NUL-terminated string; if_nametoindex only reads it.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

#[cfg(not(unix))]
pub fn interface_index(_name: &str) -> Option<u32> {
    None
}

/// Whether this process runs as root: whether "run as root" is advice worth giving.
#[cfg(unix)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(not(unix))]
pub fn is_root() -> bool {
    false
}

/// The ICMP rate limits a UDP target answers under (`IcmpLimits`), read where it lives when
/// that is on this machine.
#[cfg(target_os = "linux")]
pub fn icmp_limits(ip: std::net::IpAddr) -> crate::model::IcmpLimits {
    icmp_limits::for_target(ip)
}

#[cfg(not(target_os = "linux"))]
pub fn icmp_limits(_ip: std::net::IpAddr) -> crate::model::IcmpLimits {
    crate::model::IcmpLimits {
        ratelimit_ms: 1000,
        ratemask: 6168,
        msgs_per_sec: 1000,
        source: crate::model::LimitSource::Assumed,
    }
}
