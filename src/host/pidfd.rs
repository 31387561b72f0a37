//! Processes held by pidfd (`pidfd_open`, `pidfd_send_signal`): a signal sent through one
//! reaches the process it was opened on or none, never a later process given the same pid.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use super::{Pinned, Vitals};

/// What /proc/PID/stat says about a process: start time, parent, kernel thread.
pub fn vitals(pid: u32) -> Option<Vitals> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// PF_KTHREAD in the flags field.
const PF_KTHREAD: u64 = 0x0020_0000;

/// The fields after the command name, which ends at the last ')' (the name may hold any
/// character, spaces and parentheses included): state is field 3, ppid 4, flags 9,
/// starttime 22.
fn parse_stat(stat: &str) -> Option<Vitals> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Vitals {
        started: field(22)?,
        parent: u32::try_from(field(4)?).ok()?,
        kernel_thread: field(9)? & PF_KTHREAD != 0,
    })
}

/// Opens a pidfd on `pid` if it is still the process that started at `started`; None when
/// that process is gone (exited, or its pid now names another one).
pub fn pin(pid: u32, started: u64) -> io::Result<Option<Box<dyn Pinned>>> {
    let pid_t = libc::pid_t::try_from(pid).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: pidfd_open(2) takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid_t, 0) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ESRCH) => Ok(None),
            _ => Err(e),
        };
    }
    // SAFETY: a descriptor pidfd_open just returned, owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // Read after the open: if the stat still shows the start time seen at the lookup, the
    // pid named that process when the pidfd was opened, so the pidfd holds it.
    match vitals(pid) {
        Some(now) if now.started == started => Ok(Some(Box::new(PidFd(fd)))),
        _ => Ok(None),
    }
}

struct PidFd(OwnedFd);

impl Pinned for PidFd {
    fn signal(&self, signal: i32) -> io::Result<()> {
        // SAFETY: pidfd_send_signal(2) on our descriptor, no siginfo, no flags.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    fn wait_exit(&self, timeout: Duration) -> bool {
        // A pidfd turns readable when its process exits.
        let mut fds = [crate::poll::entry(self.0.as_raw_fd(), crate::poll::IN)];
        matches!(crate::poll::wait(&mut fds, timeout), Ok(n) if n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_after_a_hostile_name() {
        let stat = "4242 (a) b (c) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 \
                    1000 10 1";
        let v = parse_stat(stat).unwrap();
        assert_eq!(v.parent, 17);
        assert_eq!(v.started, 987654);
        assert!(!v.kernel_thread);
        let kthread = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
        assert!(parse_stat(kthread).unwrap().kernel_thread);
    }

    #[test]
    fn this_process_pins_and_takes_signal_zero() {
        let me = std::process::id();
        let v = vitals(me).unwrap();
        let pinned = pin(me, v.started).unwrap().expect("pinned");
        pinned.signal(0).unwrap();
        assert!(!pinned.wait_exit(Duration::ZERO));
        assert!(
            pin(me, v.started + 1).unwrap().is_none(),
            "another start time"
        );
    }
}
