//! `--pids`: the owning processes alone, one pid per line, each once (lsof -t's output), for
//! `xargs kill` and the like.

use std::collections::BTreeSet;
use std::io::{self, Write};

use crate::model::Inventory;

/// Writes every pid holding one of the sockets, lowest first; returns how many.
pub fn write(out: &mut dyn Write, inv: &Inventory) -> io::Result<usize> {
    let pids: BTreeSet<u32> = inv
        .sockets
        .iter()
        .flat_map(|s| &s.pids)
        .chain(inv.unix.iter().flat_map(|s| &s.pids))
        .copied()
        .collect();
    for pid in &pids {
        writeln!(out, "{pid}")?;
    }
    Ok(pids.len())
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_holder_once_lowest_first() {
        let inv = crate::fixtures::inventory();
        let mut out = Vec::new();
        let n = super::write(&mut out, &inv).expect("in memory");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "640\n700\n812\n900\n901\n4242\n"
        );
        assert_eq!(n, 6);
    }
}
