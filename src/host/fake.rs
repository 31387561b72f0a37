//! A host made of fixtures, for unit tests of the commands' loops (watch, wait, ephemeral
//! --watch, why-bind) and of Unix socket queries: each look at the table takes the next
//! scripted table, the last one repeating; owners, processes, files and settings come from
//! the fixtures.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Result, anyhow};

use super::{Counters, DestroyFeed, Host, Owners, Pinned, Scope, Table, Vitals};
use crate::model::{FileId, PortSettings, Process, Proto, Socket, UnixSocket};
use crate::query::Query;

#[derive(Default)]
pub struct FakeHost {
    /// Tables still to come; the last one stays.
    looks: Mutex<VecDeque<Vec<Socket>>>,
    /// Owners as the fixtures' `pids` say, learnt from every table handed out.
    owners: Mutex<HashMap<u32, Vec<u32>>>,
    /// Owners as every scripted table says, for `every_owner` (which may run while a table
    /// is being handed out).
    scripted_owners: HashMap<u32, Vec<u32>>,
    taken: Mutex<usize>,
    /// Unix sockets, the same at every look; their `pids` and `peer_pids` are the owners.
    pub unix: Vec<UnixSocket>,
    /// What `file_id` answers.
    pub files: HashMap<PathBuf, FileId>,
    pub processes: HashMap<u32, Process>,
    pub users: HashMap<u32, String>,
    pub settings: Option<PortSettings>,
    pub counters: Option<Counters>,
    /// What trial connects find held by bind(); None: trials cannot run.
    pub bind_held: Option<Vec<u16>>,
    /// How many times trial connects were asked for.
    pub trial_rounds: Mutex<usize>,
    /// What `vitals` answers, by pid.
    pub vitals: HashMap<u32, Vitals>,
    /// Pids that exit between the lookup and the pin: `pin` finds them gone.
    pub exit_before_pin: HashSet<u32>,
    /// Pids whose signals fail with EPERM (another user's).
    pub denied: HashSet<u32>,
    /// Pids that exit on the first signal that is not 0.
    pub obeying: HashSet<u32>,
    /// Every signal sent (pid, signal; 0 for the permission check), in order.
    pub signals: Arc<Mutex<Vec<(u32, i32)>>>,
    /// Every socket destroyed, in order; `destroy_error` fails them all with that errno.
    pub destroyed: Mutex<Vec<Socket>>,
    pub destroy_error: Option<i32>,
}

impl FakeHost {
    /// A host whose table is each of `looks` in turn, then the last one for ever.
    pub fn new(looks: Vec<Vec<Socket>>) -> FakeHost {
        let scripted_owners = looks
            .iter()
            .flatten()
            .filter(|s| s.inode != 0 && !s.pids.is_empty())
            .map(|s| (s.inode, s.pids.clone()))
            .collect();
        FakeHost {
            looks: Mutex::new(looks.into()),
            scripted_owners,
            ..FakeHost::default()
        }
    }

    /// How many times the table was read.
    pub fn looks_taken(&self) -> usize {
        *self.taken.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Host for FakeHost {
    fn sockets(&self, query: &Query) -> Result<Table> {
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
        let unix = if query.unix {
            self.unix.clone()
        } else {
            Vec::new()
        };
        let unix = unix
            .into_iter()
            .map(|mut s| {
                if s.peer_inode != 0 && !s.peer_pids.is_empty() {
                    owners.insert(s.peer_inode, std::mem::take(&mut s.peer_pids));
                }
                owners.insert(s.inode, std::mem::take(&mut s.pids));
                s
            })
            .collect();
        Ok(Table {
            sockets,
            unix,
            notes: Vec::new(),
        })
    }

    fn file_id(&self, path: &Path) -> Option<FileId> {
        self.files.get(path).copied()
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
                        Scope::All | Scope::FirstHolder => true,
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

    fn every_owner(&self) -> Option<Owners> {
        let mut by_inode = self.scripted_owners.clone();
        for s in &self.unix {
            by_inode.insert(s.inode, s.pids.clone());
            if s.peer_inode != 0 && !s.peer_pids.is_empty() {
                by_inode.insert(s.peer_inode, s.peer_pids.clone());
            }
        }
        by_inode.retain(|_, pids| !pids.is_empty());
        Some(Owners {
            by_inode,
            unreadable: 0,
        })
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
        *self.trial_rounds.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        let held = self
            .bind_held
            .as_ref()
            .ok_or_else(|| anyhow!("no trial connects in this fake"))?;
        Ok(ports.iter().copied().filter(|p| held.contains(p)).collect())
    }

    fn vitals(&self, pid: u32) -> Option<Vitals> {
        self.vitals.get(&pid).copied()
    }

    fn pin(&self, pid: u32, started: u64) -> std::io::Result<Option<Box<dyn Pinned>>> {
        let same = self.vitals.get(&pid).is_some_and(|v| v.started == started);
        if !same || self.exit_before_pin.contains(&pid) {
            return Ok(None);
        }
        Ok(Some(Box::new(FakePinned {
            pid,
            denied: self.denied.contains(&pid),
            obeys: self.obeying.contains(&pid),
            signals: Arc::clone(&self.signals),
        })))
    }

    fn destroy(&self, socket: &Socket) -> std::io::Result<()> {
        if let Some(errno) = self.destroy_error {
            return Err(std::io::Error::from_raw_os_error(errno));
        }
        let mut destroyed = self.destroyed.lock().unwrap_or_else(|e| e.into_inner());
        destroyed.push(socket.clone());
        Ok(())
    }
}

/// A pinned fixture process: records its signals; an obeying one exits on the first real one.
struct FakePinned {
    pid: u32,
    denied: bool,
    obeys: bool,
    signals: Arc<Mutex<Vec<(u32, i32)>>>,
}

impl Pinned for FakePinned {
    fn signal(&self, signal: i32) -> std::io::Result<()> {
        if self.denied {
            return Err(std::io::Error::from_raw_os_error(libc::EPERM));
        }
        let mut signals = self.signals.lock().unwrap_or_else(|e| e.into_inner());
        signals.push((self.pid, signal));
        Ok(())
    }

    fn wait_exit(&self, _timeout: std::time::Duration) -> bool {
        let signals = self.signals.lock().unwrap_or_else(|e| e.into_inner());
        self.obeys && signals.iter().any(|(pid, s)| *pid == self.pid && *s != 0)
    }
}
