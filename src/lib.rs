//! portscope: ports and sockets on one host.
//!
//! Data flows one way: `cli` → `query` → `inventory` (collect) → `model` → `render`.

#[cfg(unix)]
pub mod bench;
pub mod cli;
mod commands;
pub mod endpoint;
pub mod ephemeral;
pub mod exit;
#[cfg(unix)]
pub mod fdlimit;
pub mod interrupt;
pub mod inventory;
#[cfg(unix)]
pub mod lifecycle;
pub mod model;
pub mod ports;
pub mod probe;
pub mod process;
pub mod query;
pub mod render;
pub mod terminal;
#[cfg(unix)]
pub mod wait;
pub mod watch;

use anyhow::Result;

use cli::{Cli, Command};
pub use exit::Exit;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<Exit> {
    let style = terminal::Style::decide(cli.color);
    match cli.command {
        None => commands::ls::run(&cli.ls, style),
        Some(Command::Ls(args)) => commands::ls::run(&args, style),
        Some(Command::Who(args)) => commands::who::run(&args, style),
        Some(Command::Ephemeral(args)) => ephemeral::run(&args, style),
        Some(Command::Watch(args)) => watch::run(&args, style),
        Some(Command::Completions { shell }) => commands::generate::completions(shell),
        Some(Command::Man) => commands::generate::man_page(),
        // Built on poll(2) and Unix socket options.
        #[cfg(unix)]
        Some(Command::Probe(args)) => probe::run(&args),
        #[cfg(unix)]
        Some(Command::WhyBind(args)) => ephemeral::why_bind(&args),
        #[cfg(unix)]
        Some(Command::Lifecycle(args)) => lifecycle::run(&args, style),
        #[cfg(unix)]
        Some(Command::Bench(args)) => bench::run(&args, style),
        #[cfg(unix)]
        Some(Command::Wait(args)) => wait::run(&args),
        #[cfg(unix)]
        Some(Command::Tcp(command)) => endpoint::run_tcp(&command),
        #[cfg(unix)]
        Some(Command::Udp(command)) => endpoint::run_udp(&command),
        #[cfg(not(unix))]
        Some(_) => anyhow::bail!("this command exists on Linux and other Unix systems only"),
    }
}

/// Whether an error is only stdout going away (`portscope | head`), which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
