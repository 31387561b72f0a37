//! `portscope doctor [PORT|--pid N]`: two looks, verdicts, exit 1 on a warning or worse.

use std::io::Write;
use std::time::Duration;

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::cli::DoctorArgs;
use crate::doctor::{self, Config};
use crate::host::Host;
use crate::interrupt;
use crate::ports::parse_port;
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &DoctorArgs, style: Style) -> Result<Exit> {
    interrupt::install();
    let config = Config {
        port: args.port.as_deref().map(parse_port).transpose()?,
        pid: args.pid,
        interval: Duration::from_secs_f64(args.interval),
    };
    let secs = args.interval;
    let mut between = || {
        if !output::stderr_is_terminal() {
            output::diagnostic(&format!("first look done; looking again in {secs:.1} s"));
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
