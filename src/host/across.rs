//! Every network namespace as one host: each namespace's table read where it lives (entered
//! once, kept open), every socket tagged with its namespace's inode; owners, processes and
//! users read once, host-wide, by the local host (socket inodes are unique on the host).

use anyhow::Result;

use super::{Counters, DestroyFeed, Host, Owners, Scope, Table};
use crate::model::{PortSettings, Proto};
use crate::query::Query;

/// One namespace's reader.
pub enum Reader {
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
    pub fn new(local: &'h dyn Host, namespaces: Vec<(u64, Reader)>) -> Across<'h> {
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
        for (inode, reader) in &self.namespaces {
            let host = reader.host(self.local);
            let table = match (host.sockets(query), reader) {
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
