//! Shell completions and the man page, generated from the clap definition in cli.rs.

use std::io::Write;

use anyhow::Result;
use clap::CommandFactory;

use super::output::stdout;
use crate::Exit;
use crate::cli::Cli;

pub fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    let mut out = stdout();
    clap_complete::generate(shell, &mut Cli::command(), "portscope", &mut out);
    out.flush()?;
    Ok(Exit::Success)
}

pub fn man_page() -> Result<Exit> {
    let mut out = stdout();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    out.flush()?;
    Ok(Exit::Success)
}
