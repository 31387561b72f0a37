//! `portscope kill`: every holder of a port signalled (through pidfds) and the port free
//! after; refusals, another user's process, SIGTERM ignored (`--destroy`: destroy.rs).
//! Holders are forked children of the test inside private namespaces, or its own sockets.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Output};

use crate::forked::{Held, hold};
use crate::support::*;

/// Whether a forked child is still running (not exited, not a zombie). It is not reaped
/// (WNOWAIT): `Held` reaps it on drop, and a reaped pid could name another process by then.
fn running(pid: u32) -> bool {
    // SAFETY: an all-zero siginfo_t is valid for waitid to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT;
    // SAFETY: waitid on our own child, without blocking or reaping.
    let rc = unsafe { libc::waitid(libc::P_PID, pid, &mut info, flags) };
    // SAFETY: waitid filled `info`; si_pid stays 0 while the child runs.
    rc == 0 && unsafe { info.si_pid() } == 0
}

/// A loopback listener inside the namespace held by forked children, each prepared by
/// `then` (system calls only); the test keeps no copy of it.
fn shared_listener(ns: &Netns, thens: &[&(dyn Fn() -> bool + Sync)]) -> (u16, Vec<Held>) {
    ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let held = thens
            .iter()
            .map(|then| hold(&[l.as_raw_fd()], *then))
            .collect();
        (port, held)
    })
}

fn plain() -> bool {
    true
}

fn ignores_sigterm() -> bool {
    // SAFETY: signal(2), async-signal-safe, in the forked child.
    unsafe { libc::signal(libc::SIGTERM, libc::SIG_IGN) != libc::SIG_ERR }
}

fn becomes_nobody() -> bool {
    // SAFETY: setgid/setuid, async-signal-safe, in the forked child.
    unsafe { libc::setgid(65534) == 0 && libc::setuid(65534) == 0 }
}

/// The target lines (`SIGTERM → …`, `refused → …`, `unseen → …`) of a run's stdout.
pub fn target_lines(out: &Output) -> Vec<String> {
    stdout_of(out)
        .lines()
        .filter(|l| l.contains(" → "))
        .map(str::to_string)
        .collect()
}

#[test]
fn kill_frees_a_listener_shared_by_three_processes_and_the_dry_run_lists_the_same() {
    let test = "kill_frees_a_listener_shared_by_three_processes_and_the_dry_run_lists_the_same";
    let Some(ns) = Netns::new(test) else { return };
    let (port, held) = shared_listener(&ns, &[&plain, &plain, &plain]);
    let port = port.to_string();

    let dry = ns
        .portscope(&["kill", &port, "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(dry.status.code(), Some(0), "{}", stderr_of(&dry));
    let listed = target_lines(&dry);
    assert_eq!(listed.len(), 3, "{listed:#?}");
    for h in &held {
        let pid = format!("(pid {},", h.pid);
        assert!(
            listed
                .iter()
                .any(|l| l.starts_with("SIGTERM → ") && l.contains(&pid))
        );
        assert!(running(h.pid), "a dry run signals nobody");
    }

    let real = ns.portscope(&["kill", &port, "--yes"]).output().unwrap();
    assert_eq!(real.status.code(), Some(0), "{}", stderr_of(&real));
    assert_eq!(
        target_lines(&real),
        listed,
        "the dry run listed what the run signals"
    );
    let text = stdout_of(&real);
    for h in &held {
        assert!(
            text.contains(&format!("(pid {}): exited after SIGTERM", h.pid)),
            "{text}"
        );
        assert!(!running(h.pid));
    }
    assert!(text.contains(&format!("port {port}/tcp free")), "{text}");
    assert!(
        ns.ls_json(&["--sport", &port]).is_empty(),
        "the port is free"
    );

    let again = ns.portscope(&["kill", &port, "--yes"]).output().unwrap();
    assert_eq!(again.status.code(), Some(1), "nothing holds it now");
}

#[test]
fn kill_reports_a_process_ignoring_sigterm_still_running_and_escalate_kills_it() {
    let test = "kill_reports_a_process_ignoring_sigterm_still_running_and_escalate_kills_it";
    let Some(ns) = Netns::new(test) else { return };
    let (port, held) = shared_listener(&ns, &[&ignores_sigterm]);
    let (port, pid) = (port.to_string(), held[0].pid);

    let out = ns
        .portscope(&["kill", &port, "--yes", "--timeout", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("(pid {pid}): still running 1.0 s after SIGTERM")),
        "{text}"
    );
    assert!(text.contains("still held"), "{text}");
    assert!(running(pid));

    let out = ns
        .portscope(&[
            "kill",
            &port,
            "--yes",
            "--timeout",
            "1",
            "--escalate",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["free"], true);
    assert_eq!(report["dry_run"], false);
    let target = &report["targets"][0];
    assert_eq!(target["pid"], pid);
    assert_eq!(target["outcome"], "exited");
    assert_eq!(target["detail"], "exited after SIGKILL");
    assert_eq!(target["sockets"][0]["state"], "LISTEN");
    assert!(!running(pid));
}

#[test]
fn kill_leaves_the_port_free_when_only_orphaned_connections_remain() {
    let test = "kill_leaves_the_port_free_when_only_orphaned_connections_remain";
    let Some(ns) = Netns::new(test) else { return };
    // A server holding its listener and one accepted connection whose client stays open: when
    // the server dies, its end of the connection is orphaned in FIN_WAIT2 for tcp_fin_timeout.
    let (port, client, held) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, server) = pair(&l);
        let held = hold(&[l.as_raw_fd(), server.as_raw_fd()], &plain);
        (l.local_addr().unwrap().port(), client, held)
    });
    let port = port.to_string();

    let out = ns
        .portscope(&["kill", &port, "--yes", "--timeout", "5s"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(!running(held.pid));
    let left = ns.ls_json(&["--sport", &port]);
    assert!(
        left.iter().all(|s| s.inode == 0) && left.iter().any(|s| s.state == "FIN_WAIT2"),
        "the server's end is an orphan: {left:?}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr_of(&out));
    assert!(text.contains(&format!("port {port}/tcp free")), "{text}");
    // `wait --free` asks the kernel: the orphan set SO_REUSEADDR (Rust's listeners do, and
    // accepted sockets inherit it), so a bind with it succeeds now and a plain one does not.
    let wait = |extra: &[&str]| {
        let mut args = vec!["wait", port.as_str(), "--free", "--timeout", "300ms"];
        args.extend_from_slice(extra);
        ns.portscope(&args).output().unwrap()
    };
    let plain = wait(&[]);
    assert_eq!(plain.status.code(), Some(1), "{}", stderr_of(&plain));
    let with = wait(&["--reuseaddr"]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr_of(&with));
    assert!(
        stdout_of(&with).contains("with SO_REUSEADDR succeeds now (a plain one still fails"),
        "{}",
        stdout_of(&with)
    );

    // The kernel agrees: a restart (SO_REUSEADDR, as servers set it) listens on the port.
    ns.inside(|| {
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        s.set_reuse_address(true).unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        s.bind(&addr.into()).unwrap();
        s.listen(8).unwrap();
    });
    drop((client, held));
}

#[test]
fn kill_narrowed_by_family_or_state_waits_only_for_the_sockets_it_selected() {
    let test = "kill_narrowed_by_family_or_state_waits_only_for_the_sockets_it_selected";
    let Some(ns) = Netns::new(test) else { return };
    // One port, an IPv4 listener and an IPv6 one, each held by its own process.
    let (port, v4, v6) = ns.inside(|| {
        let l4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l4.local_addr().unwrap().port();
        let l6 = TcpListener::bind(("::1", port)).unwrap();
        let v4 = hold(&[l4.as_raw_fd()], &plain);
        let v6 = hold(&[l6.as_raw_fd()], &plain);
        (port.to_string(), v4, v6)
    });
    let out = ns
        .portscope(&["kill", &port, "-4", "--yes", "--timeout", "3s"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr_of(&out));
    assert!(
        text.contains(&format!("port {port}/tcp (IPv4 sockets) free")),
        "{text}"
    );
    assert!(
        !running(v4.pid) && running(v6.pid),
        "-4 ends the IPv4 holder only"
    );

    // A listener's process, and another holding only a connection it accepted.
    let (port, listening, serving, client) = ns.inside(|| {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let (client, server) = pair(&l);
        let listening = hold(&[l.as_raw_fd()], &plain);
        let serving = hold(&[server.as_raw_fd()], &plain);
        (
            l.local_addr().unwrap().port().to_string(),
            listening,
            serving,
            client,
        )
    });
    let out = ns
        .portscope(&[
            "kill",
            &port,
            "--state",
            "listen",
            "--yes",
            "--timeout",
            "3s",
        ])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr_of(&out));
    assert!(
        text.contains(&format!("port {port}/tcp (LISTEN sockets) free")),
        "{text}"
    );
    assert!(!running(listening.pid) && running(serving.pid));
    drop((client, v6, serving));
}

/// `kill` with stdout a pipe whose reader has gone (`| head -0`): the exit status.
fn kill_unread(ns: &Netns, args: &[&str]) -> Option<i32> {
    let mut ends = [0; 2];
    // SAFETY: a two-int array for pipe2.
    assert_eq!(
        unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    // SAFETY: both descriptors were just made and are owned by nobody else.
    let (reader, writer) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };
    drop(reader);
    let mut all = vec!["kill"];
    all.extend_from_slice(args);
    let out = ns.portscope(&all).stdout(writer).output().unwrap();
    let err = stderr_of(&out);
    assert!(!err.contains("stdout") && !err.contains("pipe"), "{err}");
    out.status.code()
}

#[test]
fn kill_acts_and_tells_the_truth_when_its_reader_is_gone() {
    let test = "kill_acts_and_tells_the_truth_when_its_reader_is_gone";
    let Some(ns) = Netns::new(test) else { return };
    let (port, held) = shared_listener(&ns, &[&ignores_sigterm]);
    let (port, pid) = (port.to_string(), held[0].pid);
    let still_held = kill_unread(&ns, &[&port, "--yes", "--timeout", "300ms"]);
    assert_eq!(
        still_held,
        Some(2),
        "SIGTERM ignored: the port is still held"
    );
    assert!(running(pid));
    let freed = kill_unread(&ns, &[&port, "--yes", "--timeout", "300ms", "--escalate"]);
    assert_eq!(freed, Some(0));
    assert!(!running(pid), "--yes acts whoever reads the report");
    assert_eq!(
        kill_unread(&ns, &[&port, "--yes"]),
        Some(1),
        "nothing holds it"
    );
}

/// portscope run as uid 65534 inside the namespace, with these capabilities added.
fn as_nobody_in(ns: &Netns, caps: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name, "setpriv"]).args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ]);
    if let Some(caps) = caps {
        cmd.arg(format!("--inh-caps={caps}"))
            .arg(format!("--ambient-caps={caps}"));
    }
    cmd.arg(bin()).args(args).env("NO_COLOR", "1");
    cmd.output().unwrap()
}

#[test]
fn kill_as_another_user_is_denied_and_signals_nobody() {
    let test = "kill_as_another_user_is_denied_and_signals_nobody";
    let Some(_) = as_nobody(test) else { return };
    let Some(ns) = Netns::new(test) else { return };
    // Root's process and nobody's hold one listener (root made it).
    let (port, held) = shared_listener(&ns, &[&plain, &becomes_nobody]);
    let (port, root, nobody) = (port.to_string(), held[0].pid, held[1].pid);

    // Plain nobody sees its own process only; the socket is root's, so holders may be out
    // of sight: nothing is signalled.
    let out = as_nobody_in(&ns, None, &["kill", &port, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("out of sight") && text.contains("run as root"),
        "{text}"
    );
    assert!(text.contains("nothing signalled"), "{text}");
    assert!(running(root) && running(nobody));

    // Allowed to see every process but not to signal them: root's is denied by the kernel,
    // and so nobody's is not signalled either.
    let caps = "+sys_ptrace,+dac_read_search";
    let out = as_nobody_in(&ns, Some(caps), &["kill", &port, "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("(pid {root}): permission denied")),
        "{text}"
    );
    assert!(text.contains("run as root"), "{text}");
    assert!(
        text.contains(&format!("(pid {nobody}): not signalled")),
        "{text}"
    );
    assert!(running(root) && running(nobody), "nothing touched");
}

#[test]
fn kill_refuses_itself_and_the_shell_that_started_it() {
    let (l, port) = listener();
    let mut cmd = Command::new("sh");
    cmd.args([
        "-c",
        "\"$0\" kill \"$1\" --yes --json; echo \"sh still here: $?\"",
        bin(),
        &port.to_string(),
    ]);
    // sh and portscope both inherit the listener.
    inherit(&mut cmd, l.as_raw_fd());
    let out = cmd.output().unwrap();
    let text = stdout_of(&out);
    let (json, tail) = text.split_once('\n').unwrap();
    assert_eq!(
        tail.trim(),
        "sh still here: 2",
        "{text} {}",
        stderr_of(&out)
    );
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    let targets = report["targets"].as_array().unwrap();
    let refused = |why: &str| targets.iter().filter(|t| t["refused"] == why).count();
    assert_eq!(refused("itself"), 1, "{json}");
    // sh, and the test process above it (it holds the listener too).
    assert_eq!(refused("ancestor"), 2, "{json}");
    assert!(targets.iter().all(|t| t["outcome"] != "exited"), "{json}");
    assert_eq!(report["free"], false);
    drop(l);
}

/// `kill` under a pseudo-terminal (script): the question, then the answer typed.
fn kill_answering(ns: &Netns, port: &str, answer: &[u8]) -> (Option<i32>, String) {
    use std::process::Stdio;
    let line = format!("ip netns exec {} {} kill {port}", ns.name, bin());
    let mut child = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut keys = child.stdin.take().unwrap();
    let mut screen = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("[y/N]") {
        let n = screen.read(&mut buf).unwrap();
        assert!(n > 0, "no question: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    keys.write_all(answer).unwrap();
    keys.flush().unwrap();
    screen.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    (status.code(), String::from_utf8_lossy(&seen).into_owned())
}

#[test]
fn kill_on_a_terminal_asks_once_and_no_means_nothing() {
    let test = "kill_on_a_terminal_asks_once_and_no_means_nothing";
    if !have("script") {
        return skip(test, "needs script(1) (bsdutils) for a pseudo-terminal");
    }
    let Some(ns) = Netns::new(test) else { return };
    let (port, held) = shared_listener(&ns, &[&plain, &plain]);
    let port = port.to_string();
    let (code, screen) = kill_answering(&ns, &port, b"n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert_eq!(screen.matches("[y/N]").count(), 1, "{screen}");
    assert!(
        screen.contains("send SIGTERM to these 2 processes?"),
        "{screen}"
    );
    assert!(screen.contains("nothing done"), "{screen}");
    assert!(held.iter().all(|h| running(h.pid)));

    let (code, screen) = kill_answering(&ns, &port, b"y\n");
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(
        screen.matches("exited after SIGTERM").count(),
        2,
        "{screen}"
    );
    assert!(held.iter().all(|h| !running(h.pid)));
}

#[test]
fn kill_in_a_pipe_lists_and_waits_for_yes() {
    let test = "kill_in_a_pipe_lists_and_waits_for_yes";
    let Some(ns) = Netns::new(test) else { return };
    let (port, held) = shared_listener(&ns, &[&plain]);
    let out = ns
        .portscope(&["kill", &port.to_string()])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(target_lines(&out).len(), 1, "the list comes first");
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("add --yes") && err.contains("--dry-run"),
        "{err}"
    );
    assert!(running(held[0].pid));
}

#[test]
fn kill_bad_input_is_one_line_and_signals_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["kill"], "which port?"),
        (&["kill", "70000"], "invalid port '70000'"),
        (
            &["kill", "8080", "--signal", "BOGUS"],
            "unknown signal 'BOGUS'",
        ),
        (&["kill", "8080", "--pid", "1"], "--destroy"),
        (&["kill", "--destroy"], "which connections?"),
        (&["kill", "--destroy", "-x", "--dport", "1"], "Unix socket"),
        (&["kill", "--destroy", "127.0.0.1:1"], "LOCAL REMOTE"),
    ];
    for (args, wanted) in cases {
        let out = portscope(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("portscope: ") && err.contains(wanted),
            "{args:?}: {err}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
