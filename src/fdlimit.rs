//! The open-files limit, raised to its hard maximum for commands that open many sockets, and
//! how much of it is free.

/// Raises the soft RLIMIT_NOFILE to the hard limit (at most 65536) and returns the soft limit.
pub fn raise() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 256;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max.min(65536),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit.rlim_cur = raised.rlim_cur;
            }
        }
        limit.rlim_cur as u64
    }
}

/// Descriptors this process may still open: the soft limit (raised first) less those open now.
pub fn free() -> u64 {
    let limit = raise();
    // The directory's own descriptor is counted too: one to spare.
    let open = std::fs::read_dir("/dev/fd").map_or(0, |dir| dir.count() as u64);
    limit.saturating_sub(open)
}
