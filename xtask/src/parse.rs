//! Reading a spec's bytes into a JSON value.
//!
//! Clerk publishes YAML; the committed fragment is JSON. Both end up as a [`serde_json::Value`],
//! which is what every later step works on. YAML is read with `saphyr`, a maintained, pure-Rust
//! YAML 1.2 parser, and converted node by node so that the few places where YAML is richer than
//! JSON (non-string keys, merge keys, non-finite floats) are handled on purpose rather than by
//! accident.

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Number, Value};

use crate::error::{Context, Error, Result};
use crate::json_text::python_float_repr;

/// Parses a spec or fragment. Text that starts with `{` is read as JSON, anything else as YAML
/// (of which JSON is a subset, but the JSON parser is stricter and keeps numbers exact).
/// `name` only serves the error messages.
pub fn parse_document(bytes: &[u8], name: &str) -> Result<Value> {
    let text = std::str::from_utf8(bytes).context(|| format!("{name}: not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).context(|| format!("{name}: invalid JSON"));
    }
    let documents = Yaml::load_from_str(text).context(|| format!("{name}: invalid YAML"))?;
    match documents.as_slice() {
        [document] => yaml_to_json(document, ""),
        [] => Err(Error::new("the file holds no YAML document")),
        more => Err(Error::new(format!(
            "expected one YAML document, found {}",
            more.len()
        ))),
    }
    .map_err(|e| Error::new(format!("{name}: {e}")))
}

/// Converts one YAML node; `at` is the JSON-pointer-like location, for error messages.
fn yaml_to_json(node: &Yaml, at: &str) -> Result<Value> {
    match node {
        Yaml::Value(scalar) => scalar_to_json(scalar, at),
        Yaml::Representation(text, style, tag) => {
            match Scalar::parse_from_cow_and_metadata(text.clone(), *style, tag.as_ref()) {
                Some(scalar) => scalar_to_json(&scalar, at),
                None => Err(Error::new(format!(
                    "unreadable scalar {text:?} at {}",
                    here(at)
                ))),
            }
        }
        Yaml::Sequence(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| yaml_to_json(item, &format!("{at}/{i}")))
            .collect::<Result<Vec<_>>>()
            .map(Value::Array),
        Yaml::Mapping(entries) => {
            let mut map = Map::new();
            for (key, value) in entries {
                let key = key_to_string(key, at)?;
                // YAML 1.1 merge keys are not part of YAML 1.2; Clerk does not use them, and
                // copying `<<` through as a property would silently change the spec.
                if key == "<<" {
                    return Err(Error::new(format!(
                        "YAML merge keys (<<) are not supported, found at {}",
                        here(at)
                    )));
                }
                let value = yaml_to_json(value, &format!("{at}/{key}"))?;
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }
        // Custom tags carry no meaning for OpenAPI; the tagged value is what counts.
        Yaml::Tagged(_, inner) => yaml_to_json(inner, at),
        Yaml::Alias(_) | Yaml::BadValue => Err(Error::new(format!(
            "unresolvable YAML node at {}",
            here(at)
        ))),
    }
}

fn scalar_to_json(scalar: &Scalar, at: &str) -> Result<Value> {
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => match Number::from_f64(f.into_inner()) {
            Some(n) => Value::Number(n),
            None => {
                return Err(Error::new(format!(
                    "{} at {} has no JSON spelling",
                    f.into_inner(),
                    here(at)
                )));
            }
        },
        Scalar::String(s) => Value::String(s.to_string()),
    })
}

/// JSON keys are strings; scalar YAML keys (such as an unquoted `200:` status code) are spelled
/// the way Python's `json` module spells them, which the committed fragment was written with.
fn key_to_string(key: &Yaml, at: &str) -> Result<String> {
    match yaml_to_json(key, at)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(match n.as_f64() {
            Some(f) if !(n.is_i64() || n.is_u64()) => python_float_repr(f),
            _ => n.to_string(),
        }),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Null => Ok("null".to_string()),
        Value::Array(_) | Value::Object(_) => Err(Error::new(format!(
            "mapping keys must be scalars, found a collection at {}",
            here(at)
        ))),
    }
}

fn here(at: &str) -> &str {
    if at.is_empty() {
        "the document root"
    } else {
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Value> {
        parse_document(text.as_bytes(), "spec.yml")
    }

    #[test]
    fn yaml_scalars_become_their_json_types() {
        let value = parse(
            "s: text\nq: '2026-05-12'\ni: 42\nf: 1.5\nt: true\nn: null\ne:\nlist: [1, two]\n",
        )
        .unwrap();
        assert_eq!(
            value,
            json!({"s": "text", "q": "2026-05-12", "i": 42, "f": 1.5, "t": true, "n": null,
                   "e": null, "list": [1, "two"]})
        );
    }

    #[test]
    fn scalar_keys_are_spelled_as_python_json_spells_them() {
        let value = parse("200: ok\n'201': quoted\ntrue: yes\n1.5: f\n").unwrap();
        assert_eq!(
            value,
            json!({"200": "ok", "201": "quoted", "true": "yes", "1.5": "f"})
        );
    }

    #[test]
    fn anchors_and_tags_resolve_to_plain_values() {
        let value = parse("a: &shared {type: string}\nb: *shared\nc: !custom 7\n").unwrap();
        assert_eq!(value["b"], json!({"type": "string"}));
        assert_eq!(value["c"], json!(7));
    }

    #[test]
    fn json_input_is_read_as_json() {
        let value = parse(" {\"a\": [1, 2.0], \"b\": {}}").unwrap();
        assert_eq!(value, json!({"a": [1, 2.0], "b": {}}));
    }

    #[test]
    fn invalid_yaml_is_a_clear_error() {
        let err = parse("paths:\n  /a: [unclosed\n").unwrap_err();
        assert!(
            err.message().starts_with("spec.yml: invalid YAML: "),
            "{err}"
        );
    }

    #[test]
    fn invalid_json_is_a_clear_error() {
        let err = parse("{\"a\": }").unwrap_err();
        assert!(
            err.message().starts_with("spec.yml: invalid JSON: "),
            "{err}"
        );
    }

    #[test]
    fn unsupported_yaml_is_refused_with_its_location() {
        let merge = parse("base: &b {x: 1}\nderived:\n  <<: *b\n").unwrap_err();
        assert!(merge.message().contains("merge keys"), "{merge}");
        assert!(merge.message().contains("/derived"), "{merge}");

        let infinite = parse("limit: .inf\n").unwrap_err();
        assert!(infinite.message().contains("/limit"), "{infinite}");

        let complex = parse("? [a, b]\n: value\n").unwrap_err();
        assert!(
            complex.message().contains("keys must be scalars"),
            "{complex}"
        );
    }

    #[test]
    fn empty_and_multi_document_files_are_refused() {
        assert!(
            parse("")
                .unwrap_err()
                .message()
                .contains("no YAML document")
        );
        assert!(
            parse("a: 1\n---\nb: 2\n")
                .unwrap_err()
                .message()
                .contains("found 2")
        );
    }

    #[test]
    fn non_utf8_input_is_refused() {
        let err = parse_document(&[0xff, 0xfe, 0x00], "spec.yml").unwrap_err();
        assert!(err.message().contains("not UTF-8"), "{err}");
    }
}
