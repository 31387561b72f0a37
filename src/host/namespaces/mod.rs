//! Network namespaces on this host: naming one (NAME, PATH or PID → an nsfs file), entering
//! one, and finding every one (`discovery.rs`).

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

mod discovery;
pub use discovery::{Discovery, Unseen, bound, discover};

/// One network namespace, and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The nsfs inode: what `ip netns identify`, `lsns` and `/proc/PID/ns/net` show.
    pub inode: u64,
    /// Where it is bound (`/run/netns/NAME` → NAME), if anywhere.
    pub name: Option<String>,
    /// A file that names it: its bind mount, else a member process's `/proc/PID/ns/net`.
    pub path: PathBuf,
    /// The processes in it, in pid order (empty for a namespace only a mount keeps alive).
    pub pids: Vec<u32>,
}

/// The file for `--netns NAME|PATH|PID`: a bound name (`/run/netns/NAME`), any path (an nsfs
/// file), or a process's namespace. One clear error when it is not there.
pub fn resolve(spec: &str) -> Result<PathBuf> {
    let shown = crate::text::escaped(spec);
    let path = if !spec.is_empty() && spec.bytes().all(|b| b.is_ascii_digit()) {
        let path = PathBuf::from(format!("/proc/{spec}/ns/net"));
        if !Path::new(&format!("/proc/{spec}")).exists() {
            bail!("--netns {shown}: no process with pid {shown}");
        }
        path
    } else if spec.contains('/') {
        PathBuf::from(spec)
    } else if spec.is_empty() || spec == "." || spec == ".." {
        bail!("--netns needs a namespace name, a path or a pid");
    } else {
        let path = PathBuf::from(format!("/run/netns/{spec}"));
        if !path.exists() {
            bail!(
                "--netns {shown}: no network namespace named '{shown}' (no /run/netns/{shown}; \
                 `ip netns list` shows the named ones)"
            );
        }
        path
    };
    if let Err(e) = std::fs::symlink_metadata(&path) {
        let why = match e.kind() {
            std::io::ErrorKind::PermissionDenied => "permission denied (run as root)".to_string(),
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            _ => e.to_string(),
        };
        bail!(
            "--netns {}: {why}",
            crate::text::escaped(&path.display().to_string())
        );
    }
    Ok(path)
}

/// Moves the calling thread into the namespace `path` names. Threads it starts afterwards are
/// born there: called first thing on the main thread, the whole command runs inside, so a
/// trial bind or a connect happens where the sockets are read. /proc stays host-wide.
pub fn enter(path: &Path) -> Result<()> {
    let file = open(path)?;
    setns(&file).map_err(|e| entering_failed(&path.display().to_string(), &e))
}

/// The nsfs file at `path`, opened to enter the namespace it names.
pub(in crate::host) fn open(path: &Path) -> Result<File> {
    let shown = crate::text::escaped(&path.display().to_string());
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => anyhow!(
            "opening network namespace {shown}: permission denied (another user's process: run as root)"
        ),
        // The cause kept: a namespace whose process exited is gone, not refused.
        _ => anyhow::Error::new(e).context(format!("opening network namespace {shown}")),
    })
}

/// Runs `f` on a short-lived thread moved into the namespace `file` names, and never moves
/// the calling thread: a netlink socket belongs to the namespace it is made in, and
/// /proc/sys/net and /proc/thread-self/net show the reading thread's.
#[cfg(target_os = "linux")]
pub(in crate::host) fn on_thread_inside<T: Send>(
    file: &File,
    f: impl FnOnce() -> T + Send,
) -> std::io::Result<T> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("netns".into())
            .spawn_scoped(scope, || setns(file).map(|()| f()))?
            .join()
            .map_err(|_| std::io::Error::other("the thread inside it failed"))?
    })
}

/// Why entering the namespace at `shown` failed, and what to do.
pub(in crate::host) fn entering_failed(shown: &str, e: &std::io::Error) -> anyhow::Error {
    let shown = crate::text::escaped(shown);
    match e.raw_os_error() {
        Some(libc::EPERM) => anyhow!(
            "entering network namespace {shown}: permission denied (needs CAP_SYS_ADMIN: run as root)"
        ),
        Some(libc::EINVAL) => {
            anyhow!("entering network namespace {shown}: not a network namespace file")
        }
        _ => anyhow!("entering network namespace {shown}: {e}"),
    }
}

#[cfg(target_os = "linux")]
fn setns(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor; setns changes only the calling thread's namespace.
    match unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(not(target_os = "linux"))]
fn setns(_file: &File) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// The inode of the namespace the calling thread is in.
pub fn own_inode() -> Option<u64> {
    link_inode(Path::new("/proc/thread-self/ns/net"))
}

/// `f` on a thread inside the namespace `path` names; None when it cannot be entered.
fn inside<T: Send>(path: &Path, f: impl FnOnce() -> T + Send) -> Option<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| enter(path).ok().map(|()| f()))
            .join()
            .ok()
            .flatten()
    })
}

/// `net:[4026531840]` → 4026531840.
fn parse_link(link: &str) -> Option<u64> {
    link.strip_prefix("net:[")?.strip_suffix(']')?.parse().ok()
}

fn link_inode(path: &Path) -> Option<u64> {
    parse_link(std::fs::read_link(path).ok()?.to_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_links() {
        assert_eq!(parse_link("net:[4026531840]"), Some(4026531840));
        assert_eq!(parse_link("mnt:[4026531840]"), None);
        assert_eq!(parse_link("net:[x]"), None);
    }

    #[test]
    fn bad_names_are_one_clear_error() {
        let e = resolve("i15-no-such-namespace").unwrap_err().to_string();
        assert!(
            e.contains("no network namespace named 'i15-no-such-namespace'"),
            "{e}"
        );
        let e = resolve("4294967295").unwrap_err().to_string();
        assert!(e.contains("no process with pid 4294967295"), "{e}");
        let e = resolve("/nonexistent/i15").unwrap_err().to_string();
        assert!(e.contains("no such file"), "{e}");
    }
}
