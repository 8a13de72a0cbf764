//! IDs that go into a URL path: which are refused, and how the others are encoded.
//!
//! Every path parameter becomes exactly one segment. [`encode_segment`] (which `build.rs` makes
//! the generated client call in place of progenitor's encoder) percent-encodes every byte that
//! RFC 3986 does not allow literally in a segment (a `pchar`): spaces, `/ ? # % [ ] ^ | \ " < >`
//! and the like, controls and all non-ASCII. `:` and `@` stay literal, as role-set keys such as
//! `role_set:default` need.
//!
//! What encoding cannot fix, [`segment`] refuses before anything is sent: the empty ID, and `.`
//! and `..`, which URL resolution removes even when encoded (`%2e` counts as a dot), so
//! `role_sets/..` would reach another endpoint; and IDs longer than [`MAX_ID_BYTES`], which no
//! Clerk ID or key comes near and which would only make a URL too long to send.

use crate::{Error, Result};

/// The longest ID or key, in bytes, that a facade method accepts in a URL path. Clerk's IDs
/// and keys are tens of bytes; anything near this limit is a mistake.
pub const MAX_ID_BYTES: usize = 1024;

/// A copy of `id` if it can stand as exactly one path segment. Copied, so that a call's
/// future borrows nothing from its caller but the client.
pub(crate) fn segment(name: &str, id: &str) -> Result<String> {
    let problem = match id {
        "" => "must not be empty".to_owned(),
        "." | ".." => "must not be `.` or `..`, which URL resolution would remove".to_owned(),
        // Not echoed: the point is that it is too long to repeat.
        _ if id.len() > MAX_ID_BYTES => format!(
            "is {} bytes long; IDs and keys are at most {MAX_ID_BYTES} bytes",
            id.len()
        ),
        _ => return Ok(id.to_owned()),
    };
    Err(Error::InvalidRequest(format!("`{name}` {problem}")))
}

/// `segment` percent-encoded so that it stays one path segment and reaches the server as
/// written: every byte but RFC 3986's `pchar`s (unreserved, sub-delims, `:` and `@`) becomes
/// `%XX`.
pub(crate) fn encode_segment(segment: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    // Clerk's IDs and keys need no escape at all: copied as they are.
    let Some(first) = segment.bytes().position(|byte| !is_pchar(byte)) else {
        return segment.to_owned();
    };
    let mut encoded = String::with_capacity(segment.len() + 16);
    encoded.push_str(&segment[..first]);
    for &byte in &segment.as_bytes()[first..] {
        if is_pchar(byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0xF)]));
        }
    }
    encoded
}

/// RFC 3986 §3.3: `pchar = unreserved / pct-encoded / sub-delims / ":" / "@"`. A `%` is not
/// taken as the start of an escape: IDs are text, so it is escaped itself.
fn is_pchar(byte: u8) -> bool {
    PCHAR[usize::from(byte)]
}

/// [`is_pchar`] for every byte, worked out once at compile time.
const PCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            );
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_pass_unchanged() {
        for id in [
            "role_2abc",
            "role_set:default",
            "a/b",
            "%2e%2e",
            "...",
            " ",
            "a\\b",
        ] {
            assert_eq!(segment("id", id).unwrap(), id);
        }
        let longest = "x".repeat(MAX_ID_BYTES);
        assert!(segment("id", &longest).is_ok());
    }

    #[test]
    fn unrepresentable_ids_are_refused() {
        for id in ["", ".", ".."] {
            let err = segment("permission_id", id).unwrap_err();
            assert!(
                matches!(err, Error::InvalidRequest(ref m) if m.contains("permission_id")),
                "{err}"
            );
        }
    }

    #[test]
    fn a_huge_id_is_refused_with_a_short_message() {
        let huge = "r".repeat(70_000);
        let err = segment("organization_role_id", &huge).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::InvalidRequest(_)));
        assert!(message.contains("70000 bytes"), "{message}");
        assert!(message.len() < 200, "{} bytes of message", message.len());
    }

    #[test]
    fn everything_but_pchars_is_encoded() {
        assert_eq!(encode_segment("role_set:default"), "role_set:default");
        assert_eq!(encode_segment("a-b.c_d~e@f"), "a-b.c_d~e@f");
        assert_eq!(encode_segment("!$&'()*+,;="), "!$&'()*+,;=");
        assert_eq!(encode_segment("a/b?c#d%e f"), "a%2Fb%3Fc%23d%25e%20f");
        assert_eq!(
            encode_segment("[]^|\\\"<>`{}"),
            "%5B%5D%5E%7C%5C%22%3C%3E%60%7B%7D"
        );
        assert_eq!(encode_segment("\u{0}\n\u{7f}"), "%00%0A%7F");
        assert_eq!(encode_segment("é"), "%C3%A9");
        // Every byte: what is left literal is exactly the pchar set.
        for byte in 0..=u8::MAX {
            let text = [byte];
            let Ok(text) = std::str::from_utf8(&text) else {
                continue;
            };
            let encoded = encode_segment(text);
            let literal = encoded == text;
            let expected = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte);
            assert_eq!(literal, expected, "byte {byte:#04x} gave {encoded}");
        }
    }
}
