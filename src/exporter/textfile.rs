//! The metrics in a file for node_exporter's textfile collector, replaced atomically: written
//! to a hidden temporary file beside it (which the collector ignores, not ending in `.prom`),
//! synced, then renamed over it, so a reader sees the old file or the new one, never half.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(name) = path.file_name() else {
        bail!("--textfile {}: not a file name", path.display());
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let temporary = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("writing the textfile {}", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("portscope-textfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("portscope.prom");
        super::write(&path, b"a 1\n").unwrap();
        super::write(&path, b"a 2\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"a 2\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["portscope.prom"]);
        let missing = dir.join("no-such-dir").join("x.prom");
        let e = super::write(&missing, b"").unwrap_err();
        assert!(format!("{e:#}").contains("writing the textfile"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
