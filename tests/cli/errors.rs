//! Bad input: one line on stderr starting `portscope: `, exit 2, no panic.

use crate::support::*;

fn one_line_error(args: &[&str], wanted: &str) {
    let out = portscope(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = stderr_of(&out);
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(err.starts_with("portscope: "), "{err}");
    assert!(
        err.contains(wanted),
        "{args:?}: expected '{wanted}' in {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_arguments() {
    one_line_error(&["ls", "--port", "0"], "invalid port '0'");
    one_line_error(&["ls", "--sport", "70000"], "ports are 1-65535");
    one_line_error(
        &["ls", "--dport", "no-such-service-x"],
        "unknown port 'no-such-service-x'",
    );
    one_line_error(&["ls", "--state", "bogus"], "unknown state 'bogus'");
    one_line_error(
        &["ls", "--user", "no-such-user-x"],
        "unknown user 'no-such-user-x'",
    );
    one_line_error(&["ls", "--pid", "abc"], "invalid value 'abc'");
    one_line_error(&["ls", "--sort", "size"], "invalid value 'size'");
    one_line_error(&["who"], "required");
    one_line_error(&["who", ""], "empty port");
    one_line_error(&["frobnicate"], "unrecognized subcommand");
    one_line_error(&["ls", "--no-owners", "--pid", "1"], "cannot be used with");
    one_line_error(&["ls", "-i", "--pids"], "cannot be used with");
    one_line_error(&["who", "-i", "--pids", "80"], "cannot be used with");
    // Examining a process that is not there finds nothing wrong with it: a mistake to say so.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let pid = gone.id().to_string();
    one_line_error(&["doctor", "--pid", &pid], &format!("no process {pid}"));
}

#[test]
fn bad_numbers_are_usage_errors() {
    let duration = "expected a duration like 500ms, 1.5s or 2m (a bare number is seconds)";
    one_line_error(&["watch", "--interval", "inf"], duration);
    one_line_error(&["stats", "--interval", "soon"], duration);
    one_line_error(
        &["stats", "--interval", "0"],
        "--interval must be at least 50ms",
    );
    one_line_error(&["doctor", "--interval", "1e3"], duration);
    one_line_error(&["doctor", "0"], "invalid port '0'");
    one_line_error(&["doctor", "80,70000"], "ports are 1-65535");
    one_line_error(&["wait", "80", "--timeout", "nan"], duration);
    one_line_error(
        &["tcp", "connect", "127.0.0.1:9", "--hold", "1e30"],
        duration,
    );
    one_line_error(
        &["probe", "127.0.0.1", "9", "--timeout", "5 minutes"],
        duration,
    );
    one_line_error(
        &["exporter", "--probe-timeout", "2m"],
        "--probe-timeout must be",
    );
    one_line_error(
        &["bench", "--size", "100000000000"],
        "is not in 1..=16777216",
    );
    one_line_error(&["bench", "--concurrency", "100000"], "is not in 1..=1024");
    one_line_error(
        &["probe", "127.0.0.1", "80", "--payload", "hex:zz"],
        "is not a hex digit",
    );
    // Bytes sliced mid-character used to panic (exit 101).
    one_line_error(
        &["probe", "127.0.0.1", "9", "--udp", "--payload", "hex:aé0"],
        "'é' is not a hex digit",
    );
}

#[test]
fn a_misspelt_flag_keeps_clap_s_tip() {
    let out = portscope(&["ls", "--sprt", "80"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr_of(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "one error line and one tip: {err}");
    assert!(
        lines[0].starts_with("portscope: unexpected argument '--sprt'"),
        "{err}"
    );
    assert_eq!(
        lines[1],
        "portscope: tip: a similar argument exists: '--sport'"
    );
}

#[test]
fn control_characters_in_arguments_stay_on_one_line() {
    for args in [
        ["who", "8\n0"].as_slice(),
        &["who", "8\u{1b}[2J0"],
        &["probe", "a\u{1b}[2Jb", "80"],
        &["ls", "--user", "x\u{202e}y"],
    ] {
        let out = portscope(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr_of(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            !err.contains('\u{1b}') && !err.contains('\u{202e}'),
            "{args:?}: raw control characters reached stderr: {err:?}"
        );
    }
}

#[test]
fn an_unknown_host_is_refused_without_the_resolver() {
    // Neither can reach a name server: one is not a name, the other is reserved (RFC 6761).
    one_line_error(
        &["probe", "bad host!", "80"],
        "neither an IP address nor a valid host name",
    );
    one_line_error(
        &["probe", "nowhere.invalid", "80"],
        "unknown host 'nowhere.invalid'",
    );
}

#[test]
fn help_and_version_succeed() {
    let out = portscope(&["--help"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout_of(&out).contains("Examples:"));
    let out = portscope(&["who", "--help"]).output().unwrap();
    assert!(stdout_of(&out).contains("portscope who 8080"));
    assert_eq!(
        portscope(&["--version"]).output().unwrap().status.code(),
        Some(0)
    );
}

#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = portscope(&["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        assert!(stdout_of(&out).contains("portscope"), "{shell}");
    }
    let bash = stdout_of(&portscope(&["completions", "bash"]).output().unwrap());
    assert!(bash.contains("--sport"), "completions know the flags");
    let man = stdout_of(&portscope(&["man"]).output().unwrap());
    assert!(
        man.starts_with(".ie") || man.contains(".TH portscope"),
        "{}",
        &man[..man.len().min(200)]
    );
}

/// Every page a man page refers to (`portscope-probe(1)`, `portscope-tcp-listen(1)`) is one
/// `man --dir` writes, and man(1) reads each of them.
#[test]
fn man_pages_exist_for_every_reference() {
    let dir = std::env::temp_dir().join(format!("pstest-{}-man", std::process::id()));
    let out = portscope(&["man", "--dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let written: Vec<String> = stdout_of(&out).lines().map(str::to_string).collect();
    assert!(written.len() >= 15, "{written:#?}");
    let mut referenced = std::collections::BTreeSet::new();
    for path in &written {
        let page = std::fs::read_to_string(path).unwrap();
        for (at, _) in page.match_indices("(1)") {
            let name: String = page[..at]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '\\'))
                .collect::<Vec<char>>()
                .into_iter()
                .rev()
                .collect();
            referenced.insert(name.replace("\\-", "-"));
        }
    }
    assert!(referenced.contains("portscope-probe") && referenced.contains("portscope-tcp-listen"));
    for name in &referenced {
        let path = dir.join(format!("{name}.1"));
        assert!(path.exists(), "{name}(1) is referred to but not written");
        if have("man") {
            let shown = std::process::Command::new("man")
                .args(["-l", path.to_str().unwrap()])
                .env("MANPAGER", "cat")
                .env("MANWIDTH", "80")
                .output()
                .unwrap();
            assert!(
                shown.status.success(),
                "man -l {name}.1: {}",
                stderr_of(&shown)
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A stdout that cannot take the output (a full disk) is an error that says what failed.
#[test]
fn a_full_stdout_says_so_in_one_line() {
    let (_l, port) = listener();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    for args in [
        vec!["ls", "--sport", &port.to_string()],
        vec!["who", &port.to_string()],
    ] {
        let out = portscope(&args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr_of(&out);
        assert_eq!(
            err, "portscope: writing to stdout: ENOSPC (no space left on device)\n",
            "{args:?}"
        );
    }
}

/// `ephemeral sample` refuses what the open-files limit cannot hold, and says why in terms of
/// the method: only connections have an accepted end.
#[test]
fn sample_beyond_the_open_files_limit() {
    use std::os::unix::process::CommandExt;
    for (method, both_ends) in [("--udp", false), ("--bind", false), ("--connect", true)] {
        let mut cmd = portscope(&["ephemeral", "sample", method, "200"]);
        // SAFETY: setrlimit is async-signal-safe; it lowers this child's limits only.
        unsafe {
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 100,
                    rlim_max: 100,
                };
                match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                }
            });
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{method}");
        let err = stderr_of(&out);
        assert!(err.contains("but the limit is 100 (ulimit -n"), "{err}");
        assert_eq!(err.contains("accepted end"), both_ends, "{method}: {err}");
    }
}

/// `ls --pid` never ends silently when it could not look: a process whose descriptors the
/// caller cannot read is named as such, a pid that does not exist too.
#[test]
fn ls_pid_says_why_it_listed_nothing() {
    let test = "ls_pid_says_why_it_listed_nothing";
    if as_nobody(test).is_none() {
        return;
    }
    let Some(ns) = Netns::new(test) else {
        return;
    };
    // A socket this (root) process holds, in the namespace.
    let _held = ns.inside(|| std::net::TcpListener::bind("127.0.0.1:0").unwrap());
    let me = std::process::id().to_string();
    let out = std::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
        ])
        .args(["--clear-groups", bin(), "ls", "--pid", &me])
        .output()
        .unwrap();
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("the open files of pid {me} cannot be read")),
        "{err}"
    );
    assert!(err.contains("run as root"), "{err}");
    // As root it is listed.
    assert_eq!(ns.ls_json(&["--pid", &me]).len(), 1);
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max").unwrap();
    let out = ns
        .portscope(&["ls", "--pid", pid_max.trim()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains(&format!("no process has pid {}", pid_max.trim())),
        "{}",
        stderr_of(&out)
    );
}
