//! One file per command: resolve the query, collect, render, choose the exit code.

pub mod generate;
pub mod ls;
pub mod who;

use std::io::{BufWriter, Write};

use crate::model::Inventory;

/// Buffered stdout; every command flushes it before returning so a closed pipe is noticed.
pub fn stdout() -> BufWriter<std::io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, std::io::stdout().lock())
}

/// Notes about how the table was read, and the one hint about hidden owners, on stderr.
pub fn report_gaps(inv: &Inventory) {
    for note in &inv.notes {
        eprintln!("portscope: note: {note}");
    }
    let hidden = inv.hidden_owner_count();
    if hidden > 0 && inv.unreadable_processes > 0 {
        let _ = writeln!(
            std::io::stderr(),
            "portscope: hint: the owners of {hidden} socket(s) are other users' processes and are \
             hidden (shown as -); run as root (sudo portscope …) to see them"
        );
    }
}
