//! The metrics in a file for node_exporter's textfile collector, replaced atomically: written
//! to a hidden temporary file beside it (which the collector ignores, not ending in `.prom`),
//! synced, then renamed over it, so a reader sees the old file or the new one, never half.

use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary = temporary(path)?;
    let written = create(&temporary).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        Ok(())
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("writing the textfile {}", path.display()))
}

/// Fails at start, saying why, when the textfile could never be written (a missing or
/// read-only directory, a directory in its place), rather than at every interval: a trial
/// creation of the temporary file, removed at once.
pub fn check(path: &Path) -> Result<()> {
    let temporary = temporary(path)?;
    let tried = if path.is_dir() {
        Err(anyhow!("it is a directory; give a file name in it"))
    } else {
        create(&temporary).map(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
    };
    tried.with_context(|| format!("writing the textfile {}", path.display()))
}

/// The hidden temporary file beside `path` that becomes it.
fn temporary(path: &Path) -> Result<PathBuf> {
    let Some(name) = path.file_name() else {
        bail!("--textfile {}: not a file name", path.display());
    };
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    Ok(dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    )))
}

fn create(temporary: &Path) -> Result<File> {
    File::create(temporary).map_err(|e| {
        let hint = match e.kind() {
            ErrorKind::PermissionDenied => {
                "; this user must be able to write to that directory (the file is written \
                 beside the textfile, then renamed over it)"
            }
            ErrorKind::NotFound => "; the directory does not exist",
            _ => "",
        };
        anyhow!("creating {}: {e}{hint}", temporary.display())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("portscope-textfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("portscope.prom");
        super::check(&path).unwrap();
        assert!(!path.exists(), "a check writes nothing");
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
        let e = super::check(&missing).unwrap_err();
        assert!(
            format!("{e:#}").contains("the directory does not exist"),
            "{e:#}"
        );
        let e = super::check(&dir).unwrap_err();
        assert!(format!("{e:#}").contains("it is a directory"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
