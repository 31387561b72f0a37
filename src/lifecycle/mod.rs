//! The TCP lifecycle lab on loopback: each step of a connection's life with real sockets, and
//! the kernel's table after it.

mod closes;
mod lab;
pub mod model;
#[cfg(target_os = "linux")]
mod packets;
mod table;

pub use lab::{Close, Lab, Segments, connection, overflow};

/// The packet capture, when it can run (Linux, root: a private network namespace and an
/// AF_PACKET socket); otherwise why not, for a note.
#[cfg(target_os = "linux")]
pub fn capture() -> Result<Segments, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err("--packets needs root (a private network namespace and an AF_PACKET socket); running without it".into());
    }
    match packets::Capture::start() {
        Ok(mut capture) => Ok(Box::new(move |names| {
            capture.take(&|addr| names.get(&addr).copied().unwrap_or("?"))
        })),
        Err(e) => Err(format!(
            "cannot capture packets ({e}); running without them"
        )),
    }
}

#[cfg(not(target_os = "linux"))]
pub fn capture() -> Result<Segments, String> {
    Err("--packets exists on Linux only; running without it".into())
}
