//! An ordinary user sees other users' sockets without owners, and one hint.

use crate::support::*;

#[test]
fn other_users_owners_are_hidden_with_one_hint() {
    let test = "other_users_owners_are_hidden_with_one_hint";
    let Some(as_nobody) = as_nobody(test) else {
        return;
    };
    let (_l, port) = listener();
    let out = as_nobody(&["ls", "--json", "--sport", &port.to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "hidden owners are not a failure"
    );
    let sockets: Vec<JsonSocket> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sockets.len(), 1, "root's listener is still listed");
    assert!(sockets[0].processes.is_empty(), "its owner is hidden");
    assert_eq!(sockets[0].uid, 0);
    let hint = stderr_of(&out);
    assert_eq!(hint.lines().count(), 1, "one hint: {hint}");
    assert!(hint.contains("run as root"), "{hint}");

    let table = as_nobody(&["ls", "--sport", &port.to_string()]);
    let row = stdout_of(&table)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string();
    assert!(
        row.contains(" - ") && row.ends_with("root"),
        "owner '-', user root: {row}"
    );
}

/// A listener shared by root's process and one of nobody's: nobody sees its own holder and is
/// told that the socket may have more (the list it sees is not the whole truth).
#[test]
fn a_shared_socket_seen_unprivileged_says_holders_may_be_missing() {
    let test = "a_shared_socket_seen_unprivileged_says_holders_may_be_missing";
    let Some(as_nobody) = as_nobody(test) else {
        return;
    };
    let (l, port) = listener();
    let fd = [std::os::fd::AsRawFd::as_raw_fd(&l)];
    let _root = crate::forked::hold(&fd, &|| true);
    // SAFETY: raw system calls in the forked child (no other thread there). Changing user
    // clears the dumpable flag, which would hide the process from its own user: set it again.
    let nobody = crate::forked::hold(&fd, &|| unsafe {
        libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) == 0
            && libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) == 0
            && libc::prctl(libc::PR_SET_DUMPABLE, 1) == 0
    });
    drop(l);
    let out = as_nobody(&["who", &port.to_string(), "--pids"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(stdout_of(&out), format!("{}\n", nobody.pid));
    let hint = stderr_of(&out);
    assert_eq!(hint.lines().count(), 1, "one hint: {hint}");
    assert!(hint.contains("may have more holders"), "{hint}");
}
