//! Short vs long connections, measured on loopback: latency, ports used, TIME_WAIT left.

mod load;

use anyhow::{Result, bail};

use crate::host::Host;
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::query::Query;
pub use load::Measured;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Bench {
    pub requests: usize,
    /// Bytes in each request and each response.
    pub size: usize,
    /// Clients at once.
    pub concurrency: usize,
}

/// A run's measurements plus what it left in the kernel's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub measured: Measured,
    pub time_wait_after: usize,
}

/// The short run, then the long one; None when Ctrl-C stopped them. `tick` hears every
/// request; `notes` how the table was read, when it was not the usual way.
pub fn run(
    host: &dyn Host,
    bench: &Bench,
    tick: &(dyn Fn() + Sync),
    notes: &mut Vec<String>,
) -> Result<Option<(Outcome, Outcome)>> {
    check_memory(bench)?;
    let server = load::Server::start(bench.size, bench.concurrency.max(1) + 1)?;
    refuse_if_exhausting(host, bench.requests, server.addr.port(), notes)?;
    // TIME_WAIT left behind by a run: the count after it less the count before it.
    let mut run = |short| -> Result<Outcome> {
        let before = time_wait_towards(host, server.addr.port(), notes)?;
        let measured = load::run(server.addr, bench, short, tick)?;
        let after = time_wait_towards(host, server.addr.port(), notes)?;
        Ok(Outcome {
            measured,
            time_wait_after: after.saturating_sub(before),
        })
    };
    let result = run(true).and_then(|short| Ok((short, run(false)?)));
    server.stop();
    if crate::interrupt::interrupted() {
        return Ok(None);
    }
    result.map(Some)
}

/// Each client and server thread holds a request and a response of `size` bytes: asked for
/// up front, so that a size the process cannot hold is one clear error, not an abort.
fn check_memory(bench: &Bench) -> Result<()> {
    let threads = 2 * bench.concurrency.max(1) + 1;
    let needed = bench.size.saturating_mul(2).saturating_mul(threads);
    // Reserved, not touched: only whether the address space is there.
    if Vec::<u8>::new().try_reserve_exact(needed).is_err() {
        bail!(
            "--size {} with --concurrency {} needs {} MiB of buffers, more than this process may \
             allocate (see ulimit -v); use a smaller --size or --concurrency",
            bench.size,
            bench.concurrency,
            needed >> 20
        );
    }
    Ok(())
}

/// TIME_WAIT sockets of connections to the bench server, once the count stops moving (the
/// last closes of a run finish a little after its last request).
fn time_wait_towards(host: &dyn Host, port: u16, notes: &mut Vec<String>) -> Result<usize> {
    let mut last = count_time_wait(host, port, notes)?;
    for _ in 0..50 {
        if crate::interrupt::sleep(std::time::Duration::from_millis(20)) {
            break;
        }
        let now = count_time_wait(host, port, notes)?;
        if now == last {
            break;
        }
        last = now;
    }
    Ok(last)
}

fn count_time_wait(host: &dyn Host, port: u16, notes: &mut Vec<String>) -> Result<usize> {
    let query = Query::everything()
        .protos(&[Proto::Tcp])
        .states(&[TcpState::TimeWait])
        .remote_port(port)
        .without_owners();
    let inv = inventory::collect(host, &query)?;
    keep_notes(notes, inv.notes);
    Ok(inv.sockets.len())
}

/// Each short request takes a port towards the server for the 60 s of TIME_WAIT; a run that
/// needs more than the range can give would fail half-way with EADDRNOTAVAIL.
fn refuse_if_exhausting(
    host: &dyn Host,
    requests: usize,
    port: u16,
    notes: &mut Vec<String>,
) -> Result<()> {
    let Ok(settings) = host.port_settings() else {
        return Ok(());
    };
    let query = Query::everything().protos(&[Proto::Tcp]).without_owners();
    let inv = inventory::collect(host, &query)?;
    let report = crate::ephemeral::report(host, &settings, &inv.sockets);
    keep_notes(notes, inv.notes);
    let available = report
        .destinations
        .iter()
        .find(|d| d.remote_port == port)
        .map_or(report.capacity(), |d| d.free());
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

fn keep_notes(notes: &mut Vec<String>, new: Vec<String>) {
    for note in new {
        if !notes.contains(&note) {
            notes.push(note);
        }
    }
}
