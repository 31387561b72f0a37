//! `portscope wait PORT`: block until a port is listening (here, or on --host), or free.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Result, anyhow};

use super::output;
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::WaitArgs;
use crate::ephemeral::trial::Reuse;
use crate::exit::NotThere;
use crate::host::Host;
use crate::model::Proto;
use crate::ports::parse_port;
use crate::wait::{self, Condition, Waited};

pub fn run(host: &dyn Host, args: &WaitArgs) -> Result<Exit> {
    let port = parse_port(&args.port)?;
    let proto = if args.udp { Proto::Udp } else { Proto::Tcp };
    let condition = match (&args.host, args.free) {
        (Some(name), _) => Condition::Accepting {
            host: name.clone(),
            addrs: addr::resolve(name, Families::Any)?,
            port,
        },
        (None, true) => Condition::Free {
            addr: SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port),
            proto,
            reuse: if args.reuseaddr {
                Reuse::Addr
            } else {
                Reuse::Plain
            },
        },
        (None, false) => Condition::Listening { port, proto },
    };
    crate::interrupt::install();
    let mut shown = Shown {
        what: condition.describe(),
        terminal: output::stderr_is_terminal(),
        waited: None,
    };
    let timeout = (args.timeout > 0.0).then(|| Duration::from_secs_f64(args.timeout));
    let outcome = wait::until(host, &condition, timeout, &mut shown);
    if shown.terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[K");
    }
    let what = &shown.what;
    match outcome? {
        Waited::Met => {
            if let Condition::Free { addr, proto, reuse } = condition {
                let mut out = output::stdout();
                writeln!(out, "{}", wait::free_now(addr, proto, reuse))?;
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
