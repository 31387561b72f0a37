//! `portscope kill PORT…`: signal every holder of the ports and wait until they are free;
//! `portscope kill --destroy`: close single connections.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

use anyhow::{Result, bail};

use super::{filters, output};
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::KillArgs;
use crate::host::Host;
use crate::kill::run::{self, Options, Report};
use crate::kill::signal::Signal;
use crate::kill::{self, destroy};
use crate::model::Proto;
use crate::ports::PortSet;
use crate::render;
use crate::wait::Among;

pub fn run(host: &dyn Host, args: &KillArgs) -> Result<Exit> {
    if args.destroy {
        return run_destroy(host, args);
    }
    let f = &args.filter;
    if f.unix || f.port.is_some() || f.sport.is_some() || f.dport.is_some() {
        bail!("-x, --port, --sport and --dport select connections for --destroy; kill PORT frees a port");
    }
    if f.pid.is_some() || f.process.is_some() || f.user.is_some() {
        bail!("kill PORT signals every holder of the port; --pid, --process and --user select connections for --destroy");
    }
    if args.targets.is_empty() {
        bail!("which port? portscope kill PORT (see --help)");
    }
    let mut asked = Vec::new();
    let mut named = BTreeSet::new();
    for text in &args.targets {
        let (port, proto) = filters::habit(text);
        named.insert(proto);
        asked.extend(filters::ports(port, "PORT")?.ports());
    }
    let ports: PortSet = asked.into_iter().collect();
    let signal = Signal::parse(&args.signal)?;
    let mut query = filters::query(host, f, true, false)?;
    // `3000/tcp` (fuser's form, and how kill names ports) narrows as -t does; a signal must
    // never reach a holder of a protocol that was not asked for, so one form for all ports.
    match named.into_iter().collect::<Vec<_>>().as_slice() {
        [None] => {}
        [Some(proto)] if query.protos.contains(proto) => query.protos = vec![*proto],
        [Some(proto)] => bail!("PORT/{} contradicts -t/-u", proto.name()),
        _ => bail!("name the protocol of every PORT or of none (3000/tcp 3001/tcp, or -t)"),
    }
    let plan = kill::plan(host, &query, &ports)?;
    // The ports as held: each port with the protocols that had sockets on it.
    let held: BTreeSet<(u16, Proto)> = plan
        .inventory
        .sockets
        .iter()
        .map(|s| (s.local.port, s.proto))
        .collect();
    let named: Vec<String> = held
        .iter()
        .map(|(port, proto)| format!("{port}/{}", proto.name()))
        .collect();
    let timeout = args.timeout;
    let mut out = output::stdout_for_action();
    output::report_gaps(&plan.inventory);
    if plan.is_empty() {
        // As asked: `8000-8010`, or `8000-8010/tcp` with one protocol.
        let suffix = match query.protos.as_slice() {
            [only] => format!("/{}", only.name()),
            _ => String::new(),
        };
        let asked: Vec<String> = ports
            .ranges()
            .iter()
            .map(|range| match range {
                (low, high) if low == high => format!("{low}{suffix}"),
                (low, high) => format!("{low}-{high}{suffix}"),
            })
            .collect();
        if args.json {
            render::kill::json(&mut out, &plan, signal, (asked, args.dry_run), None)?;
        } else {
            writeln!(out, "nothing holds port {}", asked.join(", "))?;
        }
        out.flush()?;
        return Ok(Exit::NoMatch);
    }
    if !args.json {
        render::kill::targets(&mut out, &plan, signal)?;
        out.flush()?;
    }
    let blocked = plan.unseen > 0 || plan.targets.iter().any(|t| t.refusal.is_some());
    let question = format!(
        "send {} to {}?",
        signal.name,
        these(plan.targets.len(), "process", "processes")
    );
    let dry_json = |out: &mut dyn Write| {
        render::kill::json(out, &plan, signal, (named.clone(), true), None)
    };
    if let Some(exit) = go_ahead(args, &mut out, &dry_json, "signalled", (!blocked).then_some(&question))? {
        return Ok(exit);
    }
    crate::interrupt::install();
    let options = Options {
        signal,
        timeout,
        escalate: args.escalate,
        ports: [Proto::Tcp, Proto::Udp]
            .into_iter()
            .map(|proto| {
                let on: PortSet = held.iter().filter(|h| h.1 == proto).map(|h| h.0).collect();
                (on, proto)
            })
            .filter(|(on, _)| !on.is_empty())
            .collect(),
        among: Among {
            families: query.families.clone(),
            states: query.states,
        },
    };
    // `3000/tcp`, or `3000/tcp (IPv4 LISTEN sockets)` when -4/-6 or --state leave some out.
    let words = options
        .ports
        .first()
        .map(|(_, proto)| options.among.words(*proto))
        .unwrap_or_default();
    let freed = match words.as_str() {
        "" => named.join(", "),
        words => format!("{} ({words} sockets)", named.join(", ")),
    };
    let mut shown = Shown {
        said: false,
        timeout,
    };
    let finish = run::execute(host, &plan, &options, &mut shown)?;
    if args.json {
        render::kill::json(
            &mut out,
            &plan,
            signal,
            (named, false),
            Some((&finish, timeout)),
        )?;
    } else {
        render::kill::outcomes(&mut out, &plan, &finish, &freed, timeout)?;
    }
    out.flush()?;
    Ok(if finish.interrupted {
        Exit::Interrupted
    } else if finish.free {
        Exit::Success
    } else {
        Exit::Error
    })
}

/// `this process`, `these 3 processes`.
fn these(n: usize, one: &str, many: &str) -> String {
    match n {
        1 => format!("this {one}"),
        n => format!("these {n} {many}"),
    }
}

/// Where a dry run ends (with its JSON from `dry_json`), or a question (None: none to ask)
/// gets no: the exit status then. None to go ahead.
fn go_ahead(
    args: &KillArgs,
    out: &mut dyn Write,
    dry_json: &dyn Fn(&mut dyn Write) -> std::io::Result<()>,
    done: &str,
    question: Option<&String>,
) -> Result<Option<Exit>> {
    if args.dry_run {
        if args.json {
            dry_json(out)?;
            out.flush()?;
        } else {
            output::diagnostic(&format!("dry run: nothing {done}"));
        }
        return Ok(Some(Exit::Success));
    }
    match question {
        Some(question) if !args.yes && !confirm(question)? => Ok(Some(Exit::NoMatch)),
        _ => Ok(None),
    }
}

/// Asks once on the terminal; refuses to act unasked when there is none to ask on.
fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() || !output::stderr_is_terminal() {
        bail!(
            "not acting without confirmation: stdin is not a terminal; add --yes to go ahead \
             with the list above, or --dry-run to only list"
        );
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "portscope: {question} [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        output::diagnostic("nothing done");
    }
    Ok(yes)
}

/// Says once on stderr what is being waited for, and when SIGKILL follows.
struct Shown {
    said: bool,
    timeout: Duration,
}

impl Report for Shown {
    fn notes(&mut self, notes: &[String]) {
        output::notes(notes);
    }

    fn waiting(&mut self, what: &str, _elapsed: Duration) {
        if !self.said {
            output::diagnostic(&format!("waiting for {what}"));
            self.said = true;
        }
    }

    fn escalating(&mut self, running: usize) {
        output::diagnostic(&format!(
            "{running} still running after {:.1} s: sending SIGKILL",
            self.timeout.as_secs_f64()
        ));
    }
}

/// `kill --destroy [LOCAL REMOTE] [filters]`: the connections, then each reset.
fn run_destroy(host: &dyn Host, args: &KillArgs) -> Result<Exit> {
    let f = &args.filter;
    if f.unix {
        bail!("--destroy closes TCP and UDP sockets; a Unix socket has no sock_diag destroy");
    }
    let exact = match args.targets.as_slice() {
        [] => None,
        [local, remote] => Some((
            addr::local(local, None, Families::Any)?,
            addr::local(remote, None, Families::Any)?,
        )),
        _ => bail!("--destroy takes one connection as LOCAL REMOTE (127.0.0.1:8080 127.0.0.1:40312), or filters"),
    };
    let query = filters::query(host, f, true, false)?;
    let narrowed = !query.is_broad()
        || f.pid.is_some()
        || f.process.is_some()
        || f.user.is_some()
        || !f.state.is_empty()
        || f.listening;
    if exact.is_none() && !narrowed {
        bail!("which connections? name one (LOCAL REMOTE) or filter: --dport 443 --state established");
    }
    let inv = destroy::select(host, &query, exact)?;
    let mut out = output::stdout_for_action();
    output::report_gaps(&inv);
    if inv.sockets.is_empty() {
        if args.json {
            render::destroy::closed_json(&mut out, &inv, None)?;
        } else {
            writeln!(out, "no connection matches")?;
        }
        out.flush()?;
        return Ok(Exit::NoMatch);
    }
    if !args.json {
        render::destroy::connections(&mut out, &inv)?;
        out.flush()?;
    }
    let question = format!(
        "reset {}?",
        these(inv.sockets.len(), "connection", "connections")
    );
    let dry_json = |out: &mut dyn Write| render::destroy::closed_json(out, &inv, None);
    if let Some(exit) = go_ahead(args, &mut out, &dry_json, "reset", Some(&question))? {
        return Ok(exit);
    }
    let results = destroy::destroy(host, &inv.sockets);
    if args.json {
        render::destroy::closed_json(&mut out, &inv, Some(&results))?;
    } else {
        render::destroy::closed(&mut out, &inv, &results)?;
    }
    out.flush()?;
    let all = results
        .iter()
        .all(|r| matches!(r, destroy::Closed::Reset | destroy::Closed::Gone));
    Ok(if all { Exit::Success } else { Exit::Error })
}
