//! Network namespaces on this host: naming one (NAME, PATH or PID → an nsfs file), entering
//! one, and finding every one (the processes' `/proc/PID/ns/net`, deduplicated by inode, and
//! the nsfs bind mounts in `/proc/self/mountinfo`: `/run/netns/*`, `/run/docker/netns/*`, CNI's).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

/// One network namespace, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The nsfs inode: what `ip netns identify`, `lsns` and `/proc/PID/ns/net` show.
    pub inode: u64,
    /// Where it is bound (`/run/netns/NAME` → NAME), if anywhere.
    pub name: Option<String>,
    /// A file that names it: its bind mount, else a member process's `/proc/PID/ns/net`.
    pub path: PathBuf,
    /// The processes in it, in pid order (empty for a namespace only a mount keeps alive).
    pub pids: Vec<u32>,
}

/// Every network namespace found, and what could not be looked at.
#[derive(Debug, Default)]
pub struct Discovery {
    pub namespaces: Vec<Namespace>,
    /// Namespaces known only through processes whose namespace link cannot be read (another
    /// user's, without privileges), and how many such processes.
    pub unseen: Unseen,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Unseen {
    pub namespaces: usize,
    pub processes: usize,
}

/// The file for `--netns NAME|PATH|PID`: a bound name (`/run/netns/NAME`), any path (an nsfs
/// file), or a process's namespace. One clear error when it is not there.
pub fn resolve(spec: &str) -> Result<PathBuf> {
    let shown = crate::text::escaped(spec);
    let path = if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
        let path = PathBuf::from(format!("/proc/{spec}/ns/net"));
        if !Path::new(&format!("/proc/{spec}")).exists() {
            bail!("--netns {shown}: no process with pid {shown}");
        }
        path
    } else if spec.contains('/') {
        PathBuf::from(spec)
    } else if spec.is_empty() || spec == "." || spec == ".." {
        bail!("--netns needs a namespace name, a path or a pid");
    } else {
        let path = PathBuf::from(format!("/run/netns/{spec}"));
        if !path.exists() {
            bail!(
                "--netns {shown}: no network namespace named '{shown}' (no /run/netns/{shown}; \
                 `ip netns list` shows the named ones)"
            );
        }
        path
    };
    if let Err(e) = std::fs::symlink_metadata(&path) {
        let why = match e.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied (run as root)".to_string(),
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        };
        bail!(
            "--netns {}: {why}",
            crate::text::escaped(&path.display().to_string())
        );
    }
    Ok(path)
}

/// Moves the calling thread into the namespace `path` names. Threads it starts afterwards are
/// born there: called first thing on the main thread, the whole command runs inside, so a
/// trial bind or a connect happens where the sockets are read. /proc stays host-wide.
pub fn enter(path: &Path) -> Result<()> {
    let shown = crate::text::escaped(&path.display().to_string());
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "opening network namespace {shown}: permission denied (another user's process: run as root)"
        ),
        _ => anyhow!("opening network namespace {shown}: {e}"),
    })?;
    if let Err(e) = setns(&file) {
        return Err(match e.raw_os_error() {
            Some(libc::EPERM) => anyhow!(
                "entering network namespace {shown}: permission denied (needs CAP_SYS_ADMIN: run as root)"
            ),
            Some(libc::EINVAL) => {
                anyhow!("entering network namespace {shown}: not a network namespace file")
            }
            _ => anyhow!("entering network namespace {shown}: {e}"),
        });
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn setns(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor; setns changes only the calling thread's namespace.
    match unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
fn setns(_file: &File) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// The inode of the namespace the calling thread is in.
pub fn own_inode() -> Option<u64> {
    link_inode(Path::new("/proc/thread-self/ns/net"))
}

/// Every network namespace on the host: those of processes (found through any member, the
/// lowest pid naming it) and those bound to a file (named after the file).
pub fn discover() -> Discovery {
    let mut found: BTreeMap<u64, Namespace> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let mut pids: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let path = PathBuf::from(format!("/proc/{pid}/ns/net"));
        match std::fs::read_link(&path) {
            Ok(link) => {
                let Some(inode) = link.to_str().and_then(parse_link) else {
                    continue;
                };
                found
                    .entry(inode)
                    .or_insert_with(|| Namespace {
                        inode,
                        name: None,
                        path,
                        pids: Vec::new(),
                    })
                    .pids
                    .push(pid);
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => unreadable.push(pid),
            // Exited meanwhile, or a kernel thread without one.
            Err(_) => {}
        }
    }
    bind_mounts(&mut found);
    let unseen = place_unreadable(&mut found, &unreadable);
    Discovery {
        namespaces: found.into_values().collect(),
        unseen,
    }
}

/// Puts processes whose namespace link cannot be read into the namespaces found, by the one
/// thing about their namespace that /proc shows anyone: its kernel rtnetlink socket in
/// `/proc/PID/net/netlink`. Those in none of them are the namespaces not seen.
fn place_unreadable(found: &mut BTreeMap<u64, Namespace>, unreadable: &[u32]) -> Unseen {
    if unreadable.is_empty() {
        return Unseen::default();
    }
    let mut known: BTreeMap<u64, u64> = BTreeMap::new();
    for ns in found.values() {
        let mark = match ns.pids.first() {
            Some(pid) => rtnl_inode(&pid.to_string()),
            // Bound only: read from inside, where we may enter (root).
            None => inside(&ns.path, || rtnl_inode("thread-self")).flatten(),
        };
        known.extend(mark.map(|mark| (mark, ns.inode)));
    }
    let mut unseen: BTreeMap<u64, usize> = BTreeMap::new();
    for pid in unreadable {
        // None: exited meanwhile.
        let Some(mark) = rtnl_inode(&pid.to_string()) else {
            continue;
        };
        match known.get(&mark).and_then(|inode| found.get_mut(inode)) {
            Some(ns) => ns.pids.push(*pid),
            None => *unseen.entry(mark).or_default() += 1,
        }
    }
    for ns in found.values_mut() {
        ns.pids.sort_unstable();
    }
    Unseen {
        namespaces: unseen.len(),
        processes: unseen.values().sum(),
    }
}

/// The inode of a namespace's kernel rtnetlink socket (protocol 0, port 0: one per namespace,
/// made with it), from `/proc/PID/net/netlink`, which needs no access to the process.
fn rtnl_inode(pid: &str) -> Option<u64> {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/netlink")).ok()?;
    table.lines().skip(1).find_map(|line| {
        // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
        let fields: Vec<&str> = line.split_whitespace().collect();
        let kernel = fields.get(1..3) == Some(&["0", "0"][..]);
        let inode = fields.get(9)?.parse().ok().filter(|i| *i != 0);
        inode.filter(|_| kernel)
    })
}

/// `f` on a thread inside the namespace `path` names; None when it cannot be entered.
fn inside<T: Send>(path: &Path, f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| enter(path).ok().map(|()| f()))
            .join()
            .ok()
            .flatten()
    })
}

/// The namespaces bound to files (`ip netns add`, container runtimes), without looking at
/// processes: cheap enough for every listing, to name the namespace it reads.
pub fn bound() -> Vec<Namespace> {
    let mut found = BTreeMap::new();
    bind_mounts(&mut found);
    found.into_values().collect()
}

fn bind_mounts(found: &mut BTreeMap<u64, Namespace>) {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for (inode, mount) in nsfs_mounts(&mountinfo) {
        let name = mount
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string);
        let entry = found.entry(inode).or_insert_with(|| Namespace {
            inode,
            name: None,
            path: mount.clone(),
            pids: Vec::new(),
        });
        // `ip netns` names win over other runtimes' bind mounts (a file named after an id).
        let better = entry.name.is_none() || mount.starts_with("/run/netns/");
        if better && name.is_some() {
            entry.name = name;
            entry.path = mount;
        }
    }
}

/// `net:[4026531840]` → 4026531840.
fn parse_link(link: &str) -> Option<u64> {
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

fn link_inode(path: &Path) -> Option<u64> {
    parse_link(std::fs::read_link(path).ok()?.to_str()?)
}

/// Network-namespace bind mounts in mountinfo: (inode, mount point). A line is
/// `id parent major:minor root mountpoint options [optional…] - fstype source superoptions`;
/// for nsfs the root is `net:[inode]`.
fn nsfs_mounts(mountinfo: &str) -> Vec<(u64, PathBuf)> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            if tail.split(' ').next()? != "nsfs" {
                return None;
            }
            let mut fields = head.split(' ');
            let inode = parse_link(fields.nth(3)?)?;
            Some((inode, PathBuf::from(unescape(fields.next()?))))
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in paths as `\ooo` octal.
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes.get(i + 1..i + 4).and_then(|d| {
            let d = std::str::from_utf8(d).ok()?;
            u8::from_str_radix(d, 8).ok()
        });
        match (bytes[i], octal) {
            (b'\\', Some(byte)) => {
                out.push(byte);
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nsfs_mounts_from_mountinfo() {
        let text = "\
25 1 0:23 / /proc rw,nosuid - proc proc rw
612 28 0:4 net:[4026532611] /run/netns/web rw shared:5 - nsfs nsfs rw
613 28 0:4 net:[4026532700] /run/docker/netns/1a2b\\040c rw - nsfs nsfs rw
614 28 0:4 mnt:[4026532800] /run/x rw - nsfs nsfs rw";
        assert_eq!(
            nsfs_mounts(text),
            vec![
                (4026532611, PathBuf::from("/run/netns/web")),
                (4026532700, PathBuf::from("/run/docker/netns/1a2b c")),
            ]
        );
    }

    #[test]
    fn namespace_links() {
        assert_eq!(parse_link("net:[4026531840]"), Some(4026531840));
        assert_eq!(parse_link("mnt:[4026531840]"), None);
        assert_eq!(parse_link("net:[x]"), None);
    }

    #[test]
    fn bad_names_are_one_clear_error() {
        let e = resolve("i15-no-such-namespace").unwrap_err().to_string();
        assert!(
            e.contains("no network namespace named 'i15-no-such-namespace'"),
            "{e}"
        );
        let e = resolve("4294967295").unwrap_err().to_string();
        assert!(e.contains("no process with pid 4294967295"), "{e}");
        let e = resolve("/nonexistent/i15").unwrap_err().to_string();
        assert!(e.contains("no such file"), "{e}");
    }
}
