//! stdout and stderr that cannot take what is written: a full device, a closed pipe. A
//! diagnostic that cannot be written is dropped without changing the exit status; only
//! stdout's closed pipe ends a command quietly; help that cannot be written is an error.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::support::*;

fn full() -> std::fs::File {
    std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap()
}

/// A port nothing listens on (bound, then closed).
fn free_port() -> String {
    let (l, port) = listener();
    drop(l);
    port.to_string()
}

/// The exit status with stderr as given, and with stderr on /dev/full: the same, and never
/// a panic (101).
fn same_status_with_a_full_stderr(mut make: impl FnMut() -> Command, expected: i32) {
    let mut cmd = make();
    let normal = cmd.stdin(Stdio::null()).output().unwrap();
    assert_eq!(normal.status.code(), Some(expected), "{cmd:?}");
    let mut cmd = make();
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(full())
        .status()
        .unwrap();
    assert_eq!(
        status.code(),
        Some(expected),
        "{cmd:?} with stderr on /dev/full"
    );
}

#[test]
fn a_full_stderr_changes_no_exit_status() {
    let port = free_port();
    let target = format!("127.0.0.1:{port}");
    same_status_with_a_full_stderr(|| portscope(&["wait", &port, "--timeout", "0.1"]), 1);
    same_status_with_a_full_stderr(|| portscope(&["who", "0"]), 2);
    same_status_with_a_full_stderr(|| portscope(&["tcp", "connect", &target]), 1);
    // ls reading /proc/net instead of sock_diag, with its note.
    same_status_with_a_full_stderr(
        || {
            let mut cmd = portscope(&["ls", "-t", "--sport", &port]);
            // SAFETY: the hook only calls prctl, which is async-signal-safe.
            unsafe { cmd.pre_exec(crate::fallback::refuse_netlink) };
            cmd
        },
        1,
    );
}

/// stderr a pipe whose reader has gone: the refused connection is still exit 1, not 0.
#[test]
fn a_closed_stderr_pipe_changes_no_exit_status() {
    let target = format!("127.0.0.1:{}", free_port());
    let mut child = portscope(&["tcp", "connect", &target])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(1));
}

#[test]
fn help_and_version_that_cannot_be_written_fail() {
    for args in [["--help"], ["-V"]] {
        let out = portscope(&args).stdout(full()).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr_of(&out);
        assert!(err.starts_with("portscope: writing the help: "), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // A reader that stops early is not a failure.
    let mut child = portscope(&["--help"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// Unprivileged, `lifecycle --packets` says it runs without the capture; with stderr full it
/// runs all the same.
#[test]
fn lifecycle_packets_unprivileged_with_a_full_stderr() {
    let test = "lifecycle_packets_unprivileged_with_a_full_stderr";
    if !is_root() || !have("setpriv") {
        return skip(test, "needs root and setpriv to run as another user");
    }
    let as_nobody = || {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups", bin()])
            .args(["lifecycle", "--packets", "--no-overflow"])
            .stdout(Stdio::null());
        cmd
    };
    if !as_nobody().arg("--help").status().unwrap().success() {
        return skip(test, "the test binary is not executable by uid 65534");
    }
    let out = as_nobody().output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr_of(&out).starts_with("portscope: note: --packets needs root"),
        "{}",
        stderr_of(&out)
    );
    let status = as_nobody().stderr(full()).status().unwrap();
    assert_eq!(status.code(), Some(0));
}
