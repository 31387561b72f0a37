//! Linux: sock_diag for the table (falling back to /proc/net per table when the kernel cannot
//! answer), /proc/*/fd for owners, /proc/sys/net for port settings; in this network namespace
//! or in another one entered by a file descriptor.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result};

use super::netlink::Diag;
use super::port_filter::PortFilter;
use super::{
    Counters, DestroyFeed, Host, Owners, Pinned, Scope, Table, Vitals, counters, namespaces, pidfd,
    procfs, procnet, sysctl, unix_diag,
};
use crate::model::{Family, PortSettings, Proto, Socket};
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
        let file = namespaces::open(path)?;
        let host = LinuxHost {
            netns: Some(Namespace {
                file,
                path: path.display().to_string(),
            }),
        };
        // Enter once now, so a wrong file or a missing privilege is one clear error up front.
        host.inside(|| ())?;
        Ok(host)
    }

    /// Runs `f` in the namespace, on a short-lived thread of ours.
    fn inside<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        let Some(ns) = &self.netns else {
            return Ok(f());
        };
        namespaces::on_thread_inside(&ns.file, f)
            .map_err(|e| namespaces::entering_failed(&ns.path, &e))
    }
}

impl Host for LinuxHost {
    fn sockets(&self, query: &Query) -> Result<Table> {
        self.inside(|| read_table(query))?
    }

    fn owners(&self, inodes: &[u32], scope: Scope) -> Owners {
        // Socket inodes are unique host-wide, so the scan needs no namespace.
        with_hidden(procfs::find_owners(Some(inodes), scope))
    }

    fn every_owner(&self) -> Option<Owners> {
        Some(with_hidden(procfs::find_owners(None, Scope::All)))
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

    fn vitals(&self, pid: u32) -> Option<Vitals> {
        pidfd::vitals(pid)
    }

    fn pin(&self, pid: u32, started: u64) -> std::io::Result<Option<Box<dyn Pinned>>> {
        pidfd::pin(pid, started)
    }

    fn destroy(&self, socket: &Socket) -> std::io::Result<()> {
        // The request must come from the socket's namespace, like a dump.
        self.inside(|| Diag::open()?.destroy(socket))
            .map_err(std::io::Error::other)?
    }
}

/// Hidden processes are not listed at all, so the scan could not count them.
fn with_hidden(mut owners: Owners) -> Owners {
    if owners.unreadable == 0 && proc_hides_processes() {
        owners.unreadable = 1;
    }
    owners
}

/// Whether /proc hides other users' processes from us (mounted with hidepid=2, "invisible"):
/// then pid 1, which always exists, is not there.
fn proc_hides_processes() -> bool {
    let present = |path: &str| std::fs::symlink_metadata(path).is_ok();
    present("/proc/self") && !present("/proc/1")
}

/// What the /proc/net tables cannot tell.
const LOSSES: &str =
    "(no timers, IPv6-only flag, bound-only TCP sockets or `-i` details such as tcp_info there)";

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
    let ports = PortFilter::new(query);
    let sockets = &mut table.sockets;
    let families = query.dumped_families();
    for &proto in &query.protos {
        let mask = query.states.kernel_mask(proto);
        if mask == 0 {
            continue;
        }
        if proto == Proto::Tcp && mask & BOUND_INACTIVE != 0 && diag.is_some() {
            table
                .notes
                .extend(bound_only_note(kernel_release().as_deref()));
        }
        // Both families in one walk where the kernel offers it; family by family otherwise.
        if let (Some(diag), [_, _]) = (&mut diag, families.as_slice())
            && proto == Proto::Tcp
        {
            let before = sockets.len();
            if diag
                .dump(None, proto, mask, &ports, query.details, sockets)
                .is_ok()
            {
                continue;
            }
            sockets.truncate(before);
        }
        for &family in &families {
            let before = sockets.len();
            let dumped = match &mut diag {
                Some(diag) => diag.dump(Some(family), proto, mask, &ports, query.details, sockets),
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
    let mask = query.states.unix_mask();
    if query.unix && mask != 0 {
        let dumped = match &mut diag {
            Some(diag) => unix_diag::dump(diag, mask, &mut table.unix),
            None => Err(std::io::ErrorKind::Unsupported.into()),
        };
        if let Err(e) = dumped {
            table.unix.clear();
            if diag.is_some() {
                table.notes.push(format!(
                    "sock_diag failed for Unix sockets ({e}; module unix_diag missing?); read \
                     /proc/net/unix instead (no peers, queues or uids there)"
                ));
            }
            procnet::read_unix(mask, &mut table.unix)
                .context("reading the Unix socket table from /proc/net/unix")?;
        }
    }
    Ok(table)
}

/// TCP_BOUND_INACTIVE's bit in a sock_diag state mask.
const BOUND_INACTIVE: u32 = 1 << 13;

/// Linux dumps bound-only TCP sockets from 6.9 on; older kernels ignore the state bit, so the
/// user hears that a port held by bind() alone cannot show. Silent when the release is unknown.
fn bound_only_note(release: Option<&str>) -> Option<String> {
    let release = release?;
    let mut numbers = release.split(|c: char| !c.is_ascii_digit());
    let major: u32 = numbers.next()?.parse().ok()?;
    let minor: u32 = numbers.next()?.parse().ok()?;
    ((major, minor) < (6, 9)).then(|| {
        format!(
            "this kernel ({release}) cannot list bound-only TCP sockets (bound, not listening \
             or connected; Linux 6.9 and later can): a port held that way does not show"
        )
    })
}

/// The running kernel's release (`6.18.44-…`).
fn kernel_release() -> Option<String> {
    // SAFETY: an all-zero utsname is a valid buffer for uname to fill.
    let mut name: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `name` is a utsname buffer.
    if unsafe { libc::uname(&mut name) } != 0 {
        return None;
    }
    // SAFETY: uname wrote a NUL-terminated release string.
    let release = unsafe { std::ffi::CStr::from_ptr(name.release.as_ptr()) };
    Some(release.to_string_lossy().into_owned())
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

#[cfg(test)]
mod tests {
    use super::bound_only_note;

    #[test]
    fn bound_only_sockets_need_linux_6_9() {
        assert!(bound_only_note(Some("6.8.0-45-generic")).is_some());
        assert!(bound_only_note(Some("5.10.0")).is_some());
        assert_eq!(bound_only_note(Some("6.9.0")), None);
        assert_eq!(bound_only_note(Some("6.18.44-fc-v657")), None);
        assert_eq!(bound_only_note(Some("7.0")), None);
        assert_eq!(bound_only_note(Some("weird")), None);
        assert_eq!(bound_only_note(None), None);
    }
}
