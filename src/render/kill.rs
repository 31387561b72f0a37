//! `kill`: the target list (the same for a dry run and a real one), the outcome per process,
//! and both as JSON. `--destroy`'s connections are in `destroy.rs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;

use super::json::JsonSocket;
use crate::kill::run::{Finish, Outcome};
use crate::kill::signal::Signal;
use crate::kill::{Plan, Refusal, Target};
use crate::model::{Inventory, Proto, TcpState};

/// One line per holder: `SIGTERM → nginx (pid 812, user root): nginx: master process —
/// 8080/tcp LISTEN`, a refused one marked as such, and a line for holders out of sight.
pub fn targets(out: &mut dyn Write, plan: &Plan, signal: Signal) -> io::Result<()> {
    let mut line = String::new();
    for t in &plan.targets {
        line.clear();
        match t.refusal {
            Some(_) => line.push_str("refused → "),
            None => {
                let _ = write!(line, "{} → ", signal.name);
            }
        }
        process(t, &mut line);
        line.push_str(" — ");
        sockets(t, &plan.inventory, &mut line);
        if let Some(refusal) = t.refusal {
            let _ = write!(line, "; refused: {}", refused(refusal));
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    let unseen = plan.unseen;
    if unseen > 0 {
        writeln!(
            out,
            "unseen → {unseen} socket(s) held, or maybe held too, by processes out of sight ({})",
            hidden_why(&plan.inventory)
        )?;
    }
    Ok(())
}

/// `nginx (pid 812, user root): nginx: master process`, or the bare pid of one that exited.
fn process(t: &Target, line: &mut String) {
    match &t.process {
        Some(p) => crate::text::process(p, true, line),
        None => {
            let _ = write!(line, "pid {}", t.pid);
        }
    }
}

/// What a target holds, grouped: `8080/tcp LISTEN, 8080/tcp ESTABLISHED ×12`.
fn sockets(t: &Target, inv: &Inventory, line: &mut String) {
    let mut groups: BTreeMap<(u16, Proto, TcpState), usize> = BTreeMap::new();
    for s in t.sockets.iter().filter_map(|i| inv.sockets.get(*i)) {
        *groups.entry((s.local.port, s.proto, s.state)).or_default() += 1;
    }
    for (i, ((port, proto, state), n)) in groups.into_iter().enumerate() {
        if i > 0 {
            line.push_str(", ");
        }
        let _ = write!(line, "{port}/{} {}", proto.name(), state.name());
        if n > 1 {
            let _ = write!(line, " ×{n}");
        }
    }
}

fn refused(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Init => {
            "pid 1, the init system: if it holds the port for a socket-activated service, \
             stop the unit (systemctl stop NAME.socket)"
        }
        Refusal::Itself => "portscope itself",
        Refusal::Ancestor => "an ancestor of portscope (its shell, terminal, or what started them)",
        Refusal::KernelThread => "a kernel thread",
    }
}

fn hidden_why(inv: &Inventory) -> &'static str {
    if inv.unreadable_processes > 0 {
        "another user's processes: run as root (sudo portscope kill …) to see and signal them"
    } else {
        "in another PID namespace, or a descriptor in flight: not signalled"
    }
}

/// One line per target saying what became of it, then whether the ports are free.
pub fn outcomes(
    out: &mut dyn Write,
    plan: &Plan,
    finish: &Finish,
    ports: &str,
    timeout: Duration,
) -> io::Result<()> {
    let mut line = String::new();
    for (t, outcome) in plan.targets.iter().zip(&finish.outcomes) {
        line.clear();
        process_short(t, &mut line);
        line.push_str(": ");
        line.push_str(&outcome_text(outcome, timeout, finish.free));
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    if finish.blocked {
        writeln!(out, "nothing signalled: port {ports} would stay held")
    } else if finish.free {
        writeln!(out, "port {ports} free")
    } else {
        writeln!(
            out,
            "port {ports} still held after {:.1} s",
            timeout.as_secs_f64()
        )
    }
}

/// `nginx (pid 812)`.
fn process_short(t: &Target, line: &mut String) {
    if let Some(p) = &t.process {
        crate::text::escape_into(&p.name, line);
        let _ = write!(line, " (pid {})", t.pid);
    } else {
        let _ = write!(line, "pid {}", t.pid);
    }
}

fn outcome_text(outcome: &Outcome, timeout: Duration, free: bool) -> String {
    match outcome {
        Outcome::Exited(signal) => format!("exited after {}", signal.name),
        Outcome::StillRunning(signal) if free => {
            format!("still running after {}; it let go of the port", signal.name)
        }
        Outcome::StillRunning(signal) if *signal == Signal::KILL => {
            "still running after SIGKILL (stuck in the kernel: uninterruptible sleep?)".into()
        }
        Outcome::StillRunning(signal) => format!(
            "still running {:.1} s after {} (it ignores or handles it): --escalate sends \
             SIGKILL after the timeout",
            timeout.as_secs_f64(),
            signal.name
        ),
        Outcome::Gone => "gone: it exited before the signal (nothing sent)".into(),
        Outcome::PermissionDenied => "permission denied: another user's process; run as root \
                                      (sudo portscope kill …) or as its user"
            .into(),
        Outcome::Refused(refusal) => format!("refused: {}", refused(*refusal)),
        Outcome::NotSignalled => {
            "not signalled: another holder cannot be, so the port would stay held".into()
        }
        Outcome::Failed(why) => format!("not signalled: {why}"),
    }
}

/// The JSON of a kill: the targets, and after a run the outcome of each.
#[derive(Serialize)]
struct JsonKill<'a> {
    signal: &'static str,
    dry_run: bool,
    ports: Vec<String>,
    targets: Vec<JsonTarget<'a>>,
    unseen_sockets: usize,
    /// Whether the ports are free at the end; null for a dry run.
    free: Option<bool>,
}

#[derive(Serialize)]
struct JsonTarget<'a> {
    pid: u32,
    name: Option<&'a str>,
    user: Option<&'a str>,
    cmdline: Option<&'a str>,
    sockets: Vec<JsonSocket<'a>>,
    refused: Option<&'static str>,
    outcome: Option<&'static str>,
    detail: Option<String>,
}

/// `kill --json`: one object; `finish` is None when nothing was run (a dry run, or nothing
/// held the ports).
pub fn json(
    out: &mut dyn Write,
    plan: &Plan,
    signal: Signal,
    (ports, dry_run): (Vec<String>, bool),
    finish: Option<(&Finish, Duration)>,
) -> io::Result<()> {
    let free = finish.is_some_and(|(f, _)| f.free);
    let targets = plan
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let outcome = finish.and_then(|(f, timeout)| Some((f.outcomes.get(i)?, timeout)));
            JsonTarget {
                pid: t.pid,
                name: t.process.as_ref().map(|p| p.name.as_str()),
                user: t.process.as_ref().and_then(|p| p.user.as_deref()),
                cmdline: t.process.as_ref().map(|p| p.cmdline.as_str()),
                sockets: t
                    .sockets
                    .iter()
                    .filter_map(|i| plan.inventory.sockets.get(*i))
                    .map(|s| JsonSocket::new(s, &plan.inventory))
                    .collect(),
                refused: t.refusal.map(refusal_key),
                outcome: outcome.map(|(o, _)| outcome_key(o)),
                detail: outcome.map(|(o, timeout)| outcome_text(o, timeout, free)),
            }
        })
        .collect();
    super::json::value(
        out,
        &JsonKill {
            signal: signal.name,
            dry_run,
            ports,
            targets,
            unseen_sockets: plan.unseen,
            free: finish.map(|(f, _)| f.free),
        },
    )
}

fn refusal_key(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Init => "init",
        Refusal::Itself => "itself",
        Refusal::Ancestor => "ancestor",
        Refusal::KernelThread => "kernel_thread",
    }
}

fn outcome_key(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Exited(_) => "exited",
        Outcome::StillRunning(_) => "still_running",
        Outcome::Gone => "gone",
        Outcome::PermissionDenied => "permission_denied",
        Outcome::Refused(_) => "refused",
        Outcome::NotSignalled => "not_signalled",
        Outcome::Failed(_) => "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::Vitals;
    use crate::fixtures::loopback_tcp;
    use crate::model::Process;

    fn plan() -> Plan {
        let listener = loopback_tcp(8080, 0, TcpState::Listen, 7, &[1, 812]);
        let conn = loopback_tcp(8080, 40000, TcpState::Established, 8, &[812]);
        let mut inventory = Inventory {
            sockets: vec![listener, conn.clone(), conn],
            owners_looked_up: true,
            ..Inventory::default()
        };
        let process = Process {
            pid: 812,
            name: "evil\u{1b}[2J".into(),
            user: Some("www".into()),
            cmdline: "srv --port 8080".into(),
        };
        inventory.processes.insert(812, process.clone());
        let vitals = Some(Vitals {
            started: 1,
            parent: 1,
            kernel_thread: false,
        });
        let init = Target {
            pid: 1,
            process: None,
            vitals,
            refusal: Some(Refusal::Init),
            sockets: vec![0],
        };
        let server = Target {
            pid: 812,
            process: Some(process),
            vitals,
            refusal: None,
            sockets: vec![0, 1, 2],
        };
        Plan {
            inventory,
            targets: vec![init, server],
            unseen: 0,
        }
    }

    #[test]
    fn targets_name_what_each_holds_and_why_one_is_refused() {
        let mut out = Vec::new();
        targets(&mut out, &plan(), Signal::TERM).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("refused → pid 1 — 8080/tcp LISTEN; refused: pid 1"));
        assert_eq!(
            lines[1],
            "SIGTERM → evil\\u{1b}[2J (pid 812, user www): srv --port 8080 — \
             8080/tcp LISTEN, 8080/tcp ESTABLISHED ×2"
        );
    }

    #[test]
    fn outcomes_say_what_to_do() {
        let plan = plan();
        let finish = Finish {
            outcomes: vec![Outcome::Refused(Refusal::Init), Outcome::NotSignalled],
            free: false,
            blocked: true,
            interrupted: false,
        };
        let mut out = Vec::new();
        outcomes(&mut out, &plan, &finish, "8080/tcp", Duration::from_secs(5)).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("pid 1: refused: pid 1, the init system"), "{text}");
        assert!(text.contains("(pid 812): not signalled: another holder"), "{text}");
        assert!(text.ends_with("nothing signalled: port 8080/tcp would stay held\n"));
        let mut out = Vec::new();
        json(&mut out, &plan, Signal::TERM, (vec!["8080/tcp".into()], false), Some((&finish, Duration::from_secs(5)))).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["targets"][0]["refused"], "init");
        assert_eq!(value["targets"][1]["outcome"], "not_signalled");
        assert_eq!(value["targets"][1]["name"], "evil\u{1b}[2J", "JSON carries names exactly");
        assert_eq!(value["free"], false);
    }
}
