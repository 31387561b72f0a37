//! What `--all-netns` cannot see, said once and exactly: processes whose namespace link
//! cannot be read are placed by what /proc shows anyone, and only the rest are counted.

use std::process::Command;

use crate::support::*;

/// In a PID namespace of its own (a /proc with only the test's processes): a root shell in
/// the host's network namespace and a root process in a private one (`unshare -n`), both
/// unreadable to `nobody`. Run as nobody, `ls --all-netns` counts only the second: the
/// shell's namespace is nobody's own.
#[test]
fn only_processes_in_namespaces_not_listed_are_counted() {
    let test = "only_processes_in_namespaces_not_listed_are_counted";
    if !is_root() || !have("unshare") || !have("setpriv") {
        return skip(test, "needs root, unshare and setpriv (util-linux)");
    }
    let dir = std::env::temp_dir().join(format!("portscope-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The holder says it is ready through one fifo and holds on by reading another until the
    // shell opens it for writing; nobody must be able to run the binary.
    let script = r#"
        set -e
        mkfifo "$1/ready" "$1/hold"
        unshare -n sh -c 'echo > "$1/ready"; exec cat "$1/hold" > /dev/null' - "$1" &
        read _ < "$1/ready"
        setpriv --reuid=65534 --regid=65534 --clear-groups "$2" ls -tl --all-netns > /dev/null
        : > "$1/hold"
        wait
    "#;
    let out = Command::new("unshare")
        .args(["--pid", "--fork", "--mount-proc", "sh", "-c", script, "-"])
        .arg(&dir)
        .arg(bin())
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let notes: Vec<String> = stderr_of(&out)
        .lines()
        .filter(|l| l.contains("namespace link"))
        .map(str::to_string)
        .collect();
    assert_eq!(
        notes,
        [
            "portscope: note: 1 process whose namespace link cannot be read (permission denied) \
          is in 1 network namespace not among those listed"
        ],
        "{}",
        stderr_of(&out)
    );
}
