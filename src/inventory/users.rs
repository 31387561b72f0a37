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

/// Windows sockets have no uid.
#[cfg(not(unix))]
pub fn lookup_user(_uid: u32) -> Option<String> {
    None
}

#[cfg(not(unix))]
pub fn uid_of(_name: &str) -> Option<u32> {
    None
}
