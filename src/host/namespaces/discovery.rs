//! Finding every network namespace: the processes' `/proc/PID/ns/net`, deduplicated by inode,
//! and the nsfs bind mounts in `/proc/self/mountinfo` (`/run/netns/*`, `/run/docker/netns/*`,
//! CNI's); processes whose link cannot be read are placed by their rtnetlink socket.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::{Namespace, inside, parse_link};

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
}
