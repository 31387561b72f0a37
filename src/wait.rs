//! `portscope wait PORT`: block until a port is listening (here, or on --host), or free.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};

use crate::cli::WaitArgs;
use crate::endpoint::addr::{self, Families};
use crate::exit::{Exit, NotThere};
use crate::interrupt::{install, interrupted};
use crate::inventory;
use crate::model::{Proto, TcpState};
use crate::ports::parse_port;
use crate::query::{OwnerLookup, Query, StateSet};
use crate::terminal::stderr_is_terminal;

/// Between looks at the local table (one kernel-filtered sock_diag query, no connection).
const LOCAL_EVERY: Duration = Duration::from_millis(100);
/// Between connection attempts to a remote host.
const REMOTE_EVERY: Duration = Duration::from_millis(500);

pub fn run(args: &WaitArgs) -> Result<Exit> {
    let port = parse_port(&args.port)?;
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let addrs = args
        .host
        .as_deref()
        .map(|h| addr::resolve(h, Families::Any))
        .transpose()?;
    let what = match (&args.host, args.free) {
        (Some(host), _) => format!("{host}:{port}/tcp to accept connections"),
        (None, true) => format!("port {port}/{} to be free", proto.name()),
        (None, false) if args.udp => format!("something to bind port {port}/udp"),
        (None, false) => format!("something to listen on port {port}/tcp"),
    };
    install();
    let started = Instant::now();
    let deadline = (args.timeout > 0.0).then(|| started + Duration::from_secs_f64(args.timeout));
    let show = stderr_is_terminal();
    loop {
        let met = match (&args.host, &addrs) {
            (Some(host), Some(addrs)) => {
                let left = deadline.map_or(Duration::from_secs(1), |d| {
                    d.saturating_duration_since(Instant::now())
                });
                crate::probe::tcp_open(
                    host,
                    addrs,
                    port,
                    left.clamp(Duration::from_millis(50), Duration::from_secs(1)),
                )?
            }
            _ => local(port, proto, args.free)?,
        };
        if met {
            clear(show);
            return Ok(Exit::Success);
        }
        if interrupted() {
            clear(show);
            return Ok(Exit::Interrupted);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            clear(show);
            return Err(anyhow!(NotThere(format!(
                "gave up after {:.1} s waiting for {what}",
                started.elapsed().as_secs_f64()
            ))));
        }
        if show {
            eprint!(
                "\rwaiting for {what}… {:.1} s ",
                started.elapsed().as_secs_f64()
            );
            let _ = std::io::stderr().flush();
        }
        let pause = if args.host.is_some() {
            REMOTE_EVERY
        } else {
            LOCAL_EVERY
        };
        let until = Instant::now() + pause;
        while Instant::now() < until && !interrupted() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn clear(shown: bool) {
    if shown {
        eprint!("\r\x1b[K");
    }
}

/// Listening (TCP LISTEN, or any bound UDP socket) on the port — or, with `free`, nothing but
/// TIME_WAIT left on it.
fn local(port: u16, proto: Proto, free: bool) -> Result<bool> {
    let states = match (proto, free) {
        (_, true) => StateSet::ALL,
        (Proto::Tcp, false) => StateSet::of(&[TcpState::Listen]),
        (Proto::Udp, false) => StateSet::of(&[TcpState::Unconn, TcpState::Established]),
    };
    let query = Query {
        protos: vec![proto],
        states,
        local_port: Some(port),
        owners: OwnerLookup::Skip,
        ..Query::everything()
    };
    let sockets = inventory::collect(&query)?.sockets;
    let live = sockets
        .iter()
        .filter(|s| s.state != TcpState::TimeWait)
        .count();
    Ok(if free { live == 0 } else { live > 0 })
}
