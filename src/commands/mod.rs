//! One file per command: turn its flags into a config or query, run the capability on the
//! host, render, choose the exit code. Nothing below this folder knows about clap.

mod doctor;
mod ephemeral;
mod filters;
mod generate;
mod ls;
mod namespaces;
pub mod output;
mod stats;
mod watch;
mod watch_screen;
mod who;
unix_only! {
    mod bench;
    mod events;
    mod exporter;
    mod kill;
    mod lifecycle;
    mod probe;
    mod sample;
    mod tcp;
    mod transfer;
    mod udp;
    mod unix;
    mod wait;
    mod why_bind;
}
#[cfg(not(unix))]
#[path = "elsewhere.rs"]
mod unix;

use anyhow::Result;

use crate::Exit;
use crate::cli::{Cli, Command};
use crate::host::Host;

/// Runs the command the user asked for against `host`.
pub fn run(cli: Cli, host: &dyn Host) -> Result<Exit> {
    let style = output::style(cli.color);
    namespaces::enter(&cli)?;
    match cli.command {
        None => ls::run(host, &cli.ls, style),
        Some(Command::Ls(args)) => ls::run(host, &args, style),
        Some(Command::Who(args)) => who::run(host, &args, style),
        Some(Command::Ephemeral(args)) => ephemeral::run(host, &args, style),
        Some(Command::Watch(args)) => watch::run(host, &args, style),
        Some(Command::Stats(args)) => stats::run(host, &args, style),
        Some(Command::Doctor(args)) => doctor::run(host, &args, style),
        Some(Command::Completions { shell }) => generate::completions(shell),
        Some(Command::Man { dir }) => generate::man_pages(dir.as_deref()),
        Some(unix_only) => unix::run(host, unix_only, style),
    }
}
