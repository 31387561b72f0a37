//! Ctrl-C and SIGTERM as a flag: long-running commands poll it, close their sockets and exit
//! 130 (SIGINT) or 143 (SIGTERM).

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// The signal that arrived since `install`, or 0.
static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// Whether Ctrl-C (SIGINT) or SIGTERM arrived since `install`.
pub fn interrupted() -> bool {
    SIGNAL.load(Ordering::Relaxed) != 0
}

/// Whether it was SIGTERM (exit 143 rather than 130).
pub fn terminated() -> bool {
    SIGNAL.load(Ordering::Relaxed) == libc::SIGTERM
}

/// Sleeps for `total`, waking early on Ctrl-C; true when interrupted.
pub fn sleep(total: Duration) -> bool {
    let end = Instant::now() + total;
    loop {
        if interrupted() {
            return true;
        }
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        std::thread::sleep(left.min(Duration::from_millis(20)));
    }
}

#[cfg(unix)]
extern "C" fn note(signal: libc::c_int) {
    SIGNAL.store(signal, Ordering::Relaxed);
}

/// Catches SIGINT and SIGTERM. Without SA_RESTART, a blocking call returns EINTR, so loops
/// built on `poll` notice at once.
#[cfg(unix)]
pub fn install() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = note as *const () as usize;
        libc::sigemptyset(&mut action.sa_mask);
        for signal in [libc::SIGINT, libc::SIGTERM] {
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Elsewhere Ctrl-C keeps its default effect.
#[cfg(not(unix))]
pub fn install() {}
