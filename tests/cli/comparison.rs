//! docs/comparison.md's "Habit → portscope" table, row by row: every portscope line in it
//! runs and does the job of the habit (issue 13).

use std::io::Write;
use std::process::Stdio;

use crate::habits::scene_on;
use crate::support::*;

const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/comparison.md"));

/// The portscope line of each row of the habit table.
fn rows() -> Vec<String> {
    let table = DOC
        .split("## Habit → portscope")
        .nth(1)
        .expect("the habit table")
        .split("\n## ")
        .next()
        .unwrap();
    table
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            l.split('|')
                .nth(2)
                .unwrap()
                .trim()
                .trim_matches('`')
                .to_string()
        })
        .collect()
}

/// What each line prints on stdout; `{pid}` is this test's pid, which holds the scene's
/// sockets. The endpoints and `watch` are run apart.
const PRINTS: &[(&str, &[&str])] = &[
    ("portscope -tlnp", &["127.0.0.1:8080", "LISTEN"]),
    ("portscope -tulpn", &["127.0.0.1:8080", "127.0.0.1:5353"]),
    ("portscope -tuanp", &["TIME_WAIT", "ESTABLISHED", "UNCONN"]),
    ("portscope -s", &["TIME_WAIT", "ESTABLISHED", "LISTEN"]),
    ("portscope -t --state time-wait", &["TIME_WAIT"]),
    ("portscope --state connected", &["ESTABLISHED", "TIME_WAIT"]),
    ("portscope --sport 8080", &["LISTEN", "ESTABLISHED"]),
    ("portscope --dport 8080", &["ESTABLISHED", "TIME_WAIT"]),
    ("portscope --sport 80,443,8000-8100", &["127.0.0.1:8080"]),
    ("portscope who 8080", &["8080/tcp LISTEN"]),
    ("portscope who 8080 --pids", &["{pid}"]),
    ("portscope who 5353/udp --pids", &["{pid}"]),
    ("portscope -tl", &["127.0.0.1:8080"]),
    ("portscope --pid PID", &["127.0.0.1:5353"]),
    ("portscope --user root", &["127.0.0.1:8080"]),
    ("portscope probe 127.0.0.1 8080", &["open"]),
    ("portscope wait 127.0.0.1 8080", &[]),
];

fn args_of(line: &str, pid: u32) -> Vec<String> {
    let pid = pid.to_string();
    line.split_whitespace()
        .skip(1)
        .map(|a| {
            if a == "PID" {
                pid.clone()
            } else {
                a.to_string()
            }
        })
        .collect()
}

/// A row's command; `PID` stands for the scene's holder.
fn run(ns: &Netns, line: &str, pid: u32) -> std::process::Command {
    let args = args_of(line, pid);
    ns.portscope(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A server line and its client line: "hello" typed into the client reaches the server's
/// stdout, and both end with 0.
fn pair(ns: &Netns, server: &str, client: &str, ready: &str) {
    let mut cmd = run(ns, server, 0);
    cmd.stdin(Stdio::null());
    let mut serving = Running::spawn(cmd);
    serving.err_line(ready);
    let mut child = run(ns, client, 0)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{client}: {}", stderr_of(&out));
    serving.out_line("hello");
    assert_eq!(serving.exit_code(), Some(0), "{server}");
}

#[test]
fn every_habit_row_works() {
    let Some((ns, held)) = scene_on("every_habit_row_works", 8080, 5353) else {
        return;
    };
    let lines = rows();
    let find = |prefix: &str| -> String {
        let found = lines.iter().find(|l| l.starts_with(prefix));
        found.unwrap_or_else(|| panic!("no row {prefix}")).clone()
    };
    let mut ran: Vec<String> = Vec::new();
    for line in &lines {
        if ran.contains(line) {
            continue;
        }
        match line.split_whitespace().nth(1) {
            Some("tcp") => {
                let (server, client) =
                    (find("portscope tcp listen"), find("portscope tcp connect"));
                pair(&ns, &server, &client, "listening on");
                ran.extend([server, client]);
            }
            Some("udp") => {
                let (server, client) = (find("portscope udp recv"), find("portscope udp send"));
                pair(&ns, &server, &client, "bound ");
                ran.extend([server, client]);
            }
            Some("watch") => {
                let watch = Running::spawn(run(&ns, line, held.pid));
                watch.err_line("changes follow");
                watch.signal(libc::SIGINT);
                let mut watch = watch;
                assert_eq!(watch.exit_code(), Some(130));
                ran.push(line.clone());
            }
            _ => {
                let (_, prints) = PRINTS
                    .iter()
                    .find(|(l, _)| l == line)
                    .unwrap_or_else(|| panic!("no check for the row {line:?}"));
                let out = run(&ns, line, held.pid).output().unwrap();
                assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr_of(&out));
                let text = stdout_of(&out);
                for want in *prints {
                    let want = want.replace("{pid}", &held.pid.to_string());
                    assert!(text.contains(&want), "{line}: no {want:?} in\n{text}");
                }
                ran.push(line.clone());
            }
        }
    }
    // The checks and the table agree: no row without a check, no check without a row.
    assert!(lines.len() >= 20, "{lines:#?}");
    for (line, _) in PRINTS {
        assert!(
            lines.iter().any(|l| l == line),
            "{line} is not in the table"
        );
    }
    assert_eq!(ran.len(), lines.len());
}
