//! Signal names as people type them: `TERM`, `sigterm`, `SIGKILL`, `9`.

use anyhow::{Result, bail};

/// A signal by number, with the name it is shown under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub number: i32,
    pub name: &'static str,
}

const NAMES: &[(&str, i32)] = &[
    ("SIGHUP", libc::SIGHUP),
    ("SIGINT", libc::SIGINT),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGABRT", libc::SIGABRT),
    ("SIGKILL", libc::SIGKILL),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGUSR2", libc::SIGUSR2),
    ("SIGALRM", libc::SIGALRM),
    ("SIGTERM", libc::SIGTERM),
    ("SIGCONT", libc::SIGCONT),
    ("SIGSTOP", libc::SIGSTOP),
    ("SIGTSTP", libc::SIGTSTP),
];

impl Signal {
    pub const TERM: Signal = Signal {
        number: libc::SIGTERM,
        name: "SIGTERM",
    };
    pub const KILL: Signal = Signal {
        number: libc::SIGKILL,
        name: "SIGKILL",
    };

    /// `TERM`, `SIGTERM`, `term` or a number of one of the signals above.
    pub fn parse(text: &str) -> Result<Signal> {
        let upper = text.trim().to_ascii_uppercase();
        let wanted = if upper.bytes().all(|b| b.is_ascii_digit()) {
            NAMES.iter().find(|(_, n)| upper.parse::<i32>().ok() == Some(*n))
        } else {
            let name = upper.strip_prefix("SIG").unwrap_or(&upper);
            NAMES.iter().find(|(full, _)| &full[3..] == name)
        };
        match wanted {
            Some((name, number)) => Ok(Signal {
                number: *number,
                name,
            }),
            None => {
                let known: Vec<&str> = NAMES.iter().map(|(n, _)| &n[3..]).collect();
                bail!(
                    "unknown signal '{}' (known: {})",
                    crate::text::escaped(text),
                    known.join(" ")
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_any_spelling() {
        assert_eq!(Signal::parse("term").unwrap(), Signal::TERM);
        assert_eq!(Signal::parse("SIGKILL").unwrap(), Signal::KILL);
        assert_eq!(Signal::parse("9").unwrap(), Signal::KILL);
        assert_eq!(Signal::parse("Hup").unwrap().number, libc::SIGHUP);
        assert!(Signal::parse("SIGBOGUS").is_err());
        assert!(Signal::parse("0").is_err(), "0 sends nothing");
    }
}
