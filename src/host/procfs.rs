//! Socket inode -> owning pids, by looking at every descriptor in /proc/<pid>/fd.
//!
//! This is where `ss -p` and `netstat -p` spend most of their time, so it is kept lean: one
//! `openat` per process, then one `statx` per descriptor relative to the open fd directory
//! (the kernel follows the link to the socket and reports its inode, without formatting the
//! `socket:[N]` text that `readlink` costs), processes shared between threads in pid order.
//! Only the type and inode are asked for, without syncing: an open file on a dead NFS server
//! or a stuck FUSE daemon is answered from the cache, not waited for. The calling thread
//! scans too, so a host that refuses new threads (`ulimit -v`, a pid limit) still gets its
//! answer.

use std::collections::HashMap;
use std::ffi::CStr;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rustc_hash::FxHashSet;

use super::{Owners, Scope, task_files};

/// Finds the processes holding these socket inodes; None: every socket any process holds.
pub fn find_owners(wanted: Option<&[u32]>, scope: Scope) -> Owners {
    if wanted.is_some_and(<[u32]>::is_empty) {
        return Owners::default();
    }
    let Ok(proc_dir) = open_dir(None, c"/proc") else {
        return Owners::default();
    };
    let (pids, stop_early) = match scope {
        Scope::All => (list_pids(&proc_dir), false),
        Scope::FirstHolder => (list_pids(&proc_dir), true),
        Scope::Pid(pid) => (vec![pid], false),
    };
    let wanted = match wanted {
        Some(inodes) => Wanted::new(inodes, stop_early),
        None => Wanted::every(),
    };
    let sockfs = sockfs_device();
    // As root, the kernel walks every file table for us (faster than stopping early); /proc
    // is read only for the processes that walk did not report (none open, or hidden from it).
    let mut held = Vec::new();
    let mut reported = FxHashSet::default();
    let walked = match (scope, sockfs) {
        (Scope::All | Scope::FirstHolder, Some((major, minor))) => {
            let mut last = None;
            task_files::walk(major << 20 | minor, &mut |inode, pid| {
                // Records come task by task: one insert per process, not per file.
                if last != Some(pid) {
                    reported.insert(pid);
                    last = Some(pid);
                }
                if inode != 0 {
                    held.push((inode, pid));
                }
            })
            .is_ok()
        }
        _ => false,
    };
    // A walk that failed half-way counts for nothing: /proc answers for every process.
    let (kernel_hits, pids): (Vec<_>, Vec<u32>) = if walked {
        let hits = held.into_iter().filter(|(inode, _)| wanted.take(*inode));
        let left = pids.into_iter().filter(|p| !reported.contains(p));
        (hits.collect(), left.collect())
    } else {
        (Vec::new(), pids)
    };
    let scan = Scan {
        proc_dir: &proc_dir,
        pids: &pids,
        next: AtomicUsize::new(0),
        wanted: &wanted,
        sockfs,
    };
    let helpers = worker_count(pids.len()) - 1;
    let mut cpus = other_cpus().into_iter();
    let results: Vec<(Vec<(u32, u32)>, usize)> = std::thread::scope(|scope| {
        // A helper that cannot be started leaves its share to the others.
        let handles: Vec<_> = (0..helpers)
            .map_while(|_| {
                let cpu = cpus.next();
                let scan = &scan;
                std::thread::Builder::new()
                    .name("owner-scan".into())
                    .spawn_scoped(scope, move || {
                        cpu.inspect(|cpu| run_on(*cpu));
                        scan.some()
                    })
                    .ok()
            })
            .collect();
        // Let a helper started next to this thread run at once, and move away.
        if !handles.is_empty() {
            std::thread::yield_now();
        }
        let mut results = vec![scan.some()];
        results.extend(handles.into_iter().filter_map(|h| h.join().ok()));
        results
    });
    let mut owners = Owners::default();
    for (hits, unreadable) in std::iter::once((kernel_hits, 0)).chain(results) {
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

/// The CPUs this process may run on, but for the one the calling thread is on.
fn other_cpus() -> Vec<usize> {
    // SAFETY: an all-zero cpu_set_t is an empty set; sched_getaffinity fills it.
    let mut allowed: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the size passed is the set's.
    let size = std::mem::size_of::<libc::cpu_set_t>();
    if unsafe { libc::sched_getaffinity(0, size, &mut allowed) } != 0 {
        return Vec::new();
    }
    // SAFETY: sched_getcpu has no preconditions.
    let current = usize::try_from(unsafe { libc::sched_getcpu() }).ok();
    (0..libc::CPU_SETSIZE as usize)
        // SAFETY: `cpu` is below CPU_SETSIZE.
        .filter(|cpu| unsafe { libc::CPU_ISSET(*cpu, &allowed) } && Some(*cpu) != current)
        .collect()
}

/// Moves the calling helper thread to a CPU of its own. Left to itself, the scheduler starts
/// a new thread next to its parent and took up to 20 ms (seen with `perf sched timehist`) to
/// move one of them to the idle CPU, a third of a `who`. A refusal changes nothing.
fn run_on(cpu: usize) {
    // SAFETY: an all-zero cpu_set_t is an empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: `cpu` came from an allowed set, so it is below CPU_SETSIZE.
    unsafe { libc::CPU_SET(cpu, &mut set) };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: this thread, and a set of `size` bytes.
    unsafe { libc::sched_setaffinity(0, size, &set) };
}

fn worker_count(processes: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(8).min(processes.div_ceil(64)).max(1)
}

/// The device (major, minor) of sockfs, where every socket's inode lives: a descriptor that
/// leads to a socket *file* on disk (an O_PATH descriptor of /run/x.sock) is not a socket.
/// None when no socket can be made here (out of descriptors); then any socket counts.
///
/// The socket made to ask is one no listing shows (the scan may run while the table is
/// dumped): a netlink socket, else an unbound UDP one, which sits in no table.
fn sockfs_device() -> Option<(u32, u32)> {
    let cloexec = libc::SOCK_CLOEXEC;
    // SAFETY: plain socket(2) calls; the descriptor is owned below.
    let fd = unsafe {
        match libc::socket(libc::AF_NETLINK, libc::SOCK_DGRAM | cloexec, 0) {
            fd if fd >= 0 => fd,
            _ => libc::socket(libc::AF_INET, libc::SOCK_DGRAM | cloexec, 0),
        }
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just opened and is owned by nobody else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let st = type_and_inode(socket.as_raw_fd(), c"", libc::AT_EMPTY_PATH)?;
    Some((st.stx_dev_major, st.stx_dev_minor))
}

/// statx for the file type and inode only, from the cache (AT_STATX_DONT_SYNC).
fn type_and_inode(dir: libc::c_int, name: &CStr, flags: libc::c_int) -> Option<libc::statx> {
    // SAFETY: an all-zero statx is a valid value to be overwritten.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    let flags = flags | libc::AT_STATX_DONT_SYNC;
    let mask = libc::STATX_TYPE | libc::STATX_INO;
    // SAFETY: `name` is NUL-terminated and `st` is a statx buffer.
    let found = unsafe { libc::statx(dir, name.as_ptr(), flags, mask, &mut st) } == 0;
    found.then_some(st)
}

/// One scan, shared by the threads that work on it.
struct Scan<'a> {
    proc_dir: &'a Dir,
    pids: &'a [u32],
    next: AtomicUsize,
    wanted: &'a Wanted,
    sockfs: Option<(u32, u32)>,
}

impl Scan<'_> {
    /// Takes processes off the shared list in pid order until it is empty or the scan may
    /// stop; returns (inode, pid) hits and how many processes could not be read.
    fn some(&self) -> (Vec<(u32, u32)>, usize) {
        let mut hits = Vec::new();
        let mut unreadable = 0;
        while !self.wanted.done() {
            let Some(pid) = self.pids.get(self.next.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            if let Err(e) = self.process(*pid, &mut hits)
                && e.raw_os_error() == Some(libc::EACCES)
            {
                unreadable += 1;
            }
        }
        (hits, unreadable)
    }

    fn process(&self, pid: u32, hits: &mut Vec<(u32, u32)>) -> io::Result<()> {
        let mut path = [0u8; 24];
        let fd_dir = open_dir(Some(self.proc_dir), fd_path(pid, &mut path))?;
        while let Some(name) = fd_dir.next_name() {
            if name.to_bytes().first() == Some(&b'.') {
                continue;
            }
            if let Some(inode) = self.socket_inode(&fd_dir, name)
                && self.wanted.take(inode)
            {
                hits.push((inode, pid));
                if self.wanted.done() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// The inode of the socket this descriptor refers to; None for anything else, and for a
    /// descriptor closed mid-scan.
    fn socket_inode(&self, fd_dir: &Dir, name: &CStr) -> Option<u32> {
        let st = type_and_inode(fd_dir.fd(), name, 0)?;
        let socket = u32::from(st.stx_mode) & libc::S_IFMT == libc::S_IFSOCK
            && self
                .sockfs
                .is_none_or(|dev| dev == (st.stx_dev_major, st.stx_dev_minor));
        // Socket inodes come from the kernel's 32-bit inode counter (`socket:[N]`).
        socket.then(|| u32::try_from(st.stx_ino).ok()).flatten()
    }
}

/// "<pid>/fd\0" in `buf`, relative to /proc.
fn fd_path(pid: u32, buf: &mut [u8; 24]) -> &CStr {
    let mut number = [0; 20];
    let digits = crate::text::decimal_digits(u64::from(pid), &mut number);
    let pid_len = digits.len();
    buf[..pid_len].copy_from_slice(digits);
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
    /// Every socket is wanted.
    every: bool,
}

impl Wanted {
    fn new(inodes: &[u32], stop_early: bool) -> Wanted {
        let index: HashMap<_, _, _> = inodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        Wanted {
            found: (0..inodes.len()).map(|_| AtomicBool::new(false)).collect(),
            remaining: AtomicUsize::new(index.len()),
            index,
            stop_early,
            every: false,
        }
    }

    fn every() -> Wanted {
        Wanted {
            every: true,
            ..Wanted::new(&[], false)
        }
    }

    /// Whether this inode is wanted; notes it as found.
    fn take(&self, inode: u32) -> bool {
        let Some(i) = self.index.get(&inode) else {
            return self.every;
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

    /// A socket is found by its inode; a descriptor of the socket's file on disk (O_PATH) has
    /// a socket type too, but is not the socket.
    #[test]
    fn sockets_found_and_socket_files_not_mistaken_for_them() {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let dir = std::env::temp_dir().join(format!("portscope-procfs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH)
            .open(&path)
            .unwrap();
        let socket_inode = |fd: i32| {
            // SAFETY: fstat on an open descriptor.
            let mut st: libc::stat = unsafe { std::mem::zeroed() };
            assert_eq!(unsafe { libc::fstat(fd, &mut st) }, 0);
            st.st_ino as u32
        };
        let socket = socket_inode(listener.as_raw_fd());
        let on_disk = std::fs::metadata(&path).unwrap().ino() as u32;
        let me = Scope::Pid(std::process::id());
        let owners = find_owners(Some(&[socket, on_disk]), me);
        assert_eq!(
            owners.by_inode.get(&socket),
            Some(&vec![std::process::id()])
        );
        assert_eq!(
            owners.by_inode.get(&on_disk),
            None,
            "the O_PATH file is no socket"
        );
        drop((listener, file));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fd_paths() {
        let mut buf = [0u8; 24];
        assert_eq!(fd_path(4_294_967_295, &mut buf), c"4294967295/fd");
        assert_eq!(fd_path(7, &mut buf), c"7/fd");
    }
}
