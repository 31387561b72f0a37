//! Ctrl-C and SIGTERM as a flag: long-running commands poll it, close their sockets and exit
//! 130 (SIGINT) or 143 (SIGTERM). Writes to stdout and stderr go through `Stream`, which a
//! signal can end even when nobody drains the pipe.

use std::io::{self, Write};
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

/// A write to stdout or stderr gave up: a signal came while nobody was draining the pipe.
#[derive(Debug, thiserror::Error)]
#[error("stopped by a signal while the output was full")]
pub struct Stopped;

/// Whether an error is a write that a signal ended (the exit status is then 130 or 143).
pub fn stopped(error: &anyhow::Error) -> bool {
    crate::exit::io_error_marked::<Stopped>(error)
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Out,
    Err,
}

/// stdout or stderr, unbuffered. std's own handles retry a write that EINTR cut short, so a
/// reader that never drains the pipe would keep a command alive through every Ctrl-C. Here a
/// signal ends a blocked write (no SA_RESTART): after one, output that can go through at once
/// still does (an interrupted probe shows its round), and a pipe that takes nothing for a
/// moment fails with `Stopped`.
#[derive(Debug, Clone, Copy)]
pub struct Stream(Which);

pub fn stdout() -> Stream {
    Stream(Which::Out)
}

pub fn stderr() -> Stream {
    Stream(Which::Err)
}

#[cfg(unix)]
impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        use crate::poll;
        /// How long, after a signal, a write waits for a pipe to take something.
        const DRAIN_GRACE: Duration = Duration::from_millis(250);
        let fd = match self.0 {
            Which::Out => libc::STDOUT_FILENO,
            Which::Err => libc::STDERR_FILENO,
        };
        loop {
            let mut chunk = buf;
            if interrupted() {
                // A reader that is draining gets a moment; one that is not, no longer.
                let mut fds = [poll::entry(fd, poll::OUT)];
                if poll::wait(&mut fds, DRAIN_GRACE)? == 0 {
                    return Err(io::Error::other(Stopped));
                }
                // What a pipe that polls writable takes without blocking.
                chunk = &buf[..buf.len().min(libc::PIPE_BUF)];
            }
            // SAFETY: `chunk` is valid for reads of its length.
            let n = unsafe { libc::write(fd, chunk.as_ptr().cast(), chunk.len()) };
            if n >= 0 {
                return Ok(n as usize);
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => {}
                // Someone else made the descriptor non-blocking: wait for room in slices.
                Some(libc::EAGAIN) => {
                    let mut fds = [poll::entry(fd, poll::OUT)];
                    poll::wait(&mut fds, Duration::from_millis(50))?;
                }
                _ => return Err(e),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Elsewhere no signal handler is installed: std's handles do.
#[cfg(not(unix))]
impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0 {
            Which::Out => io::stdout().write(buf),
            Which::Err => io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self.0 {
            Which::Out => io::stdout().flush(),
            Which::Err => io::stderr().flush(),
        }
    }
}
