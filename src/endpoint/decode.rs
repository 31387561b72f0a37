//! Received bytes as text for display: UTF-8, GBK, Latin-1 or hex, decoded across reads, with
//! undecodable bytes and control characters shown as escapes (never a crash).

use std::fmt::Write as _;

use encoding_rs::{DecoderResult, GBK, UTF_8};

/// How received bytes are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Gbk,
    Latin1,
    Hex,
}

pub struct TextDecoder {
    name: Encoding,
    decoder: Option<encoding_rs::Decoder>,
}

impl TextDecoder {
    pub fn new(name: Encoding) -> TextDecoder {
        let decoder = match name {
            Encoding::Utf8 => Some(UTF_8.new_decoder_without_bom_handling()),
            Encoding::Gbk => Some(GBK.new_decoder_without_bom_handling()),
            Encoding::Latin1 | Encoding::Hex => None,
        };
        TextDecoder { name, decoder }
    }

    /// Decodes the next chunk; a character split across chunks is finished by the next call.
    pub fn decode(&mut self, bytes: &[u8]) -> String {
        let mut out = String::new();
        match (self.name, self.decoder.as_mut()) {
            (Encoding::Hex, _) => {
                for (i, b) in bytes.iter().enumerate() {
                    let sep = if i == 0 { "" } else { " " };
                    let _ = write!(out, "{sep}{b:02x}");
                }
                out.push('\n');
            }
            (_, Some(decoder)) => decode_escaping(decoder, bytes, &mut out),
            // ISO-8859-1: every byte is the code point of the same number.
            (_, None) => bytes
                .iter()
                .for_each(|b| push_char(char::from(*b), &mut out)),
        }
        out
    }
}

fn decode_escaping(decoder: &mut encoding_rs::Decoder, mut bytes: &[u8], out: &mut String) {
    let mut text = String::new();
    loop {
        text.clear();
        text.reserve(
            decoder
                .max_utf8_buffer_length_without_replacement(bytes.len())
                .unwrap_or(bytes.len() * 3 + 16),
        );
        let (result, read) = decoder.decode_to_string_without_replacement(bytes, &mut text, false);
        text.chars().for_each(|c| push_char(c, out));
        match result {
            DecoderResult::InputEmpty => return,
            DecoderResult::OutputFull => {}
            DecoderResult::Malformed(bad, unread) => {
                let end = read.saturating_sub(usize::from(unread));
                let start = end.saturating_sub(usize::from(bad));
                for b in &bytes[start..end] {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
        }
        bytes = &bytes[read..];
    }
}

/// Text as it may reach a terminal: line breaks and tabs kept, other controls escaped.
fn push_char(c: char, out: &mut String) {
    if matches!(c, '\n' | '\t' | '\r') {
        out.push(c);
    } else {
        crate::text::escape_into(c.encode_utf8(&mut [0; 4]), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gbk_known_bytes() {
        // "你好" in GBK.
        let mut d = TextDecoder::new(Encoding::Gbk);
        assert_eq!(d.decode(&[0xc4, 0xe3, 0xba, 0xc3]), "你好");
    }

    #[test]
    fn split_characters_and_bad_bytes() {
        let mut d = TextDecoder::new(Encoding::Utf8);
        let bytes = "é".as_bytes();
        assert_eq!(d.decode(&bytes[..1]), "");
        assert_eq!(d.decode(&bytes[1..]), "é");
        assert_eq!(d.decode(b"a\xffb\x1b[0m\n"), "a\\xffb\\u{1b}[0m\n");
    }

    #[test]
    fn latin1_and_hex() {
        assert_eq!(
            TextDecoder::new(Encoding::Latin1).decode(&[0x63, 0x61, 0x66, 0xe9]),
            "café"
        );
        assert_eq!(
            TextDecoder::new(Encoding::Hex).decode(b"Hi\n"),
            "48 69 0a\n"
        );
    }
}
