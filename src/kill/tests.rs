use std::time::Duration;

use super::destroy::{self, Closed};
use super::run::{self, Options, Outcome, Report};
use super::signal::Signal;
use super::*;
use crate::fixtures::loopback_tcp as socket;
use crate::host::fake::FakeHost;
use crate::model::{Proto, Socket, TcpState};


fn listener(port: u16, inode: u32, pids: &[u32]) -> Socket {
    socket(port, 0, TcpState::Listen, inode, pids)
}

/// A host whose table is each of `looks` in turn; every pid in it is alive and obeys signals
/// unless the test says otherwise.
fn host(looks: Vec<Vec<Socket>>) -> FakeHost {
    let pids: Vec<u32> = looks.iter().flatten().flat_map(|s| s.pids.clone()).collect();
    let mut host = FakeHost::new(looks);
    for pid in pids {
        let vitals = Vitals {
            started: 1000 + u64::from(pid),
            parent: 1,
            kernel_thread: false,
        };
        host.vitals.insert(pid, vitals);
        host.obeying.insert(pid);
        host.processes.insert(
            pid,
            Process {
                pid,
                name: format!("srv{pid}"),
                user: Some("root".into()),
                cmdline: format!("srv{pid} --port 8080"),
            },
        );
    }
    host
}

struct Quiet;

impl Report for Quiet {
    fn notes(&mut self, _notes: &[String]) {}
    fn waiting(&mut self, _what: &str, _elapsed: Duration) {}
    fn escalating(&mut self, _running: usize) {}
}

fn options(timeout_ms: u64, escalate: bool) -> Options {
    Options {
        signal: Signal::TERM,
        timeout: Duration::from_millis(timeout_ms),
        escalate,
        ports: vec![(PortSet::one(8080), Proto::Tcp)],
        among: crate::wait::Among::every(),
    }
}

fn tcp() -> Query {
    Query::everything().protos(&[Proto::Tcp])
}

fn signals(host: &FakeHost) -> Vec<(u32, i32)> {
    host.signals.lock().unwrap().clone()
}

#[test]
fn every_holder_of_a_shared_listener_is_a_target_and_the_dry_run_sees_the_same() {
    let looks = vec![listener(8080, 7, &[10, 11, 12]), listener(9090, 8, &[13])];
    let host = host(vec![looks]);
    let first = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    let pids: Vec<u32> = first.targets.iter().map(|t| t.pid).collect();
    assert_eq!(pids, [10, 11, 12]);
    assert!(first.targets.iter().all(|t| t.refusal.is_none()));
    assert_eq!(first.targets[0].process.as_ref().unwrap().name, "srv10");
    let again = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    assert_eq!(first.targets, again.targets);
    assert!(signals(&host).is_empty(), "planning signals nobody");
}

#[test]
fn all_signalled_the_port_frees_and_each_exit_is_reported() {
    let host = host(vec![vec![listener(8080, 7, &[10, 11])], vec![]]);
    let plan = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    let finish = run::execute(&host, &plan, &options(1000, false), &mut Quiet).unwrap();
    assert!(finish.free && !finish.blocked);
    assert_eq!(finish.outcomes, vec![Outcome::Exited(Signal::TERM); 2]);
    let term = libc::SIGTERM;
    assert_eq!(signals(&host), [(10, 0), (11, 0), (10, term), (11, term)]);
}

#[test]
fn a_process_gone_between_lookup_and_signal_is_reported_gone_and_not_signalled() {
    let mut host = host(vec![vec![listener(8080, 7, &[10, 11])], vec![]]);
    host.exit_before_pin.insert(11);
    let plan = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    let finish = run::execute(&host, &plan, &options(1000, false), &mut Quiet).unwrap();
    assert_eq!(finish.outcomes[0], Outcome::Exited(Signal::TERM));
    assert_eq!(finish.outcomes[1], Outcome::Gone);
    assert!(signals(&host).iter().all(|(pid, _)| *pid == 10));
    // A pid now naming another process (another start time) is gone too.
    let mut recycled = self::host(vec![vec![listener(8080, 7, &[10])], vec![]]);
    let plan = super::plan(&recycled, &tcp(), &PortSet::one(8080)).unwrap();
    recycled.vitals.get_mut(&10).unwrap().started += 1;
    let finish = run::execute(&recycled, &plan, &options(1000, false), &mut Quiet).unwrap();
    assert_eq!(finish.outcomes, [Outcome::Gone]);
    assert!(signals(&recycled).is_empty());
}

#[test]
fn one_holder_out_of_reach_means_nobody_is_signalled() {
    let mut host = host(vec![vec![listener(8080, 7, &[10, 11])]]);
    host.denied.insert(11);
    let plan = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    let finish = run::execute(&host, &plan, &options(1000, false), &mut Quiet).unwrap();
    assert!(finish.blocked && !finish.free);
    assert_eq!(
        finish.outcomes,
        [Outcome::NotSignalled, Outcome::PermissionDenied]
    );
    assert!(
        signals(&host).iter().all(|(_, s)| *s == 0),
        "only the permission check: {:?}",
        signals(&host)
    );
}

#[test]
fn pid_1_itself_and_kernel_threads_are_refused() {
    let me = std::process::id();
    let mut host = host(vec![vec![
        listener(8080, 7, &[1, 10]),
        listener(8080, 8, &[me]),
        listener(8080, 9, &[2]),
    ]]);
    host.vitals.get_mut(&2).unwrap().kernel_thread = true;
    let plan = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    let refusals: Vec<(u32, Option<Refusal>)> =
        plan.targets.iter().map(|t| (t.pid, t.refusal)).collect();
    assert!(refusals.contains(&(1, Some(Refusal::Init))));
    assert!(refusals.contains(&(2, Some(Refusal::KernelThread))));
    assert!(refusals.contains(&(me, Some(Refusal::Itself))));
    assert!(refusals.contains(&(10, None)));
    let finish = run::execute(&host, &plan, &options(1000, false), &mut Quiet).unwrap();
    assert!(finish.blocked);
    assert!(signals(&host).iter().all(|(_, s)| *s == 0));
}

#[test]
fn a_process_that_ignores_the_signal_is_still_running_until_escalated() {
    let mut host = host(vec![vec![listener(8080, 7, &[10])]]);
    host.obeying.clear();
    let plan = plan(&host, &tcp(), &PortSet::one(8080)).unwrap();
    let finish = run::execute(&host, &plan, &options(50, false), &mut Quiet).unwrap();
    assert!(!finish.free);
    assert_eq!(finish.outcomes, [Outcome::StillRunning(Signal::TERM)]);
    let finish = run::execute(&host, &plan, &options(50, true), &mut Quiet).unwrap();
    assert_eq!(finish.outcomes, [Outcome::StillRunning(Signal::KILL)]);
    assert_eq!(signals(&host).last(), Some(&(10, libc::SIGKILL)));
}

#[test]
fn destroy_closes_exactly_the_connection_named() {
    let conns = vec![
        listener(8080, 1, &[10]),
        socket(8080, 40001, TcpState::Established, 2, &[10]),
        socket(8080, 40002, TcpState::Established, 3, &[10]),
    ];
    let host = host(vec![conns]);
    let local = "127.0.0.1:8080".parse().unwrap();
    let remote = "127.0.0.1:40001".parse().unwrap();
    let inv = destroy::select(&host, &tcp(), Some((local, remote))).unwrap();
    assert_eq!(inv.sockets.len(), 1);
    assert_eq!(inv.sockets[0].pids, [10], "holders are shown");
    let closed = destroy::destroy(&host, &inv.sockets);
    assert!(matches!(closed[..], [Closed::Reset]));
    let destroyed = host.destroyed.lock().unwrap();
    assert_eq!(destroyed.len(), 1);
    assert_eq!(destroyed[0].remote.port, 40001);
}

#[test]
fn destroy_stops_at_a_refusal_that_holds_for_all() {
    let conns = vec![
        socket(8080, 40001, TcpState::Established, 2, &[10]),
        socket(8080, 40002, TcpState::Established, 3, &[10]),
    ];
    let mut host = host(vec![conns]);
    host.destroy_error = Some(libc::EPERM);
    let inv = destroy::select(&host, &tcp().any_port(8080), None).unwrap();
    let closed = destroy::destroy(&host, &inv.sockets);
    assert!(matches!(closed[..], [Closed::Refused(_), Closed::NotTried]));
}
