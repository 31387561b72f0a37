//! Socket inode -> owning pids, by reading the links in /proc/<pid>/fd.
//!
//! This is where `ss -p` and `netstat -p` spend most of their time, so it is kept lean: one
//! `openat` per process, then `readlinkat` relative to the open fd directory into a stack
//! buffer (no per-fd path or allocation), processes shared between threads in pid order.

use std::collections::HashMap;
use std::ffi::CStr;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::{Owners, Scope};

/// Finds the processes holding these socket inodes.
pub fn find_owners(wanted: &[u32], scope: Scope) -> Owners {
    if wanted.is_empty() {
        return Owners::default();
    }
    let Ok(proc_dir) = open_dir(None, c"/proc") else {
        return Owners::default();
    };
    let (pids, stop_early) = match scope {
        Scope::All { stop_early } => (list_pids(&proc_dir), stop_early),
        Scope::Pid(pid) => (vec![pid], false),
    };
    let wanted = Wanted::new(wanted, stop_early);
    let next = AtomicUsize::new(0);
    let workers = worker_count(pids.len());
    let results: Vec<(Vec<(u32, u32)>, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| scope.spawn(|| scan_some(&proc_dir, &pids, &next, &wanted)))
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut owners = Owners::default();
    for (hits, unreadable) in results {
        owners.unreadable += unreadable;
        for (inode, pid) in hits {
            owners.by_inode.entry(inode).or_default().push(pid);
        }
    }
    for pids in owners.by_inode.values_mut() {
        pids.sort_unstable();
        pids.dedup();
    }
    owners
}

fn worker_count(processes: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(8).min(processes.div_ceil(64)).max(1)
}

/// Takes processes off the shared list in pid order until it is empty or the scan may stop.
fn scan_some(
    proc_dir: &Dir,
    pids: &[u32],
    next: &AtomicUsize,
    wanted: &Wanted,
) -> (Vec<(u32, u32)>, usize) {
    let mut hits = Vec::new();
    let mut unreadable = 0;
    while !wanted.done() {
        let Some(pid) = pids.get(next.fetch_add(1, Ordering::Relaxed)) else {
            break;
        };
        if let Err(e) = scan_process(proc_dir, *pid, wanted, &mut hits)
            && e.raw_os_error() == Some(libc::EACCES)
        {
            unreadable += 1;
        }
    }
    (hits, unreadable)
}

fn scan_process(
    proc_dir: &Dir,
    pid: u32,
    wanted: &Wanted,
    hits: &mut Vec<(u32, u32)>,
) -> io::Result<()> {
    let mut path = [0u8; 24];
    let fd_dir = open_dir(Some(proc_dir), fd_path(pid, &mut path))?;
    let mut link = [0u8; 64];
    while let Some(name) = fd_dir.next_name() {
        if name.to_bytes().first() == Some(&b'.') {
            continue;
        }
        // SAFETY: `name` is NUL-terminated and `link` has the length passed.
        let len = unsafe {
            libc::readlinkat(
                fd_dir.fd(),
                name.as_ptr(),
                link.as_mut_ptr().cast(),
                link.len(),
            )
        };
        // A process closing fds mid-scan makes readlinkat fail: skip that fd.
        let Ok(len) = usize::try_from(len) else {
            continue;
        };
        if let Some(inode) = socket_inode(&link[..len])
            && wanted.take(inode)
        {
            hits.push((inode, pid));
            if wanted.done() {
                break;
            }
        }
    }
    Ok(())
}

/// `socket:[12345]` -> 12345.
fn socket_inode(link: &[u8]) -> Option<u32> {
    let digits = link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    let mut inode: u32 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        inode = inode.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    Some(inode)
}

/// "<pid>/fd\0" in `buf`, relative to /proc.
fn fd_path(pid: u32, buf: &mut [u8; 24]) -> &CStr {
    let mut digits = [0u8; 10];
    let mut n = pid;
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let pid_len = digits.len() - start;
    buf[..pid_len].copy_from_slice(&digits[start..]);
    buf[pid_len..pid_len + 4].copy_from_slice(b"/fd\0");
    CStr::from_bytes_until_nul(&buf[..]).unwrap_or(c"")
}

fn list_pids(proc_dir: &Dir) -> Vec<u32> {
    let mut pids: Vec<u32> = std::iter::from_fn(|| proc_dir.next_name())
        .filter_map(|name| name.to_str().ok()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// The wanted inodes, shared by the workers; each is counted once when first found.
struct Wanted {
    index: HashMap<u32, usize, BuildHasherDefault<InodeHasher>>,
    found: Vec<AtomicBool>,
    remaining: AtomicUsize,
    stop_early: bool,
}

impl Wanted {
    fn new(inodes: &[u32], stop_early: bool) -> Wanted {
        let index: HashMap<_, _, _> = inodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        Wanted {
            found: (0..inodes.len()).map(|_| AtomicBool::new(false)).collect(),
            remaining: AtomicUsize::new(index.len()),
            index,
            stop_early,
        }
    }

    /// Whether this inode is wanted; notes it as found.
    fn take(&self, inode: u32) -> bool {
        let Some(i) = self.index.get(&inode) else {
            return false;
        };
        if !self.found[*i].swap(true, Ordering::Relaxed) {
            self.remaining.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }

    fn done(&self) -> bool {
        self.stop_early && self.remaining.load(Ordering::Relaxed) == 0
    }
}

/// Inode numbers are already well spread; a multiply is all the hashing they need.
#[derive(Default)]
struct InodeHasher(u64);

impl Hasher for InodeHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8 | u64::from(*b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A directory stream, read with readdir (no allocation per entry).
struct Dir {
    stream: NonNull<libc::DIR>,
}

// SAFETY: the stream is only read through `&self` methods below; concurrent use of
// `next_name` from two threads never happens because only `list_pids` reads /proc's stream,
// before the workers start, and workers only use its fd (with openat, which is thread-safe).
unsafe impl Sync for Dir {}

fn open_dir(parent: Option<&Dir>, path: &CStr) -> io::Result<Dir> {
    let base = parent.map_or(libc::AT_FDCWD, Dir::fd);
    // SAFETY: `path` is NUL-terminated; the result is checked before use.
    let fd = unsafe {
        libc::openat(
            base,
            path.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: fdopendir takes ownership of a valid directory fd on success.
    let stream = unsafe { libc::fdopendir(owned.as_raw_fd()) };
    match NonNull::new(stream) {
        Some(stream) => {
            std::mem::forget(owned);
            Ok(Dir { stream })
        }
        None => Err(io::Error::last_os_error()),
    }
}

impl Dir {
    fn fd(&self) -> libc::c_int {
        // SAFETY: the stream is open until drop.
        unsafe { libc::dirfd(self.stream.as_ptr()) }
    }

    /// The next entry's name; the reference lives until the next call.
    fn next_name(&self) -> Option<&CStr> {
        // SAFETY: the stream is open; readdir returns null at the end or on error.
        let entry = unsafe { libc::readdir(self.stream.as_ptr()) };
        // SAFETY: a non-null entry points at a dirent whose d_name is NUL-terminated.
        NonNull::new(entry).map(|e| unsafe { CStr::from_ptr((*e.as_ptr()).d_name.as_ptr()) })
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: the stream is open and closed exactly once, here.
        unsafe { libc::closedir(self.stream.as_ptr()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_only() {
        assert_eq!(socket_inode(b"socket:[12345]"), Some(12345));
        assert_eq!(socket_inode(b"pipe:[12345]"), None);
        assert_eq!(socket_inode(b"socket:[99999999999]"), None);
        assert_eq!(socket_inode(b"/dev/null"), None);
    }

    #[test]
    fn fd_paths() {
        let mut buf = [0u8; 24];
        assert_eq!(fd_path(4_294_967_295, &mut buf), c"4294967295/fd");
        assert_eq!(fd_path(7, &mut buf), c"7/fd");
    }
}
