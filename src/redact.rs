//! Keeps the secret key out of every text the crate keeps from a response.
//!
//! A server, proxy or mock may echo the request back: an error page that dumps the headers, a
//! JSON error whose message quotes `Authorization`, a body that fails to decode. Whatever the
//! crate stores from a response (body excerpts, Clerk's messages and `meta`, decoding errors,
//! trace ids) passes through [`Redactor::scrub`] first, so that the key never reaches an
//! error's `Display` or `Debug`, or a log line.

use std::{borrow::Cow, fmt, sync::Arc};

use serde_json::Value;

/// What the key is replaced with.
pub(crate) const REDACTED: &str = "<redacted>";

/// Replaces the client's secret key wherever it appears in a text from a response.
#[derive(Clone)]
pub(crate) struct Redactor {
    /// The key itself; never printed (see the `Debug` impl).
    key: Arc<str>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Redactor(<redacted>)")
    }
}

impl Redactor {
    pub(crate) fn new(key: &str) -> Self {
        Redactor { key: key.into() }
    }

    /// `text` with every occurrence of the key replaced by `<redacted>` (so `Bearer <key>`
    /// becomes `Bearer <redacted>`). Borrowed when there is nothing to replace.
    pub(crate) fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if self.key.is_empty() || !text.contains(&*self.key) {
            Cow::Borrowed(text)
        } else {
            Cow::Owned(text.replace(&*self.key, REDACTED))
        }
    }

    /// Like [`scrub`](Self::scrub), for an owned string.
    pub(crate) fn scrub_owned(&self, text: String) -> String {
        match self.scrub(&text) {
            Cow::Borrowed(_) => text,
            Cow::Owned(scrubbed) => scrubbed,
        }
    }

    /// Every string in a JSON value, object keys included.
    pub(crate) fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::String(text) => *text = self.scrub_owned(std::mem::take(text)),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_json(item)),
            Value::Object(map) => {
                let entries = std::mem::take(map);
                for (key, mut item) in entries {
                    self.scrub_json(&mut item);
                    map.insert(self.scrub_owned(key), item);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// The start of a body as text, at most `limit` bytes cut on a character boundary, with the
    /// key scrubbed before cutting (so that a key straddling the cut cannot leave a piece of
    /// itself behind), saying how long the body was when it is cut.
    pub(crate) fn excerpt(&self, bytes: &[u8], limit: usize) -> String {
        if bytes.is_empty() {
            return "(empty)".to_owned();
        }
        // Enough past the limit that a key starting before the cut is whole in the window.
        let window = &bytes[..bytes.len().min(limit.saturating_add(self.key.len()))];
        let text = String::from_utf8_lossy(window);
        let text = self.scrub(&text);
        let mut end = text.len().min(limit);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut = text[..end].trim_end_matches('\u{FFFD}');
        if bytes.len() > limit {
            format!("{cut}… ({} bytes in all)", bytes.len())
        } else {
            cut.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_Redact0rUnitKey";

    #[test]
    fn the_key_and_its_bearer_form_are_replaced() {
        let redactor = Redactor::new(KEY);
        let text = format!("authorization: Bearer {KEY}; again {KEY}{KEY}");
        let scrubbed = redactor.scrub(&text);
        assert!(!scrubbed.contains(KEY));
        assert_eq!(
            scrubbed,
            "authorization: Bearer <redacted>; again <redacted><redacted>"
        );
        assert!(matches!(redactor.scrub("nothing here"), Cow::Borrowed(_)));
        assert!(!format!("{redactor:?}").contains(KEY));
    }

    #[test]
    fn json_strings_and_keys_are_scrubbed() {
        let redactor = Redactor::new(KEY);
        let mut value = serde_json::json!({
            "headers": {"authorization": format!("Bearer {KEY}")},
            KEY: [format!("x{KEY}y"), 3, null],
        });
        redactor.scrub_json(&mut value);
        assert!(!value.to_string().contains(KEY), "{value}");
        assert_eq!(value["headers"]["authorization"], "Bearer <redacted>");
        assert_eq!(value[REDACTED][0], "x<redacted>y");
    }

    #[test]
    fn an_excerpt_never_keeps_a_piece_of_a_key_at_its_cut() {
        let redactor = Redactor::new(KEY);
        for start in 0..40 {
            let body = format!("{}Bearer {KEY} and more text after it", "-".repeat(start));
            for limit in 1..body.len() + 2 {
                let excerpt = redactor.excerpt(body.as_bytes(), limit);
                // No run of 8 or more characters of the key survives.
                for piece in KEY.as_bytes().windows(8) {
                    let piece = std::str::from_utf8(piece).unwrap();
                    assert!(
                        !excerpt.contains(piece),
                        "start {start} limit {limit}: {excerpt}"
                    );
                }
            }
        }
        assert_eq!(redactor.excerpt(b"", 10), "(empty)");
        let long = "é".repeat(1000);
        let cut = redactor.excerpt(long.as_bytes(), 512);
        assert!(cut.ends_with("(2000 bytes in all)"), "{cut}");
        assert!(cut.len() < 512 + 40);
    }
}
