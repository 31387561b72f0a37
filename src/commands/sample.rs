//! `portscope ephemeral sample`: how this kernel picks ports, measured.

use anyhow::Result;

use super::output;
use crate::Exit;
use crate::addr;
use crate::cli::SampleArgs;
use crate::ephemeral::Method;
use crate::ephemeral::sample::{self, Sample};
use crate::host::Host;
use crate::interrupt;
use crate::render::{self, Style};

pub fn run(host: &dyn Host, args: &SampleArgs, style: Style) -> Result<Exit> {
    let (method, n) = match (args.connect, args.bind, args.udp) {
        (Some(n), _, _) if args.bind_no_port => (Method::BindNoPort, n),
        (Some(n), _, _) => (Method::Connect, n),
        (_, Some(n), _) if args.bind_no_port => (Method::BindNoPort, n),
        (_, Some(n), _) => (Method::Bind, n),
        (_, _, Some(n)) => (Method::Udp, n),
        _ => anyhow::bail!("give one of --connect N, --bind N, --udp N"),
    };
    let own_range = args
        .port_range
        .as_deref()
        .map(addr::port_range)
        .transpose()?;
    interrupt::install();
    let bar = (n > 1000)
        .then(|| output::progress(n, "{bar:40} {pos}/{len} sockets"))
        .flatten();
    let sample = Sample {
        method,
        n,
        own_range,
    };
    let allocation = sample::run(host, &sample, &|| output::tick(&bar))?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let Some(allocation) = allocation else {
        return Ok(Exit::Interrupted);
    };
    let mut out = output::stdout();
    if args.json {
        render::sample::json(&mut out, &allocation)?;
    } else {
        render::sample::text(&mut out, &allocation, &style)?;
    }
    std::io::Write::flush(&mut out)?;
    Ok(Exit::Success)
}
