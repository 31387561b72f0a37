//! A generated corpus of bad input (ports, port lists, hosts, addresses, durations, states,
//! users, pids, counts; control characters, bidirectional overrides, invalid UTF-8 and 100 kB
//! arguments), each run through the real binary: exit 0, 1 or 2, never a panic; on error one
//! `portscope: ` line (clap may add one `tip:`); nothing raw reaches stderr.
//!
//! Everything runs inside a private network namespace (only `lo`), and no host the corpus
//! gives can reach a resolver: each holds a character no host name may, ends in `.invalid`,
//! or has an over-long label. Commands that would run on a valid value (listen, watch) get
//! only values that are refused before they start.

use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::*;

/// Text that must never reach a terminal raw.
const HOSTILE: [&str; 10] = [
    "\u{1b}[2J",
    "\n",
    "\r",
    "\u{7}",
    "\u{7f}",
    "\u{9b}31m",
    "\u{85}",
    "\u{202e}",
    "\u{2066}",
    "\t",
];

/// A small deterministic generator (xorshift), so a failing case can be found again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    /// `text` with a hostile piece put somewhere in it.
    fn spoil(&mut self, text: &str) -> String {
        let hostile = self.pick(&HOSTILE);
        let mut at = (self.next() % (text.len() as u64 + 1)) as usize;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        format!("{}{hostile}{}", &text[..at], &text[at..])
    }
}

const BAD_PORTS: [&str; 22] = [
    "",
    " ",
    "0",
    "65536",
    "70000",
    "-1",
    "+80",
    "8o",
    "０８０",
    "99999999999999999999999",
    "0x50",
    "80.0",
    "no-such-service-x",
    ":80",
    "80:",
    "[80]",
    "%",
    "1e3",
    "٨٠",
    "8 0",
    "-",
    "--",
];
const GOOD_PORTS: [&str; 3] = ["80", "ssh", "65535"];
const BAD_LISTS: [&str; 14] = [
    "1-",
    "-5",
    "5-3",
    "1,,2",
    ",",
    "1-65536",
    "0-10",
    "a-b",
    "1-2-3",
    "1-100,0",
    "22,http,x",
    "1 - 2",
    "65535-1",
    "1-65535,",
];
const BAD_HOSTS: [&str; 16] = [
    "bad host!",
    "a..b!",
    "nowhere.invalid",
    "x.y.INVALID",
    "under_score.invalid",
    "[::1",
    "::1]",
    "[]",
    "fe80::1%",
    "fe80::1%no-such-if",
    "1.2.3.4%lo",
    "fe80::1%99999999999",
    "a/b",
    "host:with:colons!",
    "ünïcode.invalid",
    "*",
];
const BAD_DURATIONS: [&str; 19] = [
    "",
    "-1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "86401",
    "1e5",
    "0x10",
    "1,5",
    "1.2.3",
    "١",
    "+-1",
    "-1s",
    "25h",
    "1d",
    "5 minutes",
    "ms",
];
const GOOD_DURATIONS: [&str; 5] = ["0", "0.001", " 0.01 ", "10ms", "0.01s"];
const STATES: [&str; 12] = [
    "bogus",
    "LISTENING",
    "time_wait_",
    "",
    ",",
    "listen,,",
    "syn",
    "established,nope",
    "-",
    "TIME-WAIT",
    "unconn",
    "close-wait,listen",
];
const USERS: [&str; 9] = [
    "no-such-user-x",
    "",
    "-1",
    "4294967296",
    "root\n",
    "\u{202e}toor",
    "0",
    "root",
    "nobody",
];
const PIDS: [&str; 9] = [
    "abc",
    "-1",
    "4294967296",
    "",
    "1e3",
    "0x1",
    "١٢",
    "1",
    "99999999",
];
const COUNTS: [&str; 8] = [
    "0",
    "-5",
    "abc",
    "99999999999",
    "",
    "1e3",
    "18446744073709551616",
    "3.5",
];
const BAD_ADDRS: [&str; 14] = [
    "[::1]",
    "[::1]:",
    "::1:80",
    "1.2.3.4.5:80",
    "[fe80::1%nope]:80",
    "localhost:80",
    "[::1]:0x50",
    "*:*",
    "127.0.0.1:",
    "[127.0.0.1]:x",
    "300.1.1.1:80",
    "[fe80::1%]:80",
    "a b:80",
    "[::1]:65536",
];

/// One case: the arguments after `portscope`.
type Case = Vec<OsString>;

fn case(args: &[&str]) -> Case {
    args.iter().map(OsString::from).collect()
}

/// Durations the binary takes (such values make `wait` wait): the good ones given here.
fn valid_duration(text: &str) -> bool {
    GOOD_DURATIONS.contains(&text)
}

/// Every value of a category, as given, spoiled with a hostile character, and 100 kB long.
fn variants(rng: &mut Rng, values: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    for v in values {
        all.push(rng.spoil(v));
        all.push(rng.spoil(v));
    }
    let long = |piece: &str| piece.repeat(100_000 / piece.len().max(1));
    let first = values.iter().find(|v| !v.trim().is_empty()).unwrap_or(&"x");
    all.push(long(first));
    all.push(long("9"));
    all.push(rng.spoil(&long("a")));
    all
}

fn corpus() -> Vec<Case> {
    let mut rng = Rng(0x5eed_cafe_f00d_0001);
    let mut cases: Vec<Case> = Vec::new();
    let ports: Vec<&str> = BAD_PORTS.iter().chain(&GOOD_PORTS).copied().collect();
    for p in variants(&mut rng, &ports) {
        cases.push(case(&["who", &p]));
        cases.push(case(&["ls", "--port", &p]));
        cases.push(case(&["ls", "--sport", &p, "-t"]));
        cases.push(case(&["ls", "--dport", &p, "-u"]));
        cases.push(case(&["why-bind", &p]));
        cases.push(case(&["wait", &p, "--timeout", "0.01"]));
        cases.push(case(&["probe", "127.0.0.1", &format!("{p},BAD")]));
        // Nothing listens in the corpus's namespace, and a dry run signals nobody anyway.
        cases.push(case(&["kill", &p, "--dry-run"]));
        cases.push(case(&["doctor", &p, "--interval", "0.01"]));
    }
    for list in variants(&mut rng, &BAD_LISTS) {
        cases.push(case(&["probe", "127.0.0.1", &list]));
        cases.push(case(&["probe", "::1", &list, "--udp"]));
    }
    for host in variants(&mut rng, &BAD_HOSTS) {
        // A spoiled host still holds a character no host name may; a long one, a long label.
        cases.push(case(&["probe", &host, "80"]));
        cases.push(case(&["tcp", "connect", "-q", &format!("{host}:80")]));
        cases.push(case(&["tcp", "connect", "-q", &format!("[{host}]:80")]));
        cases.push(case(&["udp", "send", "-q", &format!("{host}:9"), "x"]));
        cases.push(case(&["wait", "80", "--host", &host, "--timeout", "0.01"]));
    }
    let durations: Vec<String> = variants(&mut rng, &BAD_DURATIONS)
        .into_iter()
        .chain(GOOD_DURATIONS.iter().map(|s| s.to_string()))
        .collect();
    for s in &durations {
        // A valid hold is fine: nothing listens on port 1 of the namespace's loopback.
        cases.push(case(&["tcp", "connect", "127.0.0.1:1", "-q", "--hold", s]));
        if !valid_duration(s) {
            cases.push(case(&["wait", "1", "--timeout", s]));
            cases.push(case(&["watch", "--interval", s]));
            cases.push(case(&["ephemeral", "--watch", s]));
            cases.push(case(&["stats", "--interval", s]));
            cases.push(case(&["doctor", "--interval", s]));
            cases.push(case(&["kill", "1", "--dry-run", "--timeout", s]));
        }
    }
    for state in variants(&mut rng, &STATES) {
        cases.push(case(&["ls", "--state", &state]));
        cases.push(case(&["ls", "-t", "--state", &state, "--json"]));
    }
    // No such namespace: a spoiled host holds a character no namespace name may.
    for name in variants(&mut rng, &BAD_HOSTS) {
        cases.push(case(&["ls", "--netns", &name]));
        cases.push(case(&["who", "80", "--netns", &name]));
    }
    for user in variants(&mut rng, &USERS) {
        cases.push(case(&["ls", "--user", &user]));
    }
    for pid in variants(&mut rng, &PIDS) {
        cases.push(case(&["ls", "--pid", &pid]));
        cases.push(case(&["ls", "--process", &pid]));
    }
    for count in variants(&mut rng, &COUNTS) {
        cases.push(case(&["ephemeral", "sample", "--connect", &count]));
        cases.push(case(&["bench", "--requests", &count, "--size", "0"]));
        cases.push(case(&["probe", "127.0.0.1", "BAD", "--count", &count]));
        cases.push(case(&[
            "ephemeral",
            "sample",
            "--bind",
            "1",
            "--port-range",
            &count,
        ]));
    }
    for a in variants(&mut rng, &BAD_ADDRS) {
        cases.push(case(&["tcp", "listen", &a]));
        cases.push(case(&["udp", "recv", &a]));
        cases.push(case(&["why-bind", &a]));
        cases.push(case(&[
            "tcp",
            "connect",
            "127.0.0.1:1",
            "-q",
            "--source",
            &a,
        ]));
    }
    // Invalid UTF-8, which no error may echo raw.
    for bytes in [&b"\xff\xfe"[..], b"8\x800", b"\x1b[2J\xc3"] {
        for command in [
            ["who"].as_slice(),
            &["ls", "--user"],
            &["probe", "127.0.0.1"],
        ] {
            let mut c = case(command);
            c.push(OsString::from_vec(bytes.to_vec()));
            cases.push(c);
        }
    }
    cases
}

/// Why a run broke the contract, if it did.
fn judge(code: Option<i32>, stderr: &[u8]) -> Result<(), String> {
    let Some(code @ 0..=2) = code else {
        return Err(format!("exit {code:?}"));
    };
    let text = String::from_utf8_lossy(stderr);
    let raw = text.chars().find(|c| {
        (c.is_control() && *c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    });
    if let Some(c) = raw {
        return Err(format!("raw {c:?} on stderr"));
    }
    if text.contains("panicked") {
        return Err("a panic".into());
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.iter().any(|l| !l.starts_with("portscope: ")) {
        return Err("a stderr line without `portscope: `".into());
    }
    let errors = lines
        .iter()
        .filter(|l| {
            !["note:", "hint:", "tip:"]
                .iter()
                .any(|k| l[11..].starts_with(k))
        })
        .count();
    if code == 2 && errors != 1 {
        return Err(format!("{errors} error lines"));
    }
    Ok(())
}

#[test]
fn a_thousand_bad_inputs_get_one_clear_line() {
    let Some(ns) = Netns::new("a_thousand_bad_inputs_get_one_clear_line") else {
        return;
    };
    let cases = corpus();
    assert!(cases.len() >= 1000, "{} cases", cases.len());
    let netns = std::fs::File::open(format!("/run/netns/{}", ns.name)).unwrap();
    let fd = netns.as_raw_fd();
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                while let Some(args) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut cmd = Command::new(bin());
                    cmd.args(args)
                        .env("NO_COLOR", "1")
                        .stdin(Stdio::null())
                        .stdout(Stdio::null())
                        .stderr(Stdio::piped());
                    // SAFETY: setns is async-signal-safe; `fd` stays open while this runs.
                    unsafe {
                        cmd.pre_exec(move || match libc::setns(fd, libc::CLONE_NEWNET) {
                            0 => Ok(()),
                            _ => Err(std::io::Error::last_os_error()),
                        });
                    }
                    let verdict = run(cmd);
                    if let Err(why) = verdict {
                        failures.lock().unwrap().push(format!("{why}: {args:?}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let shown: Vec<String> = failures
        .iter()
        .take(10)
        .map(|f| f.chars().take(300).collect())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases broke the contract, first ones:\n{}",
        failures.len(),
        cases.len(),
        shown.join("\n")
    );
}

/// Runs one case to its end (killed if it has not ended after `HANG`) and judges it.
fn run(mut cmd: Command) -> Result<(), String> {
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let mut stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stderr, &mut all);
        all
    });
    let deadline = Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {HANG:?}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stderr = reader.join().unwrap_or_default();
    judge(status.code(), &stderr).map_err(|why| {
        format!(
            "{why} ({:?})",
            String::from_utf8_lossy(&stderr)
                .chars()
                .take(200)
                .collect::<String>()
        )
    })
}
