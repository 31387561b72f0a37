//! The exit codes every command shares (DESIGN.md §3).

/// What the process tells its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success: something found, the port is open.
    Success = 0,
    /// Nothing matched, the port is closed, a probe was not all open, a timeout.
    NoMatch = 1,
    /// Usage or runtime error; the message is on stderr.
    Error = 2,
    /// Interrupted by Ctrl-C.
    Interrupted = 130,
}

impl Exit {
    pub fn found(found: bool) -> Exit {
        if found { Exit::Success } else { Exit::NoMatch }
    }

    pub fn code(self) -> u8 {
        self as u8
    }
}
