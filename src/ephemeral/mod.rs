//! Dynamic ports: how the kernel hands them out and how close the host is to running out
//! (`report`), how it picks them (`sample`), and why a bind fails (`why_bind`, with the real
//! `trial` bind that `wait --free` uses too).

mod allocation;
pub mod findings;
pub mod report;
#[cfg(unix)]
pub mod sample;
#[cfg(unix)]
pub mod trial;
#[cfg(unix)]
pub mod why_bind;

pub use allocation::{Allocation, Method};
pub use report::BindHeld;

use std::time::Duration;

use anyhow::Result;

use crate::host::Host;
use crate::inventory::Collector;
use crate::model::{Inventory, PortSettings, Socket};
use crate::query::Query;

/// How a run of reports ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Once, or `show` said enough.
    Done,
    Interrupted,
}

/// The report, then again every `every` (when given) until `show` returns false or Ctrl-C.
/// Owners already found are not looked for again at each refresh.
pub fn reports(
    host: &dyn Host,
    every: Option<Duration>,
    show: &mut dyn FnMut(&report::Report, &Inventory) -> Result<bool>,
) -> Result<Ended> {
    let mut collector = Collector::new(host);
    loop {
        let settings = host.port_settings()?;
        let inv = collector.collect(&Query::everything())?;
        let report = report(host, &settings, &inv.sockets);
        if !show(&report, &inv)? {
            return Ok(Ended::Done);
        }
        let Some(every) = every else {
            return Ok(Ended::Done);
        };
        if crate::interrupt::sleep(every) {
            return Ok(Ended::Interrupted);
        }
    }
}

/// The report for this table (`bind_held` below).
pub fn report(host: &dyn Host, settings: &PortSettings, sockets: &[Socket]) -> report::Report {
    report::build(settings, sockets, &bind_held(host, settings, sockets))
}

/// Trial connects per report at most (each is a refused SYN on loopback); past this, the
/// parity estimate.
const MAX_TRIALS: usize = 4096;

/// The range ports that connections hold through bind() (bind-before-connect), found by trial
/// connects, or estimated from their parity where trials cannot run or would be too many.
pub fn bind_held(host: &dyn Host, settings: &PortSettings, sockets: &[Socket]) -> BindHeld {
    let candidates: Vec<u16> = report::connection_ports(settings, sockets)
        .into_iter()
        .collect();
    if candidates.is_empty() {
        return BindHeld::none();
    }
    if candidates.len() > MAX_TRIALS {
        return report::by_parity(settings, sockets);
    }
    match host.bind_held(&candidates) {
        Ok(ports) => BindHeld {
            ports: ports.into_iter().collect(),
            evidence: report::Evidence::Trial,
        },
        Err(_) => report::by_parity(settings, sockets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::fake::FakeHost;
    use crate::model::{Endpoint, PortSettings, Proto, Socket, TcpState};

    fn to_443(port: u16) -> Socket {
        let ep = |ip: &str, port| Endpoint {
            ip: ip.parse().expect("address"),
            port,
        };
        let mut s = Socket::new(
            Proto::Tcp,
            ep("10.0.0.5", port),
            ep("10.0.0.9", 443),
            TcpState::Established,
        );
        s.inode = u32::from(port);
        s.pids = vec![7];
        s
    }

    #[test]
    fn refreshes_follow_the_table() {
        let looks = vec![
            (40000..40010).map(to_443).collect(),
            (40000..40050).map(to_443).collect(),
            (40000..40020).map(to_443).collect(),
        ];
        let mut host = FakeHost::new(looks);
        host.settings = Some(PortSettings {
            range: (40000, 40099),
            reserved: vec![],
            unprivileged_port_start: Some(1024),
            tcp_tw_reuse: Some(2),
            tcp_fin_timeout: Some(60),
        });
        let mut used = Vec::new();
        let ended = reports(&host, Some(Duration::from_millis(1)), &mut |report, inv| {
            used.push(report.destinations[0].used);
            assert!(
                inv.sockets.iter().all(|s| s.pids == [7]),
                "owners on every refresh"
            );
            Ok(used.len() < 3)
        })
        .unwrap();
        assert_eq!(ended, Ended::Done);
        assert_eq!(used, [10, 50, 20]);
    }

    #[test]
    fn without_port_settings_it_says_what_failed() {
        let host = FakeHost::new(vec![vec![]]);
        let e = reports(&host, None, &mut |_, _| Ok(true)).unwrap_err();
        assert!(format!("{e:#}").contains("no port settings"), "{e:#}");
    }
}
