//! uid <-> user name through the C library (getpwuid_r / getpwnam_r), so NSS sources such as
//! LDAP or sssd answer too; sysinfo's own user list reads /etc/passwd only.

#[cfg(unix)]
pub fn lookup_user(uid: u32) -> Option<String> {
    nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|user| user.name)
}

#[cfg(unix)]
pub fn uid_of(name: &str) -> Option<u32> {
    nix::unistd::User::from_name(name)
        .ok()
        .flatten()
        .map(|user| user.uid.as_raw())
}

#[cfg(unix)]
pub fn process_uid(p: &sysinfo::Process) -> Option<u32> {
    p.user_id().map(|uid| **uid)
}

/// Windows identifies users by SID, not uid; the process's user is not shown there.
#[cfg(not(unix))]
pub fn process_uid(_p: &sysinfo::Process) -> Option<u32> {
    None
}

/// Windows sockets have no uid.
#[cfg(not(unix))]
pub fn lookup_user(_uid: u32) -> Option<String> {
    None
}

#[cfg(not(unix))]
pub fn uid_of(_name: &str) -> Option<u32> {
    None
}
