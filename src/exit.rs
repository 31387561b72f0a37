//! The exit codes every command shares (docs/architecture.md, Contracts).

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: something found, the port is open.
    Success = 0,
    /// Nothing matched, the port is closed, a probe was not all open, a timeout.
    NoMatch = 1,
    /// Usage or runtime error; the message is on stderr.
    Error = 2,
    /// Interrupted by Ctrl-C (SIGINT): 128 + 2.
    Interrupted = 130,
    /// Ended by SIGTERM: 128 + 15.
    Terminated = 143,
}

impl Exit {
    pub fn found(found: bool) -> Exit {
        if found { Exit::Success } else { Exit::NoMatch }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error that means "the thing asked about is not there": a refused connection, a timeout,
/// an unreachable network. It ends the process with status 1, not 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotThere(pub String);

impl Exit {
    /// The status for an error chain: 1 if any cause is `NotThere`, else 2.
    pub fn for_error(error: &anyhow::Error) -> Exit {
        if error.chain().any(|cause| cause.is::<NotThere>()) {
            Exit::NoMatch
        } else {
            Exit::Error
        }
    }
}

/// Whether an error chain holds an I/O error carrying a `T` (a marker such as
/// `output::StdoutClosed` or `interrupt::Stopped`).
pub fn io_error_marked<T: std::error::Error + 'static>(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.get_ref())
            .is_some_and(|inner| inner.is::<T>())
    })
}
