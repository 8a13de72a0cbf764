//! The exact text of the fragment file.
//!
//! The fragment was first written by Python's `json.dump(indent=2, sort_keys=True)`, so this
//! module reproduces that layout byte for byte: keys sorted by code point, two-space indentation,
//! `,` at line ends and `: ` after keys, `{}` and `[]` for empty containers, every character
//! outside printable ASCII escaped as `\uXXXX`, and floats spelled as Python's `repr` spells them.
//! serde_json's own pretty printer differs on the last two points, and its map order depends on a
//! crate feature that any other crate in the build may switch on, so this writer relies on
//! neither.

use serde_json::{Number, Value};

/// Renders `value` as the fragment file's text, ending with a newline.
pub fn to_fragment_text(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_text(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_and_indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            newline_and_indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            // Sorting here, not trusting the map's own order, keeps the output independent of
            // serde_json's `preserve_order` feature.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_and_indent(out, depth + 1);
                write_string(out, key);
                out.push_str(": ");
                write_value(out, &map[key], depth + 1);
            }
            newline_and_indent(out, depth);
            out.push('}');
        }
    }
}

fn newline_and_indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

/// Writes a JSON string literal with Python's `ensure_ascii` escaping: only printable ASCII is
/// written as is; everything else becomes a short escape or `\uXXXX` (UTF-16 units, lowercase).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Integers print as they are; floats as Python's `repr` prints them.
fn number_text(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    match n.as_f64() {
        Some(f) => python_float_repr(f),
        // Arbitrary-precision numbers only exist with a serde_json feature we do not use.
        None => n.to_string(),
    }
}

/// Python's `repr(float)`: the shortest digits that read back to the same float, in positional
/// notation (always with a fractional part) for exponents from -5 to 15, otherwise in scientific
/// notation with a signed exponent of at least two digits (`1e-05`, `1.5e+16`).
pub fn python_float_repr(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.to_string();
    }
    // Rust's `{:e}` also yields the shortest round-trip digits, e.g. "-1.25e-7".
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` output always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` exponent is an integer");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    if !(-5 < exponent && exponent < 16) {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.abs());
    }
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if exponent < 0 {
        let zeros = "0".repeat((-exponent - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exponent as usize + 1;
    if digits.len() <= int_len {
        let zeros = "0".repeat(int_len - digits.len());
        format!("{sign}{digits}{zeros}.0")
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_matches_python_indent_2_sort_keys() {
        let value = json!({
            "b": [1, {"y": null, "x": true}],
            "a": {},
            "c": [],
            "d": "text"
        });
        let expected = "{\n  \"a\": {},\n  \"b\": [\n    1,\n    {\n      \"x\": true,\n      \"y\": null\n    }\n  ],\n  \"c\": [],\n  \"d\": \"text\"\n}\n";
        assert_eq!(to_fragment_text(&value), expected);
    }

    #[test]
    fn scalars_at_top_level_end_with_a_newline() {
        assert_eq!(to_fragment_text(&json!(false)), "false\n");
        assert_eq!(to_fragment_text(&json!([])), "[]\n");
    }

    #[test]
    fn keys_sort_by_code_point() {
        let value = json!({"b": 1, "B": 2, "é": 3, "a": 4});
        assert_eq!(
            to_fragment_text(&value),
            "{\n  \"B\": 2,\n  \"a\": 4,\n  \"b\": 1,\n  \"\\u00e9\": 3\n}\n"
        );
    }

    #[test]
    fn strings_are_escaped_like_ensure_ascii() {
        let value = json!("q\"b\\n\nr\rt\tb\u{8}f\u{c}c\u{1}d\u{7f}é€😀/");
        assert_eq!(
            to_fragment_text(&value),
            "\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\fc\\u0001d\\u007f\\u00e9\\u20ac\\ud83d\\ude00/\"\n"
        );
    }

    #[test]
    fn floats_follow_python_repr() {
        let cases = [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (123.456, "123.456"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.25e100, "1.25e+100"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
        ];
        for (f, text) in cases {
            assert_eq!(python_float_repr(f), text, "repr of {f:e}");
        }
    }

    #[test]
    fn integers_print_without_a_fraction() {
        let value = json!({"i": -3, "u": 18_446_744_073_709_551_615u64, "f": 2.0});
        assert_eq!(
            to_fragment_text(&value),
            "{\n  \"f\": 2.0,\n  \"i\": -3,\n  \"u\": 18446744073709551615\n}\n"
        );
    }
}
