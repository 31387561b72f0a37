//! A host made of fixtures, for unit tests of the commands' loops (watch, wait, ephemeral
//! --watch, why-bind): each look at the table takes the next scripted table, the last one
//! repeating; owners, processes and settings come from the fixtures.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use anyhow::{Result, anyhow};

use super::{Counters, DestroyFeed, Host, Owners, Scope, Table};
use crate::model::{PortSettings, Process, Proto, Socket};
use crate::query::Query;

#[derive(Default)]
pub struct FakeHost {
    /// Tables still to come; the last one stays.
    looks: Mutex<VecDeque<Vec<Socket>>>,
    /// Owners as the fixtures' `pids` say, learnt from every table handed out.
    owners: Mutex<HashMap<u32, Vec<u32>>>,
    taken: Mutex<usize>,
    pub processes: HashMap<u32, Process>,
    pub users: HashMap<u32, String>,
    pub settings: Option<PortSettings>,
    pub counters: Option<Counters>,
    /// What trial connects find held by bind(); None: trials cannot run.
    pub bind_held: Option<Vec<u16>>,
}

impl FakeHost {
    /// A host whose table is each of `looks` in turn, then the last one for ever.
    pub fn new(looks: Vec<Vec<Socket>>) -> FakeHost {
        FakeHost {
            looks: Mutex::new(looks.into()),
            ..FakeHost::default()
        }
    }

    /// How many times the table was read.
    pub fn looks_taken(&self) -> usize {
        *self.taken.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Host for FakeHost {
    fn sockets(&self, _query: &Query) -> Result<Table> {
        let mut looks = self.looks.lock().unwrap_or_else(|e| e.into_inner());
        let table = if looks.len() > 1 {
            looks.pop_front()
        } else {
            looks.front().cloned()
        }
        .unwrap_or_default();
        *self.taken.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        // The table carries no owners, as from the kernel; they are found through `owners`.
        let sockets = table
            .into_iter()
            .map(|mut s| {
                if s.inode != 0 && !s.pids.is_empty() {
                    owners.insert(s.inode, std::mem::take(&mut s.pids));
                }
                s
            })
            .collect();
        Ok(Table {
            sockets,
            notes: Vec::new(),
        })
    }

    fn owners(&self, inodes: &[u32], scope: Scope) -> Owners {
        let known = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        let by_inode = inodes
            .iter()
            .filter_map(|inode| {
                let pids: Vec<u32> = known
                    .get(inode)?
                    .iter()
                    .copied()
                    .filter(|pid| match scope {
                        Scope::All { .. } => true,
                        Scope::Pid(only) => only == *pid,
                    })
                    .collect();
                (!pids.is_empty()).then_some((*inode, pids))
            })
            .collect();
        Owners {
            by_inode,
            unreadable: 0,
        }
    }

    fn processes(&self, pids: &[u32]) -> HashMap<u32, Process> {
        pids.iter()
            .filter_map(|pid| Some((*pid, self.processes.get(pid)?.clone())))
            .collect()
    }

    fn user_name(&self, uid: u32) -> Option<String> {
        self.users.get(&uid).cloned()
    }

    fn uid_of(&self, name: &str) -> Option<u32> {
        self.users
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(uid, _)| *uid)
    }

    fn port_settings(&self) -> Result<PortSettings> {
        self.settings
            .clone()
            .ok_or_else(|| anyhow!("no port settings in this fake"))
    }

    fn counters(&self) -> Result<Counters> {
        self.counters
            .clone()
            .ok_or_else(|| anyhow!("no counters in this fake"))
    }

    fn destroy_feed(&self, _protos: &[Proto]) -> Option<DestroyFeed> {
        None
    }

    fn bind_held(&self, ports: &[u16]) -> Result<Vec<u16>> {
        let held = self
            .bind_held
            .as_ref()
            .ok_or_else(|| anyhow!("no trial connects in this fake"))?;
        Ok(ports.iter().copied().filter(|p| held.contains(p)).collect())
    }
}
