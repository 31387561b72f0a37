//! `portscope exporter`: flags → the exporter's config; bind, say where it serves, run until
//! a signal. `--once` looks once and writes the metrics.

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::output;
use crate::Exit;
use crate::addr::{self, Families};
use crate::cli::{ExporterArgs, duration};
use crate::endpoint::bind_error;
use crate::exporter::look::Limits;
use crate::exporter::{self, Collection, Config, Format, Outlet, ProbeSpec, Serving, Snapshot};
use crate::host::Host;
use crate::interrupt;
use crate::model::Proto;
use crate::render;

const DEFAULT_LISTEN: &str = "127.0.0.1:9917";
/// With --textfile and no --interval.
const TEXTFILE_INTERVAL: Duration = Duration::from_secs(15);
/// The shortest --interval and --client-timeout.
const SHORTEST: Duration = Duration::from_millis(100);

struct Stderr;

impl Outlet for Stderr {
    fn encode(&self, snapshot: &Snapshot, format: Format) -> String {
        render::metrics::encode(snapshot, format)
    }

    fn notes(&self, notes: &[String]) {
        output::notes(notes);
    }
}

pub fn run(host: &dyn Host, args: &ExporterArgs) -> Result<Exit> {
    interrupt::install();
    let config = config(args)?;
    if args.once {
        return once(host, config, args);
    }
    if args.client_timeout < SHORTEST {
        bail!("--client-timeout must be at least 100ms");
    }
    let interval = match (args.interval, &args.textfile) {
        (Some(every), _) if every < SHORTEST => bail!("--interval must be at least 100ms"),
        (Some(every), _) => Some(every),
        (None, Some(_)) => Some(TEXTFILE_INTERVAL),
        (None, None) => None,
    };
    let serving = Serving {
        interval,
        textfile: args.textfile.clone(),
        client_timeout: args.client_timeout,
        max_clients: args.max_clients,
    };
    // With --textfile alone, no HTTP server.
    let listen = match (&args.listen, &args.textfile) {
        (Some(listen), _) => Some(listen.as_str()),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_LISTEN),
    };
    if let Some(path) = &serving.textfile {
        exporter::check_textfile(path)?;
    }
    let server = listen.map(|text| bind(host, text)).transpose()?;
    if let Some(server) = &server {
        let addr = server.local_addr().context("reading the bound address")?;
        output::diagnostic(&serving_line(addr));
    }
    if let Some(path) = &serving.textfile {
        output::diagnostic(&format!(
            "writing {} every {}",
            crate::text::escaped(&path.display().to_string()),
            duration::show(interval.unwrap_or(TEXTFILE_INTERVAL))
        ));
    }
    exporter::run(host, config, server.as_ref(), &serving, &Stderr)?;
    Ok(Exit::Interrupted)
}

fn config(args: &ExporterArgs) -> Result<Config> {
    if args.probe_timeout.is_zero() || args.probe_timeout > Duration::from_secs(60) {
        bail!("--probe-timeout must be from 1ms to 1m");
    }
    let probes = args
        .probe
        .iter()
        .map(|target| {
            Ok(ProbeSpec {
                label: target.clone(),
                addrs: addr::remote(target, None, Families::Any)
                    .with_context(|| format!("--probe {target}"))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Config {
        limits: Limits {
            top: args.top,
            max_ports: args.max_ports,
        },
        probes,
        probe_timeout: args.probe_timeout,
    })
}

fn bind(host: &dyn Host, text: &str) -> Result<exporter::Server> {
    let addr = addr::local(text, None, Families::Any).context("--listen")?;
    exporter::Server::bind(addr).map_err(|e| bind_error(host, e, addr, Proto::Tcp))
}

/// Where the metrics are, and who can reach them: the exporter's ready line.
fn serving_line(addr: SocketAddr) -> String {
    let reach = if addr.ip().is_loopback() {
        let any = if addr.is_ipv6() { "[::]" } else { "0.0.0.0" };
        format!(
            "loopback only: other hosts cannot scrape it; --listen {any}:{} to serve them",
            addr.port()
        )
    } else {
        "reachable from other hosts; no TLS or authentication, firewall it as needed".to_string()
    };
    format!("serving metrics on http://{addr}/metrics ({reach})")
}

fn once(host: &dyn Host, config: Config, args: &ExporterArgs) -> Result<Exit> {
    let snapshot = Collection::new(host, config).snapshot();
    if interrupt::interrupted() {
        // The probes stopped early: their failures would be false; write nothing.
        return Ok(Exit::Interrupted);
    }
    output::notes(&snapshot.notes);
    let text = render::metrics::encode(&snapshot, Format::Prometheus);
    match &args.textfile {
        Some(path) => exporter::write_textfile(path, text.as_bytes())?,
        None => {
            let mut out = output::stdout();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::serving_line;

    #[test]
    fn the_ready_line_says_how_to_serve_other_hosts_in_the_same_family() {
        let v4 = serving_line("127.0.0.1:9917".parse().unwrap());
        assert!(v4.contains("--listen 0.0.0.0:9917 to serve them"), "{v4}");
        let v6 = serving_line("[::1]:9917".parse().unwrap());
        assert!(v6.starts_with("serving metrics on http://[::1]:9917/metrics"), "{v6}");
        assert!(v6.contains("--listen [::]:9917 to serve them"), "{v6}");
        let any = serving_line("0.0.0.0:9917".parse().unwrap());
        assert!(any.contains("reachable from other hosts"), "{any}");
    }
}
