//! Linux: sock_diag for the table (falling back to /proc/net per table when the kernel cannot
//! answer), /proc/*/fd for owners, /proc/sys/net for port settings; in this network namespace
//! or in another one entered by a file descriptor.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use anyhow::{Context, Result, anyhow};

use super::netlink::{Diag, PortFilter};
use super::{Counters, DestroyFeed, Host, Owners, Scope, Table, counters, procfs, procnet, sysctl};
use crate::model::{Family, PortSettings, Proto};
use crate::query::Query;

pub struct LinuxHost {
    /// The network namespace to read sockets and settings in; None: this process's own.
    netns: Option<Namespace>,
}

struct Namespace {
    file: File,
    path: String,
}

impl LinuxHost {
    pub fn current() -> LinuxHost {
        LinuxHost { netns: None }
    }

    pub fn entered(path: &Path) -> Result<LinuxHost> {
        let shown = path.display().to_string();
        let file =
            File::open(path).with_context(|| format!("opening network namespace {shown}"))?;
        let host = LinuxHost {
            netns: Some(Namespace { file, path: shown }),
        };
        // Enter once now, so a wrong file or a missing privilege is one clear error up front.
        host.inside(|| ())?;
        Ok(host)
    }

    /// Runs `f` in the namespace: a netlink socket belongs to the namespace it is created in,
    /// and /proc/sys/net and /proc/thread-self/net show the reading thread's namespace. Only
    /// a short-lived thread of ours changes namespace, never the calling one.
    fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        let Some(ns) = &self.netns else {
            return Ok(f());
        };
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name("netns".into())
                .spawn_scoped(scope, || {
                    // SAFETY: a valid descriptor; only this thread changes namespace.
                    if unsafe { libc::setns(ns.file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(f())
                })
                .context("starting a thread to enter the network namespace")?;
            let entered = worker
                .join()
                .map_err(|_| anyhow!("the network namespace thread failed"))?;
            entered.map_err(|e| match e.raw_os_error() {
                Some(libc::EPERM) => anyhow!(
                    "entering network namespace {}: permission denied (needs CAP_SYS_ADMIN: \
                     run as root)",
                    ns.path
                ),
                Some(libc::EINVAL) => anyhow!(
                    "entering network namespace {}: not a network namespace file",
                    ns.path
                ),
                _ => anyhow!("entering network namespace {}: {e}", ns.path),
            })
        })
    }
}

impl Host for LinuxHost {
    fn sockets(&self, query: &Query) -> Result<Table> {
        self.inside(|| read_table(query))?
    }

    fn owners(&self, inodes: &[u32], scope: Scope) -> Owners {
        // Socket inodes are unique host-wide, so the scan needs no namespace.
        let mut owners = procfs::find_owners(inodes, scope);
        if owners.unreadable == 0 && proc_hides_processes() {
            // Hidden processes are not listed at all, so the scan could not count them.
            owners.unreadable = 1;
        }
        owners
    }

    fn port_settings(&self) -> Result<PortSettings> {
        self.inside(sysctl::port_settings)?
    }

    fn counters(&self) -> Result<Counters> {
        self.inside(counters::read)?
    }

    fn destroy_feed(&self, protos: &[Proto]) -> Option<DestroyFeed> {
        self.inside(|| destroy_feed(protos)).ok().flatten()
    }

    fn bind_held(&self, ports: &[u16]) -> Result<Vec<u16>> {
        self.inside(|| super::connect_trial::bind_held(ports))?
    }
}

/// Whether /proc hides other users' processes from us (mounted with hidepid=2, "invisible"):
/// then pid 1, which always exists, is not there.
fn proc_hides_processes() -> bool {
    let present = |path: &str| std::fs::symlink_metadata(path).is_ok();
    present("/proc/self") && !present("/proc/1")
}

/// What the /proc/net tables cannot tell.
const LOSSES: &str = "(no timers or IPv6-only flag there)";

fn read_table(query: &Query) -> Result<Table> {
    let mut table = Table::default();
    let mut diag = match Diag::open() {
        Ok(diag) => Some(diag),
        Err(e) => {
            table.notes.push(format!(
                "cannot open a sock_diag netlink socket ({e}); read /proc/net instead {LOSSES}"
            ));
            None
        }
    };
    let ports = PortFilter {
        local_or_remote: query.any_port,
        local: query.local_port,
        remote: query.remote_port,
    };
    let sockets = &mut table.sockets;
    for &family in &query.dumped_families() {
        for &proto in &query.protos {
            let mask = query.states.kernel_mask(proto);
            if mask == 0 {
                continue;
            }
            let before = sockets.len();
            let dumped = match &mut diag {
                Some(diag) => diag.dump(family, proto, mask, &ports, sockets),
                None => Err(std::io::ErrorKind::Unsupported.into()),
            };
            if let Err(e) = dumped {
                sockets.truncate(before);
                if diag.is_some() {
                    table.notes.push(fallback_note(family, proto, &e));
                }
                procnet::read(family, proto, sockets).with_context(|| {
                    format!(
                        "reading the {} table from /proc/net",
                        table_name(family, proto)
                    )
                })?;
            }
        }
    }
    Ok(table)
}

/// Notifications of destroyed sockets, when the kernel lets this process have them (root).
fn destroy_feed(protos: &[Proto]) -> Option<DestroyFeed> {
    let mut feeds: Vec<(Proto, Diag)> = protos
        .iter()
        .map(|p| Diag::destroyed(*p).map(|d| (*p, d)))
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Box::new(move || {
        let mut out = Vec::new();
        for (proto, diag) in &mut feeds {
            let _ = diag.drain(*proto, &mut out);
        }
        out
    }))
}

fn table_name(family: Family, proto: Proto) -> String {
    match family {
        Family::Ipv4 => proto.name().to_string(),
        Family::Ipv6 => format!("{}6", proto.name()),
    }
}

fn fallback_note(family: Family, proto: Proto, error: &std::io::Error) -> String {
    let why = match error.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) => format!(
            "this kernel's sock_diag cannot dump {} sockets (module {}_diag missing?)",
            proto.name(),
            proto.name()
        ),
        _ => format!(
            "sock_diag failed for {} sockets ({error})",
            table_name(family, proto)
        ),
    };
    format!(
        "{why}; read /proc/net/{} instead {LOSSES}",
        table_name(family, proto)
    )
}
