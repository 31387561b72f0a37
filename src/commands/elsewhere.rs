//! Where poll(2) and Unix socket options are missing, the commands built on them say so.

use anyhow::{Result, bail};

use crate::Exit;
use crate::cli::{Command, SampleArgs};
use crate::host::Host;
use crate::render::Style;

const UNIX_ONLY: &str = "this command exists on Linux and other Unix systems only";

pub fn run(_host: &dyn Host, _command: Command, _style: Style) -> Result<Exit> {
    bail!(UNIX_ONLY)
}

pub fn sample(_host: &dyn Host, _args: &SampleArgs, _style: Style) -> Result<Exit> {
    bail!(UNIX_ONLY)
}
