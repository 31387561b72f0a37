//! Every network namespace as one host: each namespace's table read where it lives (entered
//! once, kept open), every socket tagged with its namespace's inode; owners, processes and
//! users read once, host-wide, by the local host (socket inodes are unique on the host).

use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Result;

use super::{Counters, DestroyFeed, Host, Owners, Scope, Table};
use crate::model::{PortSettings, Proto};
use crate::query::Query;

/// One namespace's reader.
enum Reader {
    /// The namespace this process is in: the local host reads it.
    Own,
    Entered(Box<dyn Host>),
}

impl Reader {
    fn host<'a>(&'a self, local: &'a dyn Host) -> &'a dyn Host {
        match self {
            Reader::Own => local,
            Reader::Entered(host) => host.as_ref(),
        }
    }
}

pub struct Across<'h> {
    local: &'h dyn Host,
    namespaces: Vec<(u64, Reader)>,
    /// Namespaces found but not entered (no privilege, or gone meanwhile).
    pub unentered: usize,
}

impl<'h> Across<'h> {
    /// Readers for these namespaces, by inode.
    fn new(local: &'h dyn Host, namespaces: Vec<(u64, Reader)>) -> Across<'h> {
        Across {
            local,
            namespaces,
            unentered: 0,
        }
    }

    /// Enters every namespace found; those that cannot be entered are counted.
    pub fn enter(local: &'h dyn Host, found: &super::namespaces::Discovery) -> Across<'h> {
        let own = super::namespaces::own_inode();
        let mut across = Across::new(local, Vec::new());
        for ns in &found.namespaces {
            let reader = if Some(ns.inode) == own {
                Reader::Own
            } else {
                match super::in_netns(&ns.path) {
                    Ok(host) => Reader::Entered(host),
                    // Gone since it was found (its last process exited, or `ip netns del`):
                    // nothing left to list, and nothing the user could do about it.
                    Err(e) if gone(&e) => continue,
                    Err(_) => {
                        across.unentered += 1;
                        continue;
                    }
                }
            };
            across.namespaces.push((ns.inode, reader));
        }
        across
    }
}

impl Host for Across<'_> {
    fn sockets(&self, query: &Query) -> Result<Table> {
        let mut all = Table::default();
        let tables = side_by_side(&self.namespaces, |(_, reader)| {
            reader.host(self.local).sockets(query)
        });
        for ((inode, reader), table) in self.namespaces.iter().zip(tables) {
            let table = match (table, reader) {
                (Ok(table), _) => table,
                (Err(e), Reader::Own) => return Err(e),
                // A namespace whose last process exited stays readable through our open file;
                // any other failure costs that namespace only.
                (Err(e), Reader::Entered(_)) => {
                    all.notes
                        .push(format!("reading network namespace net:[{inode}]: {e:#}"));
                    continue;
                }
            };
            let start = all.sockets.len();
            all.sockets.extend(table.sockets);
            for s in &mut all.sockets[start..] {
                s.netns = *inode;
            }
            // unix_diag is per network namespace too (abstract names are the namespace's).
            let start = all.unix.len();
            all.unix.extend(table.unix);
            for s in &mut all.unix[start..] {
                s.netns = *inode;
            }
            for note in table.notes {
                if !all.notes.contains(&note) {
                    all.notes.push(note);
                }
            }
        }
        Ok(all)
    }

    fn owners(&self, inodes: &[u32], scope: Scope) -> Owners {
        // Once, host-wide: a socket inode is unique whatever namespace it lives in.
        self.local.owners(inodes, scope)
    }

    fn every_owner(&self) -> Option<Owners> {
        self.local.every_owner()
    }

    fn processes(&self, pids: &[u32]) -> std::collections::HashMap<u32, crate::model::Process> {
        self.local.processes(pids)
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.local.user_name(uid)
    }

    fn uid_of(&self, name: &str) -> Option<u32> {
        self.local.uid_of(name)
    }

    fn port_settings(&self) -> Result<PortSettings> {
        self.local.port_settings()
    }

    fn counters(&self) -> Result<Counters> {
        self.local.counters()
    }

    fn destroy_feed(&self, protos: &[Proto]) -> Option<DestroyFeed> {
        let mut feeds: Vec<(u64, DestroyFeed)> = Vec::new();
        for (inode, reader) in &self.namespaces {
            let host = reader.host(self.local);
            feeds.push((*inode, host.destroy_feed(protos)?));
        }
        Some(Box::new(move || {
            let mut out = Vec::new();
            for (inode, feed) in &mut feeds {
                let start = out.len();
                out.extend(feed());
                for s in &mut out[start..] {
                    s.netns = *inode;
                }
            }
            out
        }))
    }
}

/// Whether entering failed because the namespace's file is no longer there.
fn gone(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound)
    })
}

/// `f` of each item, in order, on up to as many threads as there are cores: each namespace is
/// read by a thread of its own that enters it, so waiting for one need not delay the next.
fn side_by_side<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut done: Vec<(usize, T)> = crate::workers::spread(cores.min(items.len()), &|_| {
        let mut mine = Vec::new();
        loop {
            let index = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(index) else {
                break;
            };
            mine.push((index, f(item)));
        }
        mine
    })
    .into_iter()
    .flatten()
    .collect();
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeHost;
    use crate::model::{Endpoint, Socket, TcpState};

    /// A fake that counts its owner scans.
    struct Counting(FakeHost, AtomicUsize);

    impl Host for Counting {
        fn sockets(&self, query: &Query) -> Result<Table> {
            self.0.sockets(query)
        }
        fn owners(&self, inodes: &[u32], scope: Scope) -> Owners {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.owners(inodes, scope)
        }
        fn port_settings(&self) -> Result<PortSettings> {
            self.0.port_settings()
        }
        fn destroy_feed(&self, _protos: &[Proto]) -> Option<DestroyFeed> {
            None
        }
    }

    fn listener(inode: u32, pid: u32) -> Socket {
        let ep = |port| Endpoint {
            ip: "0.0.0.0".parse().expect("address"),
            port,
        };
        let mut s = Socket::new(Proto::Tcp, ep(8080), ep(0), TcpState::Listen);
        s.inode = inode;
        s.pids = vec![pid];
        s
    }

    /// A namespace found through a process that exited before it was entered is gone, not
    /// one that could not be entered (the note would tell root to run as root).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_namespace_gone_before_it_is_entered_is_not_counted() {
        let mut child = std::process::Command::new("true").spawn().expect("true");
        let pid = child.id();
        child.wait().expect("true exits");
        let found = super::super::namespaces::Discovery {
            namespaces: vec![super::super::namespaces::Namespace {
                inode: 1,
                name: None,
                path: format!("/proc/{pid}/ns/net").into(),
                pids: vec![pid],
            }],
            ..Default::default()
        };
        let local = counting(vec![vec![]]);
        let across = Across::enter(&local, &found);
        assert_eq!((across.unentered, across.namespaces.len()), (0, 0));
    }

    fn counting(looks: Vec<Vec<Socket>>) -> Counting {
        Counting(FakeHost::new(looks), AtomicUsize::new(0))
    }

    /// Each namespace's table is read where it lives and tagged; owners are looked up once,
    /// by the local host, for every namespace's sockets together.
    #[test]
    fn one_owner_scan_for_every_namespace() {
        // The local host's scan is host-wide: its first look teaches the fake every owner.
        let local = counting(vec![
            vec![listener(1, 10), listener(2, 20), listener(3, 30)],
            vec![listener(1, 10)],
        ]);
        local.sockets(&Query::everything()).expect("fake table");
        let a = counting(vec![vec![listener(2, 20)]]);
        let b = counting(vec![vec![listener(3, 30)]]);
        let host = Across::new(
            &local,
            vec![
                (100, Reader::Own),
                (200, Reader::Entered(Box::new(a))),
                (300, Reader::Entered(Box::new(b))),
            ],
        );
        let inv = crate::inventory::collect(&host, &Query::everything()).expect("collect");
        let mut seen: Vec<(u64, u32, Vec<u32>)> = inv
            .sockets
            .iter()
            .map(|s| (s.netns, s.inode, s.pids.clone()))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            [(100, 1, vec![10]), (200, 2, vec![20]), (300, 3, vec![30])]
        );
        assert_eq!(local.1.load(Ordering::Relaxed), 1, "one owner scan");
    }
}
