//! One file per command: resolve the query, collect, render, choose the exit code.

pub mod generate;
pub mod ls;
pub mod who;

use std::io::{BufWriter, Write};

use crate::model::Inventory;

/// Buffered stdout; every command flushes it before returning so a closed pipe is noticed.
pub fn stdout() -> BufWriter<std::io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, std::io::stdout().lock())
}

/// Notes about how the table was read, and the one hint about hidden owners, on stderr.
pub fn report_gaps(inv: &Inventory) {
    for note in &inv.notes {
        eprintln!("portscope: note: {note}");
    }
    let hidden = inv.hidden_owner_count();
    if hidden > 0 && inv.unreadable_processes > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "portscope: hint: the owners of {hidden} socket(s) are other users' processes and are \
             hidden (shown as -); run as root (sudo portscope …) to see them"
        );
    }
}

/// `portscope probe`: connect()-level probing, on Unix (it is built on poll(2)).
#[cfg(unix)]
pub fn probe(args: &crate::cli::ProbeArgs) -> anyhow::Result<crate::Exit> {
    crate::probe::run(args)
}

#[cfg(not(unix))]
pub fn probe(_args: &crate::cli::ProbeArgs) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("probe exists on Linux and other Unix systems only")
}

#[cfg(unix)]
pub fn why_bind(args: &crate::cli::WhyBindArgs) -> anyhow::Result<crate::Exit> {
    crate::ephemeral::why_bind(args)
}

#[cfg(not(unix))]
pub fn why_bind(_args: &crate::cli::WhyBindArgs) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("why-bind exists on Unix systems only")
}

#[cfg(unix)]
pub fn lifecycle(
    args: &crate::cli::LifecycleArgs,
    style: crate::render::Style,
) -> anyhow::Result<crate::Exit> {
    crate::lifecycle::run(args, style)
}

#[cfg(not(unix))]
pub fn lifecycle(
    _args: &crate::cli::LifecycleArgs,
    _style: crate::render::Style,
) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("lifecycle exists on Unix systems only")
}

#[cfg(unix)]
pub fn bench(
    args: &crate::cli::BenchArgs,
    style: crate::render::Style,
) -> anyhow::Result<crate::Exit> {
    crate::bench::run(args, style)
}

#[cfg(not(unix))]
pub fn bench(
    _args: &crate::cli::BenchArgs,
    _style: crate::render::Style,
) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("bench exists on Unix systems only")
}

#[cfg(unix)]
pub fn wait(args: &crate::cli::WaitArgs) -> anyhow::Result<crate::Exit> {
    crate::wait::run(args)
}

#[cfg(not(unix))]
pub fn wait(_args: &crate::cli::WaitArgs) -> anyhow::Result<crate::Exit> {
    anyhow::bail!("wait exists on Unix systems only")
}
