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
