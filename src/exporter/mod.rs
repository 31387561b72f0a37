//! `portscope exporter`: the socket table as Prometheus metrics, over HTTP (`/metrics`) or in
//! a file for node_exporter's textfile collector.
//!
//! One collector thread looks at the host (`collect`) and publishes each look encoded
//! (`latest`); a fixed set of HTTP workers (`http`) hands the latest look to scrapers whose
//! request heads the accepting thread has read (`heads`). Slow or silent clients hold a small
//! buffer until the client timeout, never a worker nor the collector; many clients wait in the
//! kernel's accept queue, not in memory. Collection is per host, so that
//! several hosts (network namespaces) can be looked at later, each with its own `Collection`.

mod collect;
mod heads;
mod http;
mod latest;
pub mod look;
mod request;
mod textfile;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

pub use collect::Collection;
pub use http::Server;
pub use textfile::{check as check_textfile, write as write_textfile};

use crate::host::Host;
use crate::interrupt::interrupted;
use latest::{Latest, Published};
use look::{Limits, Look};

/// What is collected.
#[derive(Debug, Clone)]
pub struct Config {
    pub limits: Limits,
    pub probes: Vec<ProbeSpec>,
    pub probe_timeout: Duration,
}

/// A `--probe HOST:PORT`: its label as typed, and its resolved addresses.
#[derive(Debug, Clone)]
pub struct ProbeSpec {
    pub label: String,
    pub addrs: Vec<SocketAddr>,
}

/// One collection: the look, what it cost, and what went wrong.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub look: Look,
    pub duration: Duration,
    /// Collections so far that could not read everything.
    pub errors_total: u64,
    /// What could not be read this time, for stderr.
    pub notes: Vec<String>,
}

/// The exposition formats a scraper may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Prometheus text format 0.0.4, the default.
    Prometheus,
    /// OpenMetrics 1.0 text, when the Accept header asks for it (Prometheus itself does).
    OpenMetrics,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// What the caller provides: the encoding of a snapshot, and where its notes go.
pub trait Outlet: Sync {
    fn encode(&self, snapshot: &Snapshot, format: Format) -> String;
    fn notes(&self, notes: &[String]);
}

/// How the exporter runs once started.
#[derive(Debug, Clone)]
pub struct Serving {
    /// Look every interval and serve the last look; None: look at every scrape.
    pub interval: Option<Duration>,
    pub textfile: Option<PathBuf>,
    /// A client must send its request, and take the answer, within this time.
    pub client_timeout: Duration,
    /// Scrapes answered at once; the others wait their turn.
    pub max_clients: usize,
}

/// Runs until SIGINT or SIGTERM: the collector, and the HTTP server when there is one.
pub fn run(
    host: &dyn Host,
    config: Config,
    server: Option<&Server>,
    serving: &Serving,
    outlet: &dyn Outlet,
) -> Result<()> {
    let latest = Latest::default();
    let mut collection = Collection::new(host, config);
    std::thread::scope(|scope| {
        let collector = std::thread::Builder::new()
            .name("collector".into())
            .spawn_scoped(scope, || {
                collect_loop(&mut collection, serving, outlet, &latest);
            })?;
        let served = match server {
            Some(server) => server.serve(serving, &latest),
            None => {
                while !interrupted() && !collector.is_finished() {
                    latest.pause(Duration::from_millis(100));
                }
                Ok(())
            }
        };
        latest.stop();
        served.map_err(anyhow::Error::from)
    })
}

/// Looks when a scrape wants one (or every interval), encodes, writes the textfile, publishes.
fn collect_loop(
    collection: &mut Collection,
    serving: &Serving,
    outlet: &dyn Outlet,
    latest: &Latest,
) {
    let mut next = Instant::now();
    while !latest.stopped() && !interrupted() {
        match serving.interval {
            Some(every) => {
                let now = Instant::now();
                if now < next {
                    latest.pause((next - now).min(Duration::from_millis(100)));
                    continue;
                }
                next = now + every;
            }
            None => {
                if !latest.wait_for_demand(Duration::from_millis(100)) {
                    continue;
                }
            }
        }
        let started = Instant::now();
        let snapshot = collection.snapshot();
        if interrupted() {
            // A signal cut the look short (the probes see it): not a look to publish or write.
            break;
        }
        outlet.notes(&snapshot.notes);
        let published = Published {
            started,
            prometheus: outlet.encode(&snapshot, Format::Prometheus).into_bytes(),
            openmetrics: outlet.encode(&snapshot, Format::OpenMetrics).into_bytes(),
        };
        if let Some(path) = &serving.textfile {
            if let Err(e) = textfile::write(path, &published.prometheus) {
                outlet.notes(&[format!("{e:#}")]);
            }
        }
        latest.publish(published);
    }
}
