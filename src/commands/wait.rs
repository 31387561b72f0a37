//! `portscope wait PORT`: block until a port is listening (here, or on --host), or free.

use std::io::Write;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};

use super::{filters, output};
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::WaitArgs;
use crate::ephemeral::trial::Reuse;
use crate::exit::NotThere;
use crate::host::Host;
use crate::model::Proto;
use crate::wait::{self, Among, Condition, Waited};

pub fn run(host: &dyn Host, args: &WaitArgs) -> Result<Exit> {
    let condition = condition(args)?;
    crate::interrupt::install();
    let mut shown = Shown {
        what: condition.describe(),
        terminal: output::stderr_is_terminal(),
        waited: None,
    };
    let timeout = (!args.timeout.is_zero()).then_some(args.timeout);
    let outcome = wait::until(host, &condition, timeout, &mut shown);
    if shown.terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    let what = &shown.what;
    match outcome? {
        Waited::Met => {
            if let Condition::Free {
                ports,
                proto,
                bind: Some(reuse),
                ..
            } = &condition
            {
                let mut out = output::stdout();
                for line in wait::free_now(ports, *proto, *reuse) {
                    writeln!(out, "{line}")?;
                }
                out.flush()?;
            }
            Ok(Exit::Success)
        }
        Waited::Interrupted => Ok(Exit::Interrupted),
        Waited::TimedOut => Err(anyhow!(NotThere(format!(
            "gave up after {:.1} s waiting for {what}",
            timeout.or(shown.waited).unwrap_or_default().as_secs_f64()
        )))),
    }
}

/// What to wait for: ports here (`8080`, `8080,8443`), or a remote target (`db:5432`,
/// `db 5432`, `5432 --host db`), whose ports are checked before its name is looked up.
fn condition(args: &WaitArgs) -> Result<Condition> {
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let remote = match (&args.host, &args.ports) {
        (Some(host), _) => Some((host.as_str(), args.target.as_str())),
        (None, Some(ports)) => Some((args.target.as_str(), ports.as_str())),
        (None, None) if args.target.contains(':') => {
            let target = addr::Target::parse(&args.target, None)?;
            Some((target.host, target.port))
        }
        (None, None) => None,
    };
    let Some((name, ports)) = remote else {
        let ports = filters::ports(&args.target, "PORTS")?;
        return Ok(match args.free {
            true => Condition::Free {
                ports,
                proto,
                among: Among::every(),
                bind: Some(if args.reuseaddr {
                    Reuse::Addr
                } else {
                    Reuse::Plain
                }),
            },
            false => Condition::Listening { ports, proto },
        });
    };
    if args.free || args.udp {
        bail!("--free and --udp are about ports on this host; a remote HOST:PORT is waited for by connecting (TCP)");
    }
    let ports = filters::ports(ports, "PORTS")?;
    Ok(Condition::Accepting {
        host: name.to_string(),
        addrs: addr::resolve(name, Families::Any)?,
        ports,
    })
}

/// Progress on stderr: a line updated in place on a terminal; elsewhere one line once the
/// first look found nothing, so a log (or a script) knows the wait began.
struct Shown {
    what: String,
    terminal: bool,
    waited: Option<Duration>,
}

impl wait::Progress for Shown {
    fn notes(&mut self, notes: &[String]) {
        output::notes(notes);
    }

    fn waiting(&mut self, elapsed: Duration) {
        if self.terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\rwaiting for {}… {:.1} s ",
                self.what,
                elapsed.as_secs_f64()
            );
            let _ = err.flush();
        } else if self.waited.is_none() {
            output::diagnostic(&format!("waiting for {}", self.what));
        }
        self.waited = Some(elapsed);
    }
}
