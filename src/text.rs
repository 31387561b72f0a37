//! Wording the whole crate shares: untrusted text made safe for a terminal, a process named
//! the one way people read it, and an errno with the name people search for.

use std::fmt::Write as _;
use std::io;

use crate::model::Process;

/// Whether a character could drive or disguise a terminal: control characters (C0, DEL, C1)
/// and the bidirectional overrides that reorder what is shown (U+202E and kin).
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `text` with every unsafe character written as an escape (`\u{1b}`, `\n`). Process
/// names, command lines, socket paths, interface names and the user's own arguments are chosen
/// by someone else; shown raw they could clear the screen or fake a line.
pub fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
}

pub fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(text, &mut out);
    out
}

/// `n`'s decimal digits, written into the end of `buf`: for hot loops (the owner scan's
/// paths, tables of 20,000 rows) where the formatting machinery shows in profiles.
pub fn decimal_digits(n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut rest = n;
    let mut start = buf.len();
    loop {
        start -= 1;
        buf[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    &buf[start..]
}

/// `nginx (pid 812, user www-data)`, and with `cmdline`: `…: nginx: master process`.
pub fn process(p: &Process, cmdline: bool, out: &mut String) {
    escape_into(&p.name, out);
    let _ = write!(out, " (pid {}", p.pid);
    if let Some(user) = &p.user {
        out.push_str(", user ");
        escape_into(user, out);
    }
    out.push(')');
    if cmdline && !p.cmdline.is_empty() {
        out.push_str(": ");
        escape_into(&p.cmdline, out);
    }
}

/// An argument named as the user typed it, for the start of an error: `--sport '8o'`,
/// `PORTS '22,x'`. A long value is cut (the error says what in it is wrong anyway).
pub fn argument(name: &str, value: &str) -> String {
    const SHOWN: usize = 40;
    let mut out = format!("{name} '");
    let cut: String = value.chars().take(SHOWN).collect();
    escape_into(&cut, &mut out);
    if cut.len() < value.len() {
        out.push('…');
    }
    out.push('\'');
    out
}

/// `1 byte`, `2 bytes`: a count with its noun, singular for one.
pub fn count(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) if !stem.ends_with(['a', 'e', 'o', 'u']) => format!("{n} {stem}ies"),
        _ if ["s", "x", "sh", "ch"].iter().any(|end| noun.ends_with(end)) => {
            format!("{n} {noun}es")
        }
        _ => format!("{n} {noun}s"),
    }
}

/// The errno names people search for, with the meaning in a few words.
const ERRNOS: &[(i32, &str, &str)] = &[
    (libc::EADDRINUSE, "EADDRINUSE", "address in use"),
    (
        libc::EADDRNOTAVAIL,
        "EADDRNOTAVAIL",
        "address not available",
    ),
    (libc::EACCES, "EACCES", "permission denied"),
    (libc::EPERM, "EPERM", "operation not permitted"),
    (libc::ECONNREFUSED, "ECONNREFUSED", "connection refused"),
    (libc::ECONNRESET, "ECONNRESET", "connection reset by peer"),
    (libc::ECONNABORTED, "ECONNABORTED", "connection aborted"),
    (libc::EPIPE, "EPIPE", "broken pipe"),
    (libc::ETIMEDOUT, "ETIMEDOUT", "timed out"),
    (libc::EHOSTUNREACH, "EHOSTUNREACH", "host unreachable"),
    (libc::ENETUNREACH, "ENETUNREACH", "network unreachable"),
    (
        libc::EMFILE,
        "EMFILE",
        "too many open files in this process",
    ),
    (libc::ENFILE, "ENFILE", "too many open files on this host"),
    (libc::ENOBUFS, "ENOBUFS", "no buffer space"),
    (libc::ENOMEM, "ENOMEM", "out of memory"),
    (libc::ENOSPC, "ENOSPC", "no space left on device"),
    (libc::EAGAIN, "EAGAIN", "resource temporarily unavailable"),
    (libc::EINVAL, "EINVAL", "invalid argument"),
];

/// `EADDRINUSE (address in use)`; an error without an errno in its own words.
pub fn errno(e: &io::Error) -> String {
    match e
        .raw_os_error()
        .and_then(|code| ERRNOS.iter().find(|(n, _, _)| *n == code))
    {
        Some((_, name, meaning)) => format!("{name} ({meaning})"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_characters_are_escaped() {
        assert_eq!(escaped("evil\x1b[2Jname\n"), "evil\\u{1b}[2Jname\\n");
        assert_eq!(escaped("a\u{202e}b\u{9b}c"), "a\\u{202e}b\\u{9b}c");
        assert_eq!(escaped("nginx: worker"), "nginx: worker");
    }

    #[test]
    fn decimals() {
        assert_eq!(decimal_digits(0, &mut [0; 20]), b"0");
        assert_eq!(decimal_digits(8080, &mut [0; 20]), b"8080");
        assert_eq!(
            decimal_digits(u64::MAX, &mut [0; 20]),
            b"18446744073709551615"
        );
    }

    #[test]
    fn arguments_and_counts() {
        assert_eq!(argument("--sport", "8o"), "--sport '8o'");
        assert_eq!(argument("PORTS", "a\x1b"), "PORTS 'a\\u{1b}'");
        assert_eq!(
            argument("--port", &"9".repeat(100)),
            format!("--port '{}…'", "9".repeat(40))
        );
        assert_eq!(count(1, "byte"), "1 byte");
        assert_eq!(count(0, "byte"), "0 bytes");
        assert_eq!(count(2, "entry"), "2 entries");
        assert_eq!(count(1, "entry"), "1 entry");
        assert_eq!(count(3, "key"), "3 keys");
        assert_eq!(count(2, "process"), "2 processes");
        assert_eq!(count(1, "process"), "1 process");
    }

    #[test]
    fn errno_names() {
        let e = io::Error::from_raw_os_error(libc::EADDRINUSE);
        assert_eq!(errno(&e), "EADDRINUSE (address in use)");
        assert_eq!(errno(&io::Error::other("odd")), "odd");
    }
}
