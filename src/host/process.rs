//! Process names, command lines and user names, for the pids that own listed sockets only.

use std::collections::HashMap;

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};

use super::users::{lookup_user, process_uid};
use crate::model::Process;

/// Describes these processes. A pid that exited meanwhile is simply absent.
pub fn describe(pids: &[u32]) -> HashMap<u32, Process> {
    if pids.is_empty() {
        return HashMap::new();
    }
    let Ok(mut system) = System::new() else {
        return HashMap::new();
    };
    let wanted: Vec<Pid> = pids.iter().map(|p| Pid::from_u32(*p)).collect();
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&wanted),
        true,
        ProcessRefreshKind::nothing()
            .with_cmd(UpdateKind::Always)
            .with_user(UpdateKind::Always)
            .without_tasks(),
    );
    let mut users = UserNames::default();
    wanted
        .iter()
        .filter_map(|pid| system.process(*pid))
        .map(|p| {
            let cmdline = p
                .cmd()
                .iter()
                .map(|arg| arg.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ");
            let uid = process_uid(p);
            let process = Process {
                pid: p.pid().as_u32(),
                name: p.name().to_string_lossy().into_owned(),
                user: uid.and_then(|uid| users.name(uid)),
                cmdline,
            };
            (process.pid, process)
        })
        .collect()
}

/// uid -> user name through getpwuid_r (so LDAP/sssd users resolve too), cached.
#[derive(Default)]
struct UserNames(HashMap<u32, Option<String>>);

impl UserNames {
    fn name(&mut self, uid: u32) -> Option<String> {
        self.0
            .entry(uid)
            .or_insert_with(|| lookup_user(uid))
            .clone()
    }
}
