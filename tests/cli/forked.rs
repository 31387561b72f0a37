//! Forked processes that hold sockets: children of the test process that keep only the
//! descriptors they are given, do one small thing with them, say so, and wait to be killed.
//! The test harness runs other threads, so a child may only make async-signal-safe calls
//! between fork and its end: plain system calls on memory prepared before the fork.

use std::os::fd::{AsRawFd, RawFd};

/// A forked child holding descriptors; killed and reaped on drop.
pub struct Held {
    pub pid: u32,
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: our own child; kill and reap it.
        unsafe {
            libc::kill(self.pid as i32, libc::SIGKILL);
            libc::waitpid(self.pid as i32, std::ptr::null_mut(), 0);
        }
    }
}

/// Forks a child that closes every descriptor but `keep`, runs `then` (system calls only; it
/// returns false on failure), tells the parent it is ready and pauses until killed. Returns
/// once the child is ready; panics when it failed. Forked from a thread inside a network
/// namespace, the child lives in that namespace.
pub fn hold(keep: &[RawFd], then: &dyn Fn() -> bool) -> Held {
    let mut pipe = [0; 2];
    // SAFETY: a two-int array for pipe2.
    assert_eq!(
        unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) },
        0
    );
    let mut kept: Vec<RawFd> = keep.iter().copied().chain([pipe[1]]).collect();
    kept.sort_unstable();
    // SAFETY: the child below makes only async-signal-safe calls, then pauses or exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        child(&kept, pipe[1], then);
    }
    // SAFETY: our copy of the write end; the read end is read until the child writes or dies.
    unsafe { libc::close(pipe[1]) };
    let mut byte = 0u8;
    // SAFETY: one byte into a valid buffer.
    let n = unsafe { libc::read(pipe[0], (&raw mut byte).cast(), 1) };
    // SAFETY: closing our read end.
    unsafe { libc::close(pipe[0]) };
    let held = Held { pid: pid as u32 };
    assert_eq!(n, 1, "the forked child failed before it was ready");
    held
}

fn child(kept: &[RawFd], ready: RawFd, then: &dyn Fn() -> bool) -> ! {
    // Close every descriptor but the kept ones (sorted), gap by gap.
    let mut low: u32 = 0;
    for fd in kept {
        let fd = *fd as u32;
        if fd > low {
            // SAFETY: close_range(2) on descriptors of this child only.
            unsafe { libc::syscall(libc::SYS_close_range, low, fd - 1, 0) };
        }
        low = fd + 1;
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, low, u32::MAX, 0) };
    if !then() {
        // SAFETY: leaving without running the parent's destructors.
        unsafe { libc::_exit(1) };
    }
    // SAFETY: one byte from a valid buffer, then wait for SIGKILL.
    unsafe {
        libc::write(ready, b"r".as_ptr().cast(), 1);
        loop {
            libc::pause();
        }
    }
}

/// A one-byte message with room for one descriptor, over buffers of the caller's stack.
fn message(byte: &mut [u8; 1], iov: &mut libc::iovec, space: &mut [u64; 4]) -> libc::msghdr {
    *iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // SAFETY: an all-zero msghdr is valid; the pointers outlive its use by the caller.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov;
    msg.msg_iovlen = 1;
    msg.msg_control = space.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(space);
    msg
}

/// Sends `fd` over a connected Unix socket with SCM_RIGHTS.
pub fn send_fd(over: &impl AsRawFd, fd: RawFd) {
    let (mut byte, mut space) = ([b'f'], [0u64; 4]);
    let mut iov = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut msg = message(&mut byte, &mut iov, &mut space);
    // SAFETY: one SCM_RIGHTS control message in the space the msghdr points at.
    unsafe {
        msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(4) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        assert_eq!(libc::sendmsg(over.as_raw_fd(), &msg, 0), 1, "sendmsg");
    }
}

/// In a forked child: receives one descriptor with SCM_RIGHTS and keeps it.
pub fn receive_fd(from: RawFd) -> bool {
    let (mut byte, mut space) = ([0u8], [0u64; 4]);
    let mut iov = libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    };
    let mut msg = message(&mut byte, &mut iov, &mut space);
    // SAFETY: recvmsg (async-signal-safe) into the buffers the msghdr points at.
    unsafe { libc::recvmsg(from, &mut msg, 0) == 1 && msg.msg_controllen > 0 }
}

/// A sockaddr_un for `name` (a path, or `\0name` in the abstract namespace) and its length.
pub fn unix_address(name: &[u8]) -> (libc::sockaddr_un, libc::socklen_t) {
    // SAFETY: an all-zero sockaddr_un is valid.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    addr.sun_family = libc::AF_UNIX as libc::sa_family_t;
    assert!(name.len() < addr.sun_path.len(), "name too long");
    for (slot, byte) in addr.sun_path.iter_mut().zip(name) {
        *slot = *byte as libc::c_char;
    }
    let len = std::mem::size_of::<libc::sa_family_t>() + name.len();
    (addr, len as libc::socklen_t)
}

/// In a forked child: connects a new Unix socket of `kind` to `addr` and keeps it.
pub fn connect_unix(kind: i32, addr: &(libc::sockaddr_un, libc::socklen_t)) -> bool {
    // SAFETY: socket and connect on a prepared address; both async-signal-safe.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, kind, 0);
        fd >= 0 && libc::connect(fd, (&raw const addr.0).cast(), addr.1) == 0
    }
}
