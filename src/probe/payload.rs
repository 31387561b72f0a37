//! What a UDP probe sends: a valid request where a well-known service only answers those.

use anyhow::{Result, bail};

/// The user's `--payload`: TEXT, or hex:HEX for bytes.
pub fn parse(given: &str) -> Result<Vec<u8>> {
    match given.strip_prefix("hex:") {
        Some(hex) => from_hex(hex),
        None => Ok(given.as_bytes().to_vec()),
    }
}

/// Without `--payload`: a real query for DNS and NTP, else nothing.
pub fn well_known(port: u16) -> Vec<u8> {
    match port {
        // A DNS query: id 0x7073, recursion desired, one question: the root's NS records.
        53 => vec![
            0x70, 0x73, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1,
        ],
        // An NTP version 3 client request.
        123 => {
            let mut ntp = vec![0u8; 48];
            ntp[0] = 0x1b;
            ntp
        }
        _ => Vec::new(),
    }
}

fn from_hex(hex: &str) -> Result<Vec<u8>> {
    let digits: Vec<char> = hex.chars().filter(|c| !c.is_whitespace()).collect();
    let shown = || crate::text::escaped(&digits.iter().collect::<String>());
    if let Some(bad) = digits.iter().find(|c| !c.is_ascii_hexdigit()) {
        bail!(
            "--payload hex:{}: '{}' is not a hex digit",
            shown(),
            crate::text::escaped(&bad.to_string())
        );
    }
    if digits.len() % 2 != 0 {
        bail!("--payload hex:{}: an odd number of hex digits", shown());
    }
    Ok(digits
        .chunks(2)
        .map(|pair| {
            let value = |c: char| c.to_digit(16).unwrap_or_default() as u8;
            value(pair[0]) << 4 | value(pair[1])
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads() {
        assert_eq!(parse("hex:48 69").unwrap(), b"Hi");
        assert_eq!(parse("hi").unwrap(), b"hi");
        assert!(parse("hex:4").is_err());
        assert!(parse("hex:zz").is_err());
        assert!(
            parse("hex:aé0").is_err(),
            "a multi-byte character is an error, not a panic"
        );
        assert!(parse("hex:é").is_err());
        assert_eq!(well_known(53).len(), 17);
        assert!(well_known(9).is_empty());
    }
}
