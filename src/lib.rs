//! portscope: ports and sockets on one host.
//!
//! Data flows one way: `cli` → `commands` (flags resolved into a query or a config) →
//! capability (`inventory`, `probe`, `endpoint`, …) reading the `host` → `model` data →
//! `render`.

/// Declares modules that exist on Unix systems only (built on poll(2) and Unix socket
/// options), each under `cfg(unix)`.
macro_rules! unix_only {
    ($($vis:vis mod $name:ident;)*) => {
        $(#[cfg(unix)] $vis mod $name;)*
    };
}

pub mod addr;
pub mod cli;
mod commands;
pub mod doctor;
pub mod ephemeral;
pub mod exit;
pub mod host;
pub mod interrupt;
pub mod inventory;
pub mod model;
pub mod ports;
pub mod query;
pub mod render;
pub mod stats;
pub mod text;
pub mod watch;
pub mod workers;
unix_only! {
    pub mod bench;
    pub mod endpoint;
    pub mod exporter;
    pub mod fdlimit;
    pub mod kill;
    pub mod lifecycle;
    pub mod poll;
    pub mod probe;
    pub mod wait;
}

#[cfg(test)]
mod fixtures;

use anyhow::Result;

use cli::Cli;
pub use exit::Exit;

/// Runs the command the user asked for, on this host.
pub fn run(cli: Cli) -> Result<Exit> {
    let host = host::local();
    let exit = match commands::run(cli, host.as_ref()) {
        // Output nobody drained, given up on at a signal: the signal's status.
        Err(e) if interrupt::stopped(&e) => Exit::Interrupted,
        other => other?,
    };
    // A command stopped by a signal says which: 130 for Ctrl-C, 143 for SIGTERM.
    Ok(match exit {
        Exit::Interrupted if interrupt::terminated() => Exit::Terminated,
        other => other,
    })
}

/// Whether an error is only stdout going away (`portscope | head`), which is not a failure.
/// A broken pipe on a socket is.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    exit::io_error_marked::<commands::output::StdoutClosed>(error)
}
