//! `portscope doctor`: verdicts on what the table, tcp_info and the kernel's counters show
//! (full accept queues, CLOSE_WAIT leaks, TIME_WAIT and ephemeral exhaustion, loss, zero
//! windows, buffer limits, memory pressure, SYN floods, UDP drops), each with its evidence and
//! what to do. Two looks a short interval apart, so that counters show what is happening now.

mod connections;
mod kernel;
mod traffic;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::host::{Counters, Host};
use crate::inventory;
use crate::model::{Endpoint, Inventory, PortSettings, Proto, Socket};
use crate::ports::PortSet;
use crate::query::Query;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// A stable name for scripts: `accept-queue-full`, `close-wait`, …
    pub kind: &'static str,
    /// What it is about.
    pub subject: Subject,
    /// Facts, each a short phrase with numbers (no untrusted text).
    pub evidence: Vec<String>,
    pub advice: String,
    /// The processes concerned: the holders, and (for a zero window on this host) the reader.
    pub pids: Vec<u32>,
    pub peer_pids: Vec<u32>,
}

/// What a finding is about (render/doctor.rs writes it).
#[derive(Debug, Clone, PartialEq)]
pub enum Subject {
    /// A socket by its local address: a listener, a UDP socket.
    Socket {
        local: Endpoint,
        iface: Option<String>,
    },
    /// A connection, local → remote.
    Connection {
        local: Endpoint,
        remote: Endpoint,
        iface: Option<String>,
    },
    /// The sockets a process holds; None: sockets no visible process holds.
    Process(Option<u32>),
    /// Connections from a local address to one remote address and port.
    Destination { local: IpAddr, remote: Endpoint },
    /// A local port.
    Port(u16),
    /// A protocol in the whole network namespace (the kernel's counters).
    Protocol(Proto),
}

impl Subject {
    pub fn socket(s: &Socket) -> Subject {
        Subject::Socket {
            local: s.local.clone(),
            iface: s.iface.clone(),
        }
    }

    pub fn connection(s: &Socket) -> Subject {
        Subject::Connection {
            local: s.local.clone(),
            remote: s.remote.clone(),
            iface: s.iface.clone(),
        }
    }
}

/// What to examine.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Sockets whose local or remote port is one of these.
    pub port: Option<PortSet>,
    /// Sockets this process holds.
    pub pid: Option<u32>,
    /// Time between the two looks.
    pub interval: Duration,
}

/// Everything found, with the looks it came from.
#[derive(Debug)]
pub struct Diagnosis {
    pub findings: Vec<Finding>,
    /// The second look's sockets and processes (the findings' pids are described here).
    pub inventory: Inventory,
    pub elapsed: Duration,
    /// What could not be read (counters, port settings), for the user to know.
    pub notes: Vec<String>,
}

impl Diagnosis {
    /// Whether anything deserves action (exit status 1).
    pub fn troubled(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity >= Severity::Warning)
    }
}

/// One look: the sockets with their details, and the counters (read first, at `at`).
pub struct Look {
    pub inventory: Inventory,
    pub counters: Option<Counters>,
    pub at: Instant,
}

/// What the checks compare: two looks, the time between them, the port settings.
pub struct Evidence<'a> {
    pub first: &'a Look,
    pub second: &'a Look,
    pub elapsed: Duration,
    pub settings: Option<&'a PortSettings>,
    /// Range ports connections hold through bind(), as `ephemeral` finds them.
    pub bind_held: &'a crate::ephemeral::BindHeld,
    /// The table ephemeral ports are judged on: every socket, even when a port or pid
    /// narrows the rest (the range is shared by every process and port).
    pub table: &'a [Socket],
    pub filtered: bool,
}

/// Looks twice, `interval` apart (`between` runs after the first look: the READY line), and
/// judges what it saw; None when Ctrl-C or SIGTERM came between the looks.
pub fn examine(
    host: &dyn Host,
    config: &Config,
    between: &mut dyn FnMut(),
) -> Result<Option<Diagnosis>> {
    // No sockets of a process that is not there is no clean bill of health.
    if let Some(pid) = config.pid.filter(|pid| host.processes(&[*pid]).is_empty()) {
        bail!("--pid {pid}: no process {pid} (it has exited, or lives in another PID namespace)");
    }
    let mut query = Query::everything().with_details();
    query.any_port = config.port.clone();
    query.pid = config.pid;
    let mut notes = Vec::new();
    let look = |query: &Query| -> Result<Look> {
        let at = Instant::now();
        let counters = host.counters();
        let inventory = inventory::collect(host, query)?;
        Ok(Look {
            inventory,
            counters: counters.ok(),
            at,
        })
    };
    // The first look gives counters and each socket's earlier tcp_info; owners are named
    // from the second, so the first reads them only when a pid narrows the table.
    let first_query = match config.pid {
        Some(_) => query.clone(),
        None => query.clone().without_owners(),
    };
    let first = look(&first_query)?;
    between();
    if crate::interrupt::sleep(config.interval) {
        return Ok(None);
    }
    let second = look(&query)?;
    let elapsed = second.at - first.at;
    if second.counters.is_none() {
        notes.push("the kernel's counters could not be read: no verdicts from them".to_string());
    }
    let settings = host.port_settings();
    if let Err(e) = &settings {
        notes.push(format!("no ephemeral-port verdicts: {e:#}"));
    }
    let filtered = config.port.is_some() || config.pid.is_some();
    let whole = match filtered {
        true => Some(inventory::collect(
            host,
            &Query::everything().without_owners(),
        )?),
        false => None,
    };
    let table = whole
        .as_ref()
        .unwrap_or(&second.inventory)
        .sockets
        .as_slice();
    let bind_held = match &settings {
        Ok(settings) => crate::ephemeral::bind_held(host, settings, table),
        Err(_) => crate::ephemeral::BindHeld::none(),
    };
    let evidence = Evidence {
        first: &first,
        second: &second,
        elapsed,
        settings: settings.as_ref().ok(),
        bind_held: &bind_held,
        table,
        filtered,
    };
    let mut findings = connections::check(&evidence);
    findings.extend(kernel::check(&evidence));
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    Ok(Some(Diagnosis {
        findings,
        inventory: second.inventory,
        elapsed,
        notes,
    }))
}
