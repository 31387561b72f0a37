//! Shell completions and the man page, generated from the clap definition in cli.rs.

use std::io::Write;

use std::path::Path;

use anyhow::{Context, Result};
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

/// The main page on stdout; with a folder, every page (the main one refers to
/// `portscope-ls(1)` and the others), each file's name printed as it is written.
pub fn man_pages(dir: Option<&Path>) -> Result<Exit> {
    let mut out = stdout();
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let Some(dir) = dir else {
        clap_mangen::Man::new(cli).render(&mut out)?;
        out.flush()?;
        return Ok(Exit::Success);
    };
    let shown = || crate::text::escaped(&dir.display().to_string());
    std::fs::create_dir_all(dir).with_context(|| format!("making {}", shown()))?;
    // Breadth first: the main page, then each command's, then theirs.
    let mut pages = std::collections::VecDeque::from([cli]);
    while let Some(cmd) = pages.pop_front() {
        pages.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let path = clap_mangen::Man::new(cmd)
            .generate_to(dir)
            .with_context(|| format!("writing a man page into {}", shown()))?;
        writeln!(out, "{}", crate::text::escaped(&path.display().to_string()))?;
    }
    out.flush()?;
    Ok(Exit::Success)
}
