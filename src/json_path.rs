//! Where in a response body a decoding error points, as a path such as `data[1].created_at`.
//!
//! serde_json reports a failure with the line and column where it stopped reading. Walking the
//! body's JSON up to that place says which value it stopped in. This reads the body as JSON
//! text only, whatever type was being decoded, so the path costs no second decoding of the
//! body and no second copy of every model's decoder in the build. For JSON of the wrong shape
//! (a wrong type, a missing field, an unknown value) it names the same place as a second,
//! path-tracking decode with `serde_path_to_error` did; for a body that is not JSON, the value
//! or container the parser stopped in.

/// One open container on the way to the failure.
enum Frame {
    /// An object, with the member being read.
    Object(Member),
    /// An array: the index of the element being read, and whether that element has begun.
    Array(usize, bool),
}

/// Where an object's reading stands.
enum Member {
    /// Before a key (just after `{` or `,`).
    Expecting,
    /// A key has been read, not yet its `:`.
    Keyed(String),
    /// The member's value is being read.
    Value(String),
}

/// The path of the value the byte at `offset` of `body` belongs to: object keys joined by
/// `.`, array indexes in brackets, and `.` for the top level (as `serde_path_to_error` and
/// most JSON tools print it). A failure between values (a missing field, a bad separator, a
/// body that ends) is placed at the container it is in. Reads any bytes without panicking: a
/// body that is not JSON gives the path of the part that was.
pub(crate) fn path_at(body: &[u8], offset: usize) -> String {
    let end = offset.min(body.len());
    let mut frames: Vec<Frame> = Vec::new();
    let mut at = 0;
    while at < end {
        let byte = body[at];
        // Anything but a separator or a space begins the current element of an array.
        if !matches!(byte, b',' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            && let Some(Frame::Array(_, begun)) = frames.last_mut()
        {
            *begun = true;
        }
        match byte {
            b'{' => frames.push(Frame::Object(Member::Expecting)),
            b'[' => frames.push(Frame::Array(0, false)),
            b'}' | b']' => {
                frames.pop();
            }
            b',' => match frames.last_mut() {
                Some(Frame::Array(index, begun)) => {
                    *index = index.saturating_add(1);
                    *begun = false;
                }
                Some(Frame::Object(member)) => *member = Member::Expecting,
                None => {}
            },
            b':' => {
                if let Some(Frame::Object(member)) = frames.last_mut()
                    && let Member::Keyed(key) = member
                {
                    *member = Member::Value(std::mem::take(key));
                }
            }
            b'"' => {
                let close = string_end(body, at);
                // The failure is inside this string: a key not yet read names nothing.
                if close >= end {
                    break;
                }
                if let Some(Frame::Object(member @ Member::Expecting)) = frames.last_mut() {
                    *member = Member::Keyed(unescape(&body[at..=close]));
                }
                at = close;
            }
            _ => {}
        }
        at += 1;
    }
    // serde_json places a container of the wrong type at its opening bracket, not after it.
    if let (Some(b'[' | b'{'), Some(Frame::Array(_, begun))) = (body.get(end), frames.last_mut()) {
        *begun = true;
    }
    render(&frames)
}

/// The index of the quote that closes the string opening at `open`, or the body's length when
/// the body ends first (the string's last byte is then not a closing quote).
fn string_end(body: &[u8], open: usize) -> usize {
    let mut at = open + 1;
    while at < body.len() {
        match body[at] {
            b'\\' => at += 2,
            b'"' => return at,
            _ => at += 1,
        }
    }
    body.len()
}

/// A key's text from its quoted JSON form (both quotes included); its bytes as they are
/// (lossily) when it is not valid JSON text.
fn unescape(quoted: &[u8]) -> String {
    serde_json::from_slice::<String>(quoted).unwrap_or_else(|_| {
        let inner = quoted
            .get(1..quoted.len().saturating_sub(1))
            .unwrap_or_default();
        String::from_utf8_lossy(inner).into_owned()
    })
}

fn render(frames: &[Frame]) -> String {
    let mut path = String::new();
    for frame in frames {
        match frame {
            Frame::Object(Member::Value(key)) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Frame::Array(index, true) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
            // Between members or elements: the failure is in the container itself (a missing
            // field, say), whose path is already written.
            Frame::Object(_) | Frame::Array(_, false) => break,
        }
    }
    if path.is_empty() {
        path.push('.');
    }
    path
}

/// The byte offset of serde_json's one-based `line` and `column` (which counts bytes) in
/// `body`; the body's length when it has no such place.
pub(crate) fn offset_of(body: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match body[start..].iter().position(|&b| b == b'\n') {
            Some(newline) => start += newline + 1,
            None => return body.len(),
        }
    }
    start.saturating_add(column).min(body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The path serde_json's own failure leads to, decoding `body` as a `T`.
    fn path_of_failure<T: serde::de::DeserializeOwned>(body: &str) -> String {
        let error = serde_json::from_str::<T>(body)
            .err()
            .expect("the body does not decode");
        path_at(
            body.as_bytes(),
            offset_of(body.as_bytes(), error.line(), error.column()),
        )
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Item {
        created_at: i64,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct List {
        data: Vec<Item>,
        total_count: i64,
    }

    #[test]
    fn a_wrong_type_is_found_at_its_member() {
        let body = r#"{"data":[{"created_at":1},{"created_at":"two"}],"total_count":2}"#;
        assert_eq!(path_of_failure::<List>(body), "data[1].created_at");
    }

    #[test]
    fn a_container_of_the_wrong_type_is_found_at_its_element() {
        let body = r#"{"data":[{"created_at":1,"tags":["a",["b"]]}],"total_count":1}"#;
        assert_eq!(path_of_failure::<List>(body), "data[0].tags[1]");
        let body = r#"{"data":[{"created_at":{}}],"total_count":1}"#;
        assert_eq!(path_of_failure::<List>(body), "data[0].created_at");
        assert_eq!(
            path_of_failure::<List>(r#"{"data":[[]],"total_count":1}"#),
            "data[0]"
        );
    }

    #[test]
    fn a_missing_field_is_found_at_its_object() {
        let body = r#"{"data":[{"created_at":1},{"tags":[]}],"total_count":2}"#;
        assert_eq!(path_of_failure::<List>(body), "data[1]");
        assert_eq!(path_of_failure::<List>(r#"{"data":[]}"#), ".");
    }

    #[test]
    fn nesting_spaces_and_lines_are_followed() {
        let body = "{\n  \"total_count\": 1,\n  \"data\": [\n    {\"created_at\": 1, \"tags\": [\"a\", 7]}\n  ]\n}";
        assert_eq!(path_of_failure::<List>(body), "data[0].tags[1]");
    }

    #[test]
    fn strings_with_brackets_quotes_and_escapes_do_not_mislead() {
        let body = r#"{"data":[{"tags":["],\"{", "x\\"],"created_at":"1"}],"total_count":1}"#;
        assert_eq!(path_of_failure::<List>(body), "data[0].created_at");
        let body = r#"{"da\u0074a":[{"created_at":true}],"total_count":1}"#;
        assert_eq!(path_of_failure::<List>(body), "data[0].created_at");
    }

    #[test]
    fn a_body_that_ends_early_points_where_it_ends() {
        assert_eq!(
            path_of_failure::<List>(r#"{"total_count":1,"data":[{"created_at":1},{"crea"#),
            "data[1]"
        );
        assert_eq!(
            path_of_failure::<List>(r#"{"data":[{"created_at":"#),
            "data[0].created_at"
        );
        assert_eq!(path_of_failure::<List>("<html>bad gateway</html>"), ".");
    }

    #[test]
    fn offsets_past_the_body_and_broken_bytes_do_not_panic() {
        for body in [
            &b""[..],
            b"\"",
            b"{\"",
            b"{\"\\",
            b"{\"\\u12",
            b"[[[[",
            b"]]]}}}",
            b"{\"a\xff\xfe\":[1,",
            b",,,,",
        ] {
            for offset in [0, 1, 2, body.len(), body.len() + 10, usize::MAX] {
                let path = path_at(body, offset);
                assert!(!path.is_empty());
            }
            for (line, column) in [(0, 0), (1, 0), (1, usize::MAX), (usize::MAX, 1)] {
                assert!(offset_of(body, line, column) <= body.len());
            }
        }
        assert_eq!(path_at(b"{\"a\xff\":[1,2", 12), "a\u{fffd}[1]");
    }

    /// Bodies a server could send: real answers cut, spliced and with bytes changed at random
    /// (a fixed seed, so that a failure repeats). Every failure gets a path without a panic,
    /// and a body that decodes has no failure to place.
    #[test]
    fn mangled_answers_never_panic() {
        let answers: [&[u8]; 3] = [
            br#"{"data":[{"created_at":1,"tags":["a","b\"c"]},{"created_at":2}],"total_count":2}"#,
            b"{\n \"total_count\": 0,\n \"data\": []\n}",
            "{\"data\":[{\"created_at\":3,\"tags\":[\"\u{e9}\\u00e9\\\\\"]}],\"total_count\":1}"
                .as_bytes(),
        ];
        const PIECES: &[u8] = b"{}[]\",:\\ \n0a\xc3";
        let mut rng = fastrand::Rng::with_seed(0x5eed);
        let mut failures = 0;
        for _ in 0..20_000 {
            let mut body = answers[rng.usize(..answers.len())].to_vec();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(..=body.len());
                match rng.u8(..4) {
                    0 => body.truncate(at),
                    1 => body.insert(at, PIECES[rng.usize(..PIECES.len())]),
                    2 if at < body.len() => body[at] = rng.u8(..),
                    _ => {
                        let other = answers[rng.usize(..answers.len())];
                        body.splice(at..at, other[rng.usize(..other.len())..].iter().copied());
                    }
                }
            }
            if let Err(error) = serde_json::from_slice::<List>(&body) {
                failures += 1;
                let offset = offset_of(&body, error.line(), error.column());
                assert!(offset <= body.len());
                assert!(!path_at(&body, offset).is_empty());
            }
        }
        assert!(
            failures > 10_000,
            "only {failures} of the bodies failed to decode"
        );
    }

    #[test]
    fn lines_and_columns_become_byte_offsets() {
        let body = b"ab\ncd\n\nef";
        assert_eq!(offset_of(body, 1, 2), 2);
        assert_eq!(offset_of(body, 2, 1), 4);
        assert_eq!(offset_of(body, 4, 2), 9);
        assert_eq!(offset_of(body, 9, 1), body.len());
    }
}
