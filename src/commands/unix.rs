//! The commands that exist on Unix systems only.

use anyhow::{Result, bail};

use super::{bench, exporter, kill, lifecycle, probe, sample, tcp, udp, wait, why_bind};
use crate::Exit;
use crate::cli::{Command, SampleArgs};
use crate::host::Host;
use crate::render::Style;

pub fn run(host: &dyn Host, command: Command, style: Style) -> Result<Exit> {
    match command {
        Command::Probe(args) => probe::run(&args),
        Command::WhyBind(args) => why_bind::run(host, &args),
        Command::Lifecycle(args) => lifecycle::run(host, &args, style),
        Command::Bench(args) => bench::run(host, &args, style),
        Command::Wait(args) => wait::run(host, &args),
        Command::Exporter(args) => exporter::run(host, &args),
        Command::Kill(args) => kill::run(host, &args),
        Command::Tcp(command) => tcp::run(host, &command),
        Command::Udp(command) => udp::run(host, &command),
        // `commands::run` handles the others before it comes here.
        _ => bail!("not a Unix-only command"),
    }
}

pub fn sample(host: &dyn Host, args: &SampleArgs, style: Style) -> Result<Exit> {
    sample::run(host, args, style)
}
