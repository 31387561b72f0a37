//! A kernel whose sock_diag cannot answer: portscope says so and reads /proc/net instead.
//! The test makes sock_diag unavailable for real, with a seccomp filter that fails
//! socket(AF_NETLINK, …) with EAFNOSUPPORT in the portscope child only.

use std::os::unix::process::CommandExt;

use crate::support::*;

#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;

fn stmt(code: u32, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    }
}

/// Installs, in the calling (child) process, a filter refusing netlink sockets.
pub fn refuse_netlink() -> std::io::Result<()> {
    use libc::*;
    let filter = [
        stmt(BPF_LD | BPF_W | BPF_ABS, 4), // seccomp_data.arch
        jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        stmt(BPF_LD | BPF_W | BPF_ABS, 0), // seccomp_data.nr
        jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket as u32, 0, 3),
        stmt(BPF_LD | BPF_W | BPF_ABS, 16), // seccomp_data.args[0], low half
        jump(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK as u32, 0, 1),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EAFNOSUPPORT as u32),
        stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    ];
    let program = sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut _,
    };
    // SAFETY: plain prctl calls; `program` outlives them.
    unsafe {
        if prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || prctl(
                PR_SET_SECCOMP,
                SECCOMP_MODE_FILTER,
                &program as *const sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

#[test]
fn without_sock_diag_reads_proc_net_and_says_so() {
    let (l, port) = listener();
    let (_client, _server) = pair(&l);
    // Local port only, live states only: nothing but this test's sockets can match.
    let filter = [
        "ls",
        "--json",
        "-t",
        "--state",
        "listen,established",
        "--sport",
    ];
    let mut cmd = portscope(&filter);
    cmd.arg(port.to_string());
    // SAFETY: the hook only calls prctl, which is async-signal-safe.
    unsafe { cmd.pre_exec(refuse_netlink) };
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let notes = stderr_of(&out);
    assert_eq!(notes.lines().count(), 1, "one note: {notes}");
    assert!(
        notes.starts_with("portscope: note: cannot open a sock_diag netlink socket"),
        "{notes}"
    );
    assert!(notes.contains("read /proc/net instead"), "{notes}");
    let sockets: Vec<JsonSocket> = serde_json::from_slice(&out.stdout).unwrap();
    let mut states: Vec<_> = sockets.iter().map(|s| s.state.as_str()).collect();
    states.sort_unstable();
    assert_eq!(states, ["ESTABLISHED", "LISTEN"]);
    let listen = sockets.iter().find(|s| s.state == "LISTEN").unwrap();
    assert_eq!(
        listen.pids(),
        vec![std::process::id()],
        "owners still found through /proc"
    );
}

/// Every command that reads the table says how it was read, once: why-bind, wait, bench,
/// lifecycle and the watch stream used to drop the note.
#[test]
fn every_command_passes_the_note_on_once() {
    let (_l, port) = listener();
    let port = port.to_string();
    let run = |args: &[&str]| {
        let mut cmd = portscope(args);
        // SAFETY: the hook only calls prctl, which is async-signal-safe.
        unsafe { cmd.pre_exec(refuse_netlink) };
        cmd
    };
    for args in [
        vec!["why-bind", "127.0.0.1:1"],
        vec!["wait", port.as_str(), "--timeout", "5"],
        vec!["ephemeral"],
        vec!["bench", "--requests", "20"],
        vec!["lifecycle", "--no-overflow"],
    ] {
        let out = run(&args).output().unwrap();
        let err = stderr_of(&out);
        let notes = err
            .matches("portscope: note: cannot open a sock_diag")
            .count();
        assert_eq!(notes, 1, "{args:?}: {err}");
    }
    let watch = Running::spawn(run(&["watch", "--json", "--interval", "0.05"]));
    watch.err_line("note: cannot open a sock_diag");
    watch.err_line("watching");
    watch.signal(libc::SIGINT);
    let mut watch = watch;
    assert_eq!(watch.exit_code(), Some(130));
    let again: Vec<String> = watch
        .rest_of_stderr()
        .into_iter()
        .filter(|l| l.contains("note:"))
        .collect();
    assert!(again.is_empty(), "said once, not at every look: {again:?}");
}
