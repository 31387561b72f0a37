//! Durations as people type them, for every duration flag: `500ms`, `1.5s`, `2m`, `1h`; a
//! bare number is seconds. Finite, not negative, at most a day (longer waits are Ctrl-C's
//! job). A child of `cli` so that the command line stays buildable from cli.rs alone.

use std::time::Duration;

/// The longest duration any flag takes.
const MOST: f64 = 86_400.0;

/// What every refusal says.
const EXPECTED: &str =
    "expected a duration like 500ms, 1.5s or 2m (a bare number is seconds), from 0 to 24h";

/// Parses `500ms`, `1.5s`, `2m`, `1h`, or a bare number of seconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let per_unit = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(EXPECTED.to_string()),
    };
    // Digits and one point only: no sign, exponent, `inf` or `nan` gets this far.
    let valid = !number.is_empty() && number != "." && number.matches('.').count() <= 1;
    match number.parse::<f64>() {
        Ok(value) if valid && value * per_unit <= MOST => {
            Ok(Duration::from_secs_f64(value * per_unit))
        }
        _ => Err(EXPECTED.to_string()),
    }
}

/// How long to wait for an answer (a handshake, a reply): 1ms at least, since less gives up
/// before anything could answer and a report of "no answer in 0 ms" would be no finding.
pub fn answer(text: &str) -> Result<Duration, String> {
    match parse(text)? {
        d if d < Duration::from_millis(1) => {
            Err("at least 1ms: less gives up before anything could answer".to_string())
        }
        d => Ok(d),
    }
}

/// A duration as the help and messages show it: `500ms`, `1.5s`, `2m`, `0s`.
pub fn show(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs > 0.0 && secs < 1.0 {
        format!("{}ms", trim(secs * 1000.0))
    } else if secs >= 60.0 && secs % 60.0 == 0.0 {
        format!("{}m", trim(secs / 60.0))
    } else {
        format!("{}s", trim(secs))
    }
}

/// A number without trailing zeros, to three decimals.
fn trim(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(text: &str) -> u128 {
        parse(text).unwrap().as_millis()
    }

    #[test]
    fn units_and_bare_seconds() {
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("1.5s"), 1500);
        assert_eq!(ms("1.5"), 1500);
        assert_eq!(ms("2m"), 120_000);
        assert_eq!(ms("1h"), 3_600_000);
        assert_eq!(ms(" 0.01 "), 10);
        assert_eq!(ms("0"), 0);
        assert_eq!(ms(".5"), 500);
        assert_eq!(ms("24h"), 86_400_000);
        assert_eq!(ms("30 s"), 30_000);
    }

    #[test]
    fn refusals_say_one_thing() {
        for bad in [
            "",
            "-1",
            "nan",
            "NaN",
            "inf",
            "-inf",
            "1e309",
            "86401",
            "1e5",
            "0x10",
            "1,5",
            "1.2.3",
            "١",
            "+-1",
            "+1",
            "25h",
            "5 minutes",
            "ms",
            ".",
            "1..",
            "1d",
            "-0",
        ] {
            assert_eq!(parse(bad), Err(EXPECTED.to_string()), "{bad:?}");
        }
    }

    #[test]
    fn an_answer_needs_a_millisecond() {
        assert_eq!(answer("1ms").unwrap().as_millis(), 1);
        assert_eq!(answer("1.5").unwrap().as_millis(), 1500);
        for bad in ["0", "0s", "0.0001", "0.5ms"] {
            let refused = answer(bad).unwrap_err();
            assert!(refused.starts_with("at least 1ms"), "{bad}: {refused}");
        }
        assert_eq!(answer("x"), Err(EXPECTED.to_string()));
    }

    #[test]
    fn shown_as_typed() {
        assert_eq!(show(Duration::from_millis(500)), "500ms");
        assert_eq!(show(Duration::from_millis(1500)), "1.5s");
        assert_eq!(show(Duration::from_secs(120)), "2m");
        assert_eq!(show(Duration::ZERO), "0s");
        assert_eq!(show(Duration::from_secs(30)), "30s");
    }
}
