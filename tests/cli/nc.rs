//! The endpoints where nc users have habits (issue 13, item 5): a listener on a terminal sends
//! what is typed, a large transfer is one progress line, UDP lists no TCP options.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};

use crate::support::*;

/// `line` run by a shell in `ns` on script(1)'s pseudo-terminal: the child (its stdin is the
/// keyboard) and the screen.
fn on_a_terminal(ns: &Netns, line: &str) -> (Child, BufReader<ChildStdout>) {
    let mut script = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "script",
            "-qfec",
            line,
            "/dev/null",
        ])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let screen = BufReader::new(script.stdout.take().unwrap());
    (script, screen)
}

/// `tcp listen` on a terminal (script's pseudo-terminal): a line typed goes to the peer.
#[test]
fn a_listener_on_a_terminal_sends_what_is_typed() {
    let test = "a_listener_on_a_terminal_sends_what_is_typed";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    if !have("script") {
        return skip(test, "needs script(1) for a pseudo-terminal");
    }
    let (mut script, mut screen) =
        on_a_terminal(&ns, &format!("{} tcp listen 127.0.0.1:7020 --once", bin()));
    let mut shown = String::new();
    while !shown.contains("listening on") {
        assert!(screen.read_line(&mut shown).unwrap() > 0, "ended: {shown}");
    }
    let mut client = ns.inside(|| TcpStream::connect("127.0.0.1:7020").unwrap());
    client.set_read_timeout(Some(HANG)).unwrap();
    while !shown.contains("accepted") {
        assert!(screen.read_line(&mut shown).unwrap() > 0, "ended: {shown}");
    }
    let mut typing = script.stdin.take().unwrap();
    typing.write_all(b"hello from the keyboard\n").unwrap();
    let mut got = [0u8; 64];
    let n = client.read(&mut got).unwrap();
    assert_eq!(&got[..n], b"hello from the keyboard\n");
    drop(client);
    drop(typing);
    let _ = std::thread::spawn(move || {
        let _ = screen.read_to_string(&mut String::new());
    });
    assert!(script.wait().unwrap().success());
}

/// 20 MiB through `tcp listen` with its event lines in a log (stderr not a terminal): a few
/// lines and one total, not 1,280 `received` lines; `--json` still has every read (of 1 MiB:
/// JSON spells each zero byte in six).
#[test]
fn a_large_transfer_is_a_progress_line_and_a_total() {
    let Some(ns) = Netns::new("a_large_transfer_is_a_progress_line_and_a_total") else {
        return;
    };
    for json in [false, true] {
        let size: usize = if json { 1 << 20 } else { 20 << 20 };
        let mut args = vec!["tcp", "listen", "127.0.0.1:7021", "--once", "--follow", "0"];
        if json {
            args.push("--json");
        }
        let mut cmd = ns.portscope(&args);
        cmd.stdin(Stdio::null());
        let listen = Running::spawn_to(cmd, if json { Stdio::piped() } else { Stdio::null() });
        if json {
            listen.out_line("\"listening\"");
        } else {
            listen.err_line("listening on");
        }
        ns.inside(|| {
            let mut client = TcpStream::connect("127.0.0.1:7021").unwrap();
            let chunk = vec![0u8; 64 << 10];
            for _ in 0..size / chunk.len() {
                client.write_all(&chunk).unwrap();
            }
        });
        let mut listen = listen;
        assert_eq!(listen.exit_code(), Some(0));
        if json {
            let reads = listen
                .rest_of_stdout()
                .iter()
                .filter(|l| l.contains("\"event\":\"received\""))
                .count();
            assert!(reads > 20, "JSON keeps every read: {reads}");
            continue;
        }
        let lines = listen.rest_of_stderr();
        let received: Vec<&String> = lines.iter().filter(|l| l.contains("received")).collect();
        assert!(received.len() < 40, "{lines:#?}");
        let total = format!("[1] received {size} bytes in all, in ");
        assert!(lines.iter().any(|l| l.starts_with(&total)), "{lines:#?}");
    }
}

/// The same 20 MiB with the event lines on a terminal (stdout, the data, elsewhere): the
/// first reads are lines of their own, then one progress line redrawn in place (`\r`), then
/// the total.
#[test]
fn a_large_transfer_on_a_terminal_is_one_line_redrawn() {
    let test = "a_large_transfer_on_a_terminal_is_one_line_redrawn";
    let Some(ns) = Netns::new(test) else {
        return;
    };
    if !have("script") {
        return skip(test, "needs script(1) for a pseudo-terminal");
    }
    let line = format!(
        "{} tcp listen 127.0.0.1:7022 --once --follow 0 </dev/null >/dev/null",
        bin()
    );
    let (mut script, mut screen) = on_a_terminal(&ns, &line);
    let mut shown = String::new();
    while !shown.contains("listening on") {
        assert!(screen.read_line(&mut shown).unwrap() > 0, "ended: {shown}");
    }
    let size = 20usize << 20;
    ns.inside(|| {
        let mut client = TcpStream::connect("127.0.0.1:7022").unwrap();
        let chunk = vec![0u8; 64 << 10];
        for _ in 0..size / chunk.len() {
            client.write_all(&chunk).unwrap();
        }
    });
    screen.read_to_string(&mut shown).unwrap();
    assert!(script.wait().unwrap().success(), "{shown:?}");
    assert!(
        shown.contains("\r\x1b[K[1] received "),
        "redrawn in place: {shown:?}"
    );
    assert!(
        shown.contains(" so far ("),
        "bytes so far and a rate: {shown:?}"
    );
    let total = format!("[1] received {size} bytes in all, in ");
    assert!(shown.contains(&total), "{shown:?}");
    let lines = shown.lines().filter(|l| l.contains("received")).count();
    assert!(lines <= 12, "{lines} lines: {shown:?}");
}

#[test]
fn udp_commands_list_no_tcp_options() {
    for (command, tcp_only) in [
        (["udp", "send"], false),
        (["udp", "recv"], false),
        (["tcp", "connect"], true),
        (["tcp", "listen"], true),
    ] {
        let help = stdout_of(
            &portscope(&[command[0], command[1], "--help"])
                .output()
                .unwrap(),
        );
        for option in ["--nodelay", "--follow"] {
            assert_eq!(help.contains(option), tcp_only, "{command:?} {option}");
        }
    }
    let out = portscope(&["udp", "send", "127.0.0.1:9", "x", "--nodelay"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
