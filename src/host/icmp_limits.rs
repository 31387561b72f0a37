//! The ICMP rate limits of a UDP sweep's target, read in the network namespace that holds its
//! address when that namespace is on this machine (this one, or one named in /run/netns).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

use crate::model::{IcmpLimits, LimitSource};

const DIR: &str = "/proc/sys/net/ipv4";
const NAMED: &str = "/run/netns";

/// The limits `ip` answers under, and where they were read.
pub fn for_target(ip: IpAddr) -> IcmpLimits {
    if holds(ip) {
        return read(LimitSource::Loopback);
    }
    if let Some(limits) = named_namespaces().into_iter().find_map(|(name, file)| {
        inside(&file, || {
            holds(ip).then(|| read(LimitSource::Namespace(name.clone())))
        })
    }) {
        return limits;
    }
    read(LimitSource::Assumed)
}

/// Whether the calling thread's namespace has the address: a bind to it succeeds.
fn holds(ip: IpAddr) -> bool {
    ip.is_loopback() || UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The limits as the calling thread's namespace has them (kernel defaults where unreadable).
fn read(source: LimitSource) -> IcmpLimits {
    let number = |name: &str, default: u32| {
        std::fs::read_to_string(format!("{DIR}/{name}"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(default)
    };
    IcmpLimits {
        ratelimit_ms: number("icmp_ratelimit", 1000),
        ratemask: number("icmp_ratemask", 6168),
        msgs_per_sec: number("icmp_msgs_per_sec", 1000),
        source,
    }
}

fn named_namespaces() -> Vec<(String, std::fs::File)> {
    let Ok(dir) = std::fs::read_dir(NAMED) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let file = std::fs::File::open(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), file))
        })
        .collect()
}

/// `f` on a short-lived thread inside the namespace; None when it cannot be entered.
fn inside<T: Send>(file: &std::fs::File, f: impl FnOnce() -> Option<T> + Send) -> Option<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: a valid descriptor; only this thread changes namespace.
                if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                    return None;
                }
                f()
            })
            .join()
            .ok()
            .flatten()
    })
}
