//! Collecting a look at one host: the table, the listeners with their owners (remembered
//! between looks), the port settings, the kernel's counters and the `--probe` targets. A part
//! that cannot be read leaves its metrics out and counts as a scrape error; it never stops
//! the exporter.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::look::{self, ListenCounters, Look, ProbeResult};
use super::{Config, ProbeSpec, Snapshot};
use crate::ephemeral::{self, BindHeld};
use crate::host::Host;
use crate::inventory::Collector;
use crate::model::{PortSettings, Proto, Socket, TcpState};
use crate::probe::model::Status;
use crate::probe::{self, Plan};
use crate::query::{OwnerLookup, Query};

/// How often a look runs the trial connects that find the connections holding their port
/// through bind() (one refused SYN per range port in use, up to 4096): a scrape must stay
/// cheap, so between two rounds the ports found held still count while a connection uses them.
pub const TRIALS_EVERY: Duration = Duration::from_secs(60);

/// Looks at one host again and again, remembering the listeners' owners and the last trial
/// connects.
pub struct Collection<'h> {
    host: &'h dyn Host,
    listeners: Collector<'h>,
    config: Config,
    errors_total: u64,
    attempt: u64,
    trials: Option<(Instant, BindHeld)>,
}

impl<'h> Collection<'h> {
    pub fn new(host: &'h dyn Host, config: Config) -> Collection<'h> {
        Collection {
            host,
            listeners: Collector::new(host),
            config,
            errors_total: 0,
            attempt: 0,
            trials: None,
        }
    }

    /// The ports connections hold through bind(): trial connects at most every
    /// TRIALS_EVERY; in between, the last round's ports that a connection still uses (a client
    /// bound before connect() since then counts from the next round). Listeners and bound-only
    /// sockets come from the table itself, at every look.
    fn bind_held(&mut self, settings: &PortSettings, table: &[Socket]) -> BindHeld {
        match &self.trials {
            Some((at, held)) if at.elapsed() < TRIALS_EVERY => {
                let used = ephemeral::report::connection_ports(settings, table);
                BindHeld {
                    ports: held.ports.intersection(&used).copied().collect(),
                    evidence: held.evidence,
                }
            }
            _ => {
                let held = ephemeral::bind_held(self.host, settings, table);
                self.trials = Some((Instant::now(), held.clone()));
                held
            }
        }
    }

    /// A fresh look, with notes on how it was read and what could not be (a failure counts
    /// as a scrape error; a note such as a fallback to /proc/net does not).
    pub fn snapshot(&mut self) -> Snapshot {
        let started = Instant::now();
        let mut notes = Vec::new();
        let mut failures = Vec::new();
        let look = self.look(&mut notes, &mut failures);
        if !failures.is_empty() {
            self.errors_total += 1;
        }
        notes.append(&mut failures);
        Snapshot {
            look,
            duration: started.elapsed(),
            errors_total: self.errors_total,
            notes,
        }
    }

    fn look(&mut self, notes: &mut Vec<String>, failures: &mut Vec<String>) -> Look {
        let mut look = Look::default();
        let mut failed = |what: &str, e: anyhow::Error| failures.push(format!("{what}: {e:#}"));
        // The whole table, without owners: only the listeners' owners are labels.
        match self.host.sockets(&Query::everything().without_owners()) {
            Ok(table) => {
                notes.extend(table.notes);
                let table = table.sockets;
                look.sockets = look::socket_counts(&table);
                let listening = Query {
                    owners: OwnerLookup::First,
                    ..Query::everything().states(&[TcpState::Listen, TcpState::Unconn])
                };
                match self.listeners.collect(&listening) {
                    Ok(inv) => {
                        look.owners_visible = inv.unreadable_processes == 0;
                        look.listeners = look::listeners(&inv, &table, self.config.limits.max_ports);
                    }
                    Err(e) => failed("reading the listeners", e),
                }
                match self.host.port_settings() {
                    Ok(settings) => {
                        let held = self.bind_held(&settings, &table);
                        let top = self.config.limits.top;
                        look.ephemeral = Some(look::ephemeral(&settings, &table, &held, top));
                    }
                    Err(e) => failed("reading the ephemeral port settings", e),
                }
            }
            Err(e) => failed("reading the socket table", e),
        }
        match self.host.counters().and_then(|c| {
            ListenCounters::from_kernel(&c).context("no TcpExt ListenOverflows/ListenDrops")
        }) {
            Ok(counters) => look.listen_counters = Some(counters),
            Err(e) => failed("reading the kernel's TCP counters", e),
        }
        if !self.config.probes.is_empty() {
            self.attempt += 1;
            match probes(&self.config.probes, self.config.probe_timeout, self.attempt) {
                Ok(results) => look.probes = results,
                Err(e) => failed("probing", e),
            }
        }
        look
    }
}

/// Every `--probe` target in one round, in parallel: success when any address is open.
fn probes(specs: &[ProbeSpec], timeout: Duration, attempt: u64) -> Result<Vec<ProbeResult>> {
    let mut targets = Vec::new();
    let mut owner = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        for addr in &spec.addrs {
            targets.extend(probe::targets(
                &spec.label,
                &[*addr],
                &[addr.port()],
                Proto::Tcp,
            ));
            owner.push(i);
        }
    }
    let plan = Plan {
        timeout,
        parallel: targets.len().max(1),
        payload: &|_| Vec::new(),
        rate: None,
    };
    let outcomes = probe::round(&targets, attempt, &plan, &|| {}).context("probe round")?;
    let mut results: Vec<ProbeResult> = specs
        .iter()
        .map(|spec| ProbeResult {
            target: spec.label.clone(),
            success: false,
            duration: timeout,
        })
        .collect();
    for outcome in &outcomes {
        let result = &mut results[owner[outcome.target]];
        let took = outcome.rtt.unwrap_or(timeout);
        if outcome.status == Status::Open {
            // The fastest open address is the answer.
            if !result.success || took < result.duration {
                result.duration = took;
            }
            result.success = true;
        } else if !result.success {
            result.duration = result.duration.min(took);
        }
    }
    Ok(results)
}
