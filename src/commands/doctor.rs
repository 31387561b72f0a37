//! `portscope doctor [PORT|--pid N]`: two looks, verdicts, exit 1 on a warning or worse.

use std::io::Write;

use anyhow::Result;

use super::{filters, output};
use crate::Exit;
use crate::cli::{DoctorArgs, duration};
use crate::doctor::{self, Config};
use crate::host::Host;
use crate::interrupt;
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &DoctorArgs, style: Style) -> Result<Exit> {
    interrupt::install();
    let config = Config {
        port: (args.port.as_deref())
            .map(|ports| filters::ports(ports, "PORT"))
            .transpose()?,
        pid: args.pid,
        interval: args.interval,
    };
    let again = duration::show(args.interval);
    let mut between = || {
        if !output::stderr_is_terminal() {
            output::diagnostic(&format!("first look done; looking again in {again}"));
        }
    };
    let Some(diagnosis) = doctor::examine(host, &config, &mut between)? else {
        return Ok(Exit::Interrupted);
    };
    let mut out = output::stdout();
    if args.json {
        render::doctor::json(&mut out, &diagnosis)?;
    } else {
        render::doctor::text(&mut out, &diagnosis, &style)?;
    }
    out.flush()?;
    output::notes(&diagnosis.notes);
    output::report_gaps(&diagnosis.inventory);
    Ok(if diagnosis.troubled() {
        Exit::NoMatch
    } else {
        Exit::Success
    })
}
