//! `portscope why-bind [ADDR:]PORT`: would a bind succeed, and if not, why.

use std::io::Write;

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::WhyBindArgs;
use crate::ephemeral::why_bind;
use crate::host::Host;
use crate::model::Proto;
use crate::render;

pub fn run(host: &dyn Host, args: &WhyBindArgs) -> Result<Exit> {
    let families = if args.ipv6 {
        Families::V6
    } else {
        Families::Any
    };
    let want = addr::local(&args.addr, args.port.as_deref(), families)?;
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let (findings, inv) = why_bind::examine(host, want, proto)?;
    let mut out = output::stdout();
    if args.json {
        render::why_bind::json(&mut out, &findings, &inv)?;
    } else {
        render::why_bind::text(&mut out, &findings, &inv)?;
    }
    out.flush()?;
    output::report_gaps(&inv);
    Ok(Exit::found(findings.trial.plain.is_none()))
}
