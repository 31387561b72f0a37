//! poll(2) over a few descriptors, returning early on a signal: the one wait every socket
//! loop (endpoints, probe) is built on.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

pub const IN: libc::c_short = libc::POLLIN;
pub const OUT: libc::c_short = libc::POLLOUT;

/// A poll entry for `fd` (-1: ignored) waiting for `events`.
pub fn entry(fd: RawFd, events: libc::c_short) -> libc::pollfd {
    libc::pollfd {
        fd,
        events,
        revents: 0,
    }
}

/// Waits until a descriptor is ready, the timeout passes, or a signal arrives (then 0).
pub fn wait(fds: &mut [libc::pollfd], timeout: Duration) -> io::Result<usize> {
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid slice of pollfd for its whole length.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    if n >= 0 {
        return Ok(n as usize);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::Interrupted {
        Ok(0)
    } else {
        Err(e)
    }
}

/// Whether poll marked this entry readable (or hung up / in error, which a read reports).
pub fn readable(fd: &libc::pollfd) -> bool {
    fd.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
}

/// Whether poll marked this entry writable (or in error, which a write reports).
pub fn writable(fd: &libc::pollfd) -> bool {
    fd.revents & (libc::POLLOUT | libc::POLLHUP | libc::POLLERR) != 0
}
