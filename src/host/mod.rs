//! The host: the one place that reads sockets, their owners, processes, users and port
//! settings. Every command receives a `&dyn Host` from `lib::run`; which one (this network
//! namespace, another one, the portable backend, a fake in tests) is decided here.

mod across;
#[cfg(target_os = "linux")]
mod btf;
#[cfg(target_os = "linux")]
mod connect_trial;
pub mod containers;
mod counters;
#[cfg(test)]
pub mod fake;
#[cfg(target_os = "linux")]
mod icmp_limits;
#[cfg(target_os = "linux")]
mod linux;
pub mod namespaces;
#[cfg(target_os = "linux")]
mod netlink;
#[cfg(target_os = "linux")]
mod pidfd;
#[cfg(target_os = "linux")]
mod port_filter;
#[cfg(not(target_os = "linux"))]
mod portable;
mod process;
#[cfg(target_os = "linux")]
mod procfs;
#[cfg(target_os = "linux")]
mod procnet;
#[cfg(target_os = "linux")]
mod sysctl;
#[cfg(target_os = "linux")]
mod task_files;
#[cfg(target_os = "linux")]
mod tcp_info;
#[cfg(all(test, target_os = "linux"))]
mod tests;
#[cfg(target_os = "linux")]
mod unix_diag;
mod users;

use std::collections::HashMap;

use anyhow::Result;

use crate::model::{FileId, PortSettings, Process, Proto, Socket, UnixSocket};
use crate::query::Query;

pub use across::Across;
pub use counters::Counters;

/// What a look at the socket table found, before owners.
#[derive(Debug, Default)]
pub struct Table {
    pub sockets: Vec<Socket>,
    /// Unix domain sockets, when the query asks for them.
    pub unix: Vec<UnixSocket>,
    /// Things the user should know about how the table was read (a fallback, say).
    pub notes: Vec<String>,
}

/// Which processes an owner scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every process: every holder of every wanted inode.
    All,
    /// Every process until each wanted inode has one holder (`--first-owner`).
    FirstHolder,
    /// Only this process's descriptors (`--first-owner --pid N`).
    Pid(u32),
}

/// Socket inode -> the pids holding it, and what could not be read.
#[derive(Debug, Default)]
pub struct Owners {
    pub by_inode: HashMap<u32, Vec<u32>>,
    /// Processes whose descriptors could not be read (another user's, without privileges).
    pub unreadable: usize,
}

/// What `kill` checks about a process before it signals it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vitals {
    /// When it started (clock ticks after boot): with the pid, which process this is.
    pub started: u64,
    pub parent: u32,
    pub kernel_thread: bool,
}

/// A process held so that a signal reaches it or nothing, whatever becomes of its pid.
pub trait Pinned: Send {
    /// Sends `signal`; 0 only asks whether it may be sent (EPERM when not).
    fn signal(&self, signal: i32) -> std::io::Result<()>;
    /// Waits up to `timeout` for the process to exit; true once it has.
    fn wait_exit(&self, timeout: std::time::Duration) -> bool;
}

/// Sockets the kernel destroyed since the last call (empty when none).
pub type DestroyFeed = Box<dyn FnMut() -> Vec<Socket> + Send>;

/// Everything portscope reads about the machine, behind one seam.
pub trait Host: Sync {
    /// The sockets the query's kernel-side filters ask for (protocols, families, states and
    /// ports where the backend can apply them), and its Unix domain sockets when it asks for
    /// them; more is fine, the caller filters again. Backends that learn owners with the table
    /// (netstat2) fill `pids` in.
    fn sockets(&self, query: &Query) -> Result<Table>;

    /// The processes holding these socket inodes.
    fn owners(&self, inodes: &[u32], scope: Scope) -> Owners;

    /// Every socket any process holds, with its holders: a scan that needs no table first,
    /// so that it can run while the table is read. None where owners come another way.
    fn every_owner(&self) -> Option<Owners> {
        None
    }

    /// Name, command line and user of these pids; a pid that exited meanwhile is absent.
    /// Processes are host-wide, whichever network namespace the sockets come from.
    fn processes(&self, pids: &[u32]) -> HashMap<u32, Process> {
        process::describe(pids)
    }

    /// The identity (device, inode) of the file at `path`, following symlinks; None when it
    /// cannot be read. A Unix socket bound to a path is matched by it.
    fn file_id(&self, path: &std::path::Path) -> Option<FileId> {
        file_id(path)
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

    /// Start time, parent and kind of a process; None when it is gone or unreadable.
    fn vitals(&self, _pid: u32) -> Option<Vitals> {
        None
    }

    /// Holds `pid` if it is still the process that started at `started` (Linux: a pidfd);
    /// None when that process is gone.
    fn pin(&self, _pid: u32, _started: u64) -> std::io::Result<Option<Box<dyn Pinned>>> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    /// Closes one TCP or UDP socket as `ss -K` does (sock_diag SOCK_DESTROY: a TCP peer
    /// gets a reset, the holder's next call fails with ECONNABORTED). EPERM without
    /// CAP_NET_ADMIN, EOPNOTSUPP on a kernel built without CONFIG_INET_DIAG_DESTROY, ENOENT
    /// when the socket is gone, ESTALE when its addresses now belong to another socket.
    fn destroy(&self, _socket: &Socket) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
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

#[cfg(unix)]
fn file_id(path: &std::path::Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

#[cfg(not(unix))]
fn file_id(_path: &std::path::Path) -> Option<FileId> {
    None
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
