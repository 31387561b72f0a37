//! `portscope bench`: short vs long connections, measured on loopback.

mod load;

use std::io::Write;

use anyhow::{Result, bail};
use indicatif::ProgressBar;

use crate::cli::BenchArgs;
use crate::exit::Exit;
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::query::{OwnerLookup, Query};
use crate::render::{self, Style};
use crate::terminal::stderr_is_terminal;
pub use load::Measured;

/// A run's measurements plus what it left in the kernel's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub measured: Measured,
    pub time_wait_after: usize,
}

pub fn run(args: &BenchArgs, style: Style) -> Result<Exit> {
    crate::interrupt::install();
    let server = load::Server::start(args.size, args.concurrency.max(1) + 1)?;
    refuse_if_exhausting(args.requests, server.addr.port())?;
    let bar = stderr_is_terminal().then(|| ProgressBar::new(2 * args.requests as u64));
    let tick = || {
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    };
    // TIME_WAIT left behind by a run: the count after it less the count before it.
    let run = |short| -> Result<Outcome> {
        let before = time_wait_towards(server.addr.port())?;
        let measured = load::run(
            server.addr,
            args.requests,
            args.size,
            args.concurrency,
            short,
            &tick,
        )?;
        let after = time_wait_towards(server.addr.port())?;
        Ok(Outcome {
            measured,
            time_wait_after: after.saturating_sub(before),
        })
    };
    let result = run(true).and_then(|short| Ok((short, run(false)?)));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    server.stop();
    if crate::interrupt::interrupted() {
        return Ok(Exit::Interrupted);
    }
    let (short, long) = result?;
    let mut out = crate::commands::stdout();
    if args.json {
        render::bench::json(&mut out, &short, &long)?;
    } else {
        render::bench::text(&mut out, args, &short, &long, &style)?;
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// TIME_WAIT sockets of connections to the bench server, once the count stops moving (the
/// last closes of a run finish a little after its last request).
fn time_wait_towards(port: u16) -> Result<usize> {
    let mut last = count_time_wait(port)?;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = count_time_wait(port)?;
        if now == last {
            break;
        }
        last = now;
    }
    Ok(last)
}

fn count_time_wait(port: u16) -> Result<usize> {
    let query = Query {
        protos: vec![Proto::Tcp],
        states: crate::query::StateSet::of(&[TcpState::TimeWait]),
        remote_port: Some(port),
        owners: OwnerLookup::Skip,
        ..Query::everything()
    };
    Ok(inventory::collect(&query)?.sockets.len())
}

/// Each short request takes a port towards the server for the 60 s of TIME_WAIT; a run that
/// needs more than the range can give would fail half-way with EADDRNOTAVAIL.
fn refuse_if_exhausting(requests: usize, port: u16) -> Result<()> {
    let Some(settings) = inventory::port_settings() else {
        return Ok(());
    };
    let query = Query {
        protos: vec![Proto::Tcp],
        owners: OwnerLookup::Skip,
        ..Query::everything()
    };
    let inv = inventory::collect(&query)?;
    let report = crate::ephemeral::report::build(&settings, &inv.sockets);
    let busy = report
        .destinations
        .iter()
        .find(|d| d.remote_port == port)
        .map_or(0, |d| d.used);
    let available = report.capacity().saturating_sub(busy);
    if requests > available {
        bail!(
            "refusing: the short run opens {requests} connections to 127.0.0.1:{port}, one \
             ephemeral port each, and every closed one keeps its port in TIME_WAIT for 60 s; this \
             host's range {}–{} leaves {available} for that destination. Use --requests \
             {available} or less, or widen net.ipv4.ip_local_port_range",
            settings.range.0,
            settings.range.1
        );
    }
    Ok(())
}
