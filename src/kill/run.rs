//! Signalling a plan's targets: each pinned by pidfd, checked for permission before any is
//! signalled, then the wait for the port to be free (the check `wait --free` makes), and
//! SIGKILL after the timeout when asked.

use std::io;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::signal::Signal;
use super::{Plan, Refusal};
use crate::host::{Host, Pinned};
use crate::model::Proto;
use crate::ports::PortSet;
use crate::wait::{self, Among, Condition, Waited};

/// How to signal and how long to wait.
#[derive(Debug, Clone)]
pub struct Options {
    pub signal: Signal,
    pub timeout: Duration,
    /// SIGKILL the processes still running when the timeout passes, and wait as long again.
    pub escalate: bool,
    /// The ports that must be free at the end, per protocol, of the sockets `among` selects.
    pub ports: Vec<(PortSet, Proto)>,
    pub among: Among,
}

/// What became of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Exited after this signal.
    Exited(Signal),
    /// Signalled (last with this signal) and still running at the end.
    StillRunning(Signal),
    /// Exited, or its pid passed to another process, between the lookup and the signal.
    Gone,
    /// The kernel refused: another user's process.
    PermissionDenied,
    Refused(Refusal),
    /// Not signalled because another holder could not be: the port would have stayed held.
    NotSignalled,
    Failed(String),
}

/// How a run ended.
#[derive(Debug)]
pub struct Finish {
    /// One per target, in the plan's order.
    pub outcomes: Vec<Outcome>,
    /// Whether the ports were free at the end; false when nothing was signalled.
    pub free: bool,
    /// Nothing was signalled: a holder was refused, hidden or out of reach.
    pub blocked: bool,
    pub interrupted: bool,
}

/// What a run tells as it goes.
pub trait Report {
    /// How a look read the table (a fallback, say).
    fn notes(&mut self, notes: &[String]);
    /// Still waiting for `what`, `elapsed` after the signal.
    fn waiting(&mut self, what: &str, elapsed: Duration);
    /// The timeout passed with `running` processes still running: SIGKILL goes to them.
    fn escalating(&mut self, running: usize);
}

/// After the ports are free, how long a signalled process gets to finish exiting.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Signals every target of the plan, or none when one of them cannot be: a holder that is
/// refused, hidden or beyond our permission would keep the port, so signalling the others
/// would only break the service.
pub fn execute(
    host: &dyn Host,
    plan: &Plan,
    options: &Options,
    report: &mut dyn Report,
) -> Result<Finish> {
    let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(plan.targets.len());
    let mut pinned: Vec<Option<Box<dyn Pinned>>> = Vec::with_capacity(plan.targets.len());
    for target in &plan.targets {
        let (outcome, pin) = match (target.refusal, target.vitals) {
            (Some(refusal), _) => (Some(Outcome::Refused(refusal)), None),
            (None, None) => (Some(Outcome::Gone), None),
            (None, Some(v)) => check(host.pin(target.pid, v.started)),
        };
        outcomes.push(outcome);
        pinned.push(pin);
    }
    let blocked = plan.unseen > 0
        || outcomes.iter().flatten().any(|o| {
            matches!(
                o,
                Outcome::Refused(_) | Outcome::PermissionDenied | Outcome::Failed(_)
            )
        });
    if blocked {
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.unwrap_or(Outcome::NotSignalled))
            .collect();
        return Ok(Finish {
            outcomes,
            free: false,
            blocked: true,
            interrupted: false,
        });
    }
    send(&pinned, &mut outcomes, options.signal);
    let mut last = options.signal;
    let mut waited = wait_free(host, options, report)?;
    if waited == Waited::TimedOut && options.escalate {
        let running: Vec<bool> = pinned
            .iter()
            .map(|p| p.as_ref().is_some_and(|p| !p.wait_exit(Duration::ZERO)))
            .collect();
        for (i, p) in pinned.iter_mut().enumerate() {
            if !running[i] {
                // Exited already: its outcome stays with the first signal.
                if outcomes[i].is_none() {
                    outcomes[i] = Some(Outcome::Exited(options.signal));
                }
                *p = None;
            }
        }
        report.escalating(running.iter().filter(|r| **r).count());
        send(&pinned, &mut outcomes, Signal::KILL);
        last = Signal::KILL;
        waited = wait_free(host, options, report)?;
    }
    let grace = Instant::now() + EXIT_GRACE;
    let outcomes = outcomes
        .into_iter()
        .zip(&pinned)
        .map(|(outcome, pin)| match (outcome, pin) {
            (Some(o), _) => o,
            (None, Some(p)) => {
                let left = match waited {
                    Waited::Met => grace.saturating_duration_since(Instant::now()),
                    _ => Duration::ZERO,
                };
                if p.wait_exit(left) {
                    Outcome::Exited(last)
                } else {
                    Outcome::StillRunning(last)
                }
            }
            (None, None) => Outcome::Gone,
        })
        .collect();
    Ok(Finish {
        outcomes,
        free: waited == Waited::Met,
        blocked: false,
        interrupted: waited == Waited::Interrupted,
    })
}

/// A pin and its permission check (signal 0) as an outcome, or the pinned process.
fn check(pin: io::Result<Option<Box<dyn Pinned>>>) -> (Option<Outcome>, Option<Box<dyn Pinned>>) {
    match pin {
        Ok(None) => (Some(Outcome::Gone), None),
        Err(e) => (Some(failed(&e)), None),
        Ok(Some(p)) => match p.signal(0) {
            Ok(()) => (None, Some(p)),
            Err(e) => (Some(refused(&e)), None),
        },
    }
}

/// Sends `signal` to every pinned process with no outcome yet; a refusal becomes its outcome.
fn send(pinned: &[Option<Box<dyn Pinned>>], outcomes: &mut [Option<Outcome>], signal: Signal) {
    for (p, outcome) in pinned.iter().zip(outcomes.iter_mut()) {
        if let (Some(p), None) = (p, &outcome) {
            if let Err(e) = p.signal(signal.number) {
                *outcome = Some(refused(&e));
            }
        }
    }
}

fn refused(e: &io::Error) -> Outcome {
    match e.raw_os_error() {
        Some(libc::EPERM) => Outcome::PermissionDenied,
        Some(libc::ESRCH) => Outcome::Gone,
        _ => failed(e),
    }
}

fn failed(e: &io::Error) -> Outcome {
    let why = match e.kind() {
        io::ErrorKind::Unsupported => "signalling through a pidfd is not supported here".into(),
        _ => crate::text::errno(e),
    };
    Outcome::Failed(why)
}

/// Waits until every port is free of the sockets `among` selects, as `wait --free` reads the
/// table (no trial bind: -4 or --state leave sockets a bind would run into), sharing one
/// timeout.
fn wait_free(host: &dyn Host, options: &Options, report: &mut dyn Report) -> Result<Waited> {
    let deadline = Instant::now() + options.timeout;
    for (ports, proto) in &options.ports {
        let condition = Condition::Free {
            ports: ports.clone(),
            proto: *proto,
            among: options.among.clone(),
            bind: None,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let mut progress = Progress {
            what: condition.describe(),
            report: &mut *report,
        };
        match wait::until(host, &condition, Some(left), &mut progress)? {
            Waited::Met => {}
            other => return Ok(other),
        }
    }
    Ok(Waited::Met)
}

struct Progress<'r> {
    what: String,
    report: &'r mut dyn Report,
}

impl wait::Progress for Progress<'_> {
    fn notes(&mut self, notes: &[String]) {
        self.report.notes(notes);
    }

    fn waiting(&mut self, elapsed: Duration) {
        self.report.waiting(&self.what, elapsed);
    }
}
