//! Smaller edges: a command group without its subcommand, one "not there" rule for TCP and
//! UDP, `--source` with a name, `watch` without a controlling terminal, /proc mounted with
//! hidepid=2, /proc/sys that cannot be read.

use std::io::Read;
use std::process::{Command, Stdio};

use crate::support::*;

fn one_line(out: &std::process::Output) -> String {
    let err = stderr_of(out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("portscope: "), "{err}");
    err
}

#[test]
fn a_group_without_its_subcommand_shows_usage() {
    for (group, commands) in [("tcp", "listen, connect"), ("udp", "recv, send")] {
        let out = portscope(&[group]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = one_line(&out);
        assert!(
            err.contains(&format!("needs a subcommand: {commands}"))
                && err.contains(&format!("usage: portscope {group} ")),
            "{err}"
        );
    }
}

/// No route to the network: "not there" (exit 1) for both, said the same way.
#[test]
fn an_unreachable_network_is_not_there_for_tcp_and_udp() {
    let Some(ns) = Netns::new("an_unreachable_network_is_not_there_for_tcp_and_udp") else {
        return;
    };
    for args in [
        ["tcp", "connect", "10.0.0.1:80", "--timeout", "500ms"].as_slice(),
        &["udp", "send", "10.0.0.1:80", "hi"],
        &["udp", "send", "[2001:db8::1]:80", "hi"],
    ] {
        let out = ns.portscope(args).stdin(Stdio::null()).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr_of(&out));
        let err = stderr_of(&out);
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.contains("network unreachable (no route)"),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn source_takes_an_address_not_a_name() {
    let out = portscope(&["tcp", "connect", "127.0.0.1:9", "--source", "localhost"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = one_line(&out);
    assert!(
        err.contains("'localhost' is not an IP address: --source takes ADDR or ADDR:PORT"),
        "{err}"
    );
}

/// stdout a terminal, stdin not, and no controlling terminal (a new session): the screen
/// cannot read keys, so watch streams events instead of failing with ENXIO.
#[test]
fn watch_without_a_controlling_terminal_streams() {
    let test = "watch_without_a_controlling_terminal_streams";
    if !have("script") || !have("setsid") {
        return skip(test, "needs script(1) and setsid(1) (util-linux, bsdutils)");
    }
    let dir = std::env::temp_dir().join(format!("pstest-{}-watch-setsid", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pid_file = dir.join("pid");
    let line = format!(
        "setsid -w sh -c 'echo $$ > {}; exec {} watch --interval 0.1 </dev/null'",
        pid_file.display(),
        bin()
    );
    let mut child = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut screen = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("changes follow") {
        let n = screen.read(&mut buf).unwrap();
        assert!(n > 0, "ended early: {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // SAFETY: kill(2) on the watch this test started.
    unsafe { libc::kill(pid, libc::SIGINT) };
    screen.read_to_end(&mut seen).unwrap();
    let status = child.wait().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&seen);
    assert!(text.contains("portscope: watching "), "{text:?}");
    assert!(!text.contains("os error"), "{text:?}");
    assert_eq!(status.code(), Some(130), "{text:?}");
}

/// Runs `script` (sh) in a private mount namespace, as root.
fn in_mount_namespace(test: &str, script: &str) -> Option<std::process::Output> {
    if !is_root() || !have("unshare") || !have("setpriv") {
        skip(test, "needs root, unshare and setpriv (util-linux)");
        return None;
    }
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    Some(out)
}

/// With /proc mounted hidepid=2, other users' processes are not even listed: the owner of
/// root's listener is hidden from an ordinary user, and the hint still says why.
#[test]
fn hidden_by_hidepid_still_hints() {
    let test = "hidden_by_hidepid_still_hints";
    let (_l, port) = listener();
    let script = format!(
        "mount -t proc -o hidepid=2 proc /proc && \
         exec setpriv --reuid=65534 --regid=65534 --clear-groups {} ls --sport {port}",
        bin()
    );
    let Some(out) = in_mount_namespace(test, &script) else {
        return;
    };
    if stderr_of(&out).contains("Permission denied") {
        return skip(test, "the test binary is not executable by uid 65534");
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stdout_of(&out).contains(" - "), "{}", stdout_of(&out));
    let err = one_line(&out);
    assert!(err.contains("hint: the owners of 1 socket are"), "{err}");
}

/// /proc/sys covered: ephemeral says which file it could not read.
#[test]
fn ephemeral_says_what_it_could_not_read() {
    let script = format!("mount -t tmpfs none /proc/sys && exec {} ephemeral", bin());
    let Some(out) = in_mount_namespace("ephemeral_says_what_it_could_not_read", &script) else {
        return;
    };
    assert_eq!(out.status.code(), Some(2));
    let err = one_line(&out);
    assert!(
        err.contains("reading /proc/sys/net/ipv4/ip_local_port_range: "),
        "{err}"
    );
}
