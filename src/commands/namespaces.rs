//! `--netns` and `--all-netns`: which network namespace a command runs in, or every one of
//! them read together; and placing what was read (namespace names, containers).

use anyhow::Result;

use crate::cli::{Cli, Command, NetnsArgs};
use crate::host::namespaces::{self, Discovery};
use crate::host::{Across, Host};
use crate::model::Inventory;
use crate::text::count;

/// The `--netns` the command was given, if any.
fn requested(cli: &Cli) -> Option<&NetnsArgs> {
    Some(match &cli.command {
        None => &cli.ls.namespaces.one,
        Some(Command::Ls(a)) => &a.namespaces.one,
        Some(Command::Who(a)) => &a.namespaces.one,
        Some(Command::Watch(a)) => &a.namespaces.one,
        Some(Command::Wait(a)) => &a.namespace,
        Some(Command::Ephemeral(a)) => &a.namespace,
        Some(Command::WhyBind(a)) => &a.namespace,
        Some(Command::Kill(a)) => &a.namespace,
        _ => return None,
    })
}

/// Moves this (the main) thread into the namespace `--netns` names, before the command
/// starts any thread: then everything it does, reading the table and /proc/sys/net, a trial
/// bind, a connect, happens there. Owners stay host-wide (/proc is the host's).
pub fn enter(cli: &Cli) -> Result<()> {
    if let Some(spec) = requested(cli).and_then(|a| a.netns.as_deref()) {
        namespaces::enter(&namespaces::resolve(spec)?)?;
    }
    Ok(())
}

/// Every network namespace of the host, entered, as one host.
pub struct Everywhere<'h> {
    pub host: Across<'h>,
    found: Discovery,
}

impl<'h> Everywhere<'h> {
    pub fn enter(local: &'h dyn Host) -> Everywhere<'h> {
        let found = namespaces::discover();
        let host = Across::enter(local, &found);
        let everywhere = Everywhere { host, found };
        super::output::notes(&everywhere.gaps());
        everywhere
    }

    /// What could not be read, said once: never an error, the exit status stays.
    fn gaps(&self) -> Vec<String> {
        let mut notes = Vec::new();
        let are = |n: usize| if n == 1 { "is" } else { "are" };
        let unentered = self.host.unentered;
        if unentered > 0 {
            notes.push(format!(
                "{} could not be entered and {} not listed (entering needs CAP_SYS_ADMIN: run \
                 as root)",
                count(unentered, "network namespace"),
                are(unentered),
            ));
        }
        let unseen = self.found.unseen;
        if unseen.processes > 0 {
            notes.push(format!(
                "{} whose namespace link cannot be read (permission denied) {} in {} not \
                 among those listed",
                count(unseen.processes, "process"),
                are(unseen.processes),
                count(unseen.namespaces, "network namespace"),
            ));
        }
        notes
    }
}

/// Names each socket's namespace and container: across every namespace with what
/// `everywhere` found, else in the one namespace read.
pub fn place(inv: &mut Inventory, everywhere: Option<&Everywhere>) {
    let own = namespaces::own_inode().unwrap_or(0);
    match everywhere {
        Some(all) => {
            crate::inventory::place(inv, own, &all.found.namespaces);
            inv.places.across = true;
        }
        None => crate::inventory::place(inv, own, &namespaces::bound()),
    }
}
