//! Where a spec comes from (a file or an http(s) URL), and reading its YAML or JSON into a value.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Number, Value};
use sha2::{Digest, Sha256};

use crate::Result;
use crate::normalize::Provenance;

/// Where Clerk publishes its Backend API specs, one `<version>.yml` per API version.
pub const PUBLISHED_SPEC_BASE: &str =
    "https://raw.githubusercontent.com/clerk/openapi-specs/main/bapi";

/// The published spec for one Clerk API version, such as `2026-05-12`.
pub fn published_spec_url(version: &str) -> String {
    format!("{PUBLISHED_SPEC_BASE}/{version}.yml")
}

/// A spec to read, as `--spec` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpecSource {
    /// A YAML or JSON file on disk.
    File(PathBuf),
    /// An `http://` or `https://` address.
    Url(String),
}

impl SpecSource {
    /// Reads a `--spec` argument: anything starting with `http://` or `https://` is a URL.
    pub fn from_arg(arg: &str) -> Self {
        if arg.starts_with("http://") || arg.starts_with("https://") {
            SpecSource::Url(arg.to_string())
        } else {
            SpecSource::File(PathBuf::from(arg))
        }
    }

    /// Reads, hashes and parses the spec. The provenance names the URL, or only the file's name,
    /// so that nobody's directory layout ends up in the committed fragment.
    pub fn load(&self) -> Result<(Value, Provenance)> {
        let (bytes, source) = match self {
            SpecSource::File(path) => (
                std::fs::read(path).map_err(|e| format!("reading spec {}: {e}", path.display()))?,
                path.file_name()
                    .map_or_else(|| self.to_string(), |n| n.to_string_lossy().into_owned()),
            ),
            SpecSource::Url(url) => (download(url)?, url.clone()),
        };
        let sha256 = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let document = parse_document(&bytes, &self.to_string())?;
        Ok((document, Provenance { source, sha256 }))
    }
}

impl fmt::Display for SpecSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecSource::File(path) => write!(f, "{}", path.display()),
            SpecSource::Url(url) => f.write_str(url),
        }
    }
}

fn download(url: &str) -> Result<Vec<u8>> {
    let failed = |why: String| {
        format!(
            "downloading {url} failed: {why}; pass --spec <local file> to regenerate without \
             network access"
        )
    };
    let client = reqwest::blocking::Client::builder()
        // An unreachable host ends the run instead of hanging it.
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("clerk-rbac-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| failed(chain(&e)))?;
    let response = client
        .get(url)
        .send()
        .map_err(|e| failed(chain(&e.without_url())))?;
    if !response.status().is_success() {
        return Err(failed(format!("the server answered {}", response.status())));
    }
    let body = response
        .bytes()
        .map_err(|e| failed(chain(&e.without_url())))?;
    Ok(body.to_vec())
}

/// An error and its causes on one line: reqwest's own message ("error sending request") does not
/// say whether DNS, the connection or TLS failed.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text = format!("{text}: {inner}");
        cause = inner.source();
    }
    text
}

/// Parses a spec or fragment: text starting with `{` as JSON (stricter, and exact with numbers),
/// anything else as YAML 1.2. `name` only serves the error messages.
pub fn parse_document(bytes: &[u8], name: &str) -> Result<Value> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("{name}: not UTF-8 text: {e}"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("{name}: invalid JSON: {e}"));
    }
    let documents = Yaml::load_from_str(text).map_err(|e| format!("{name}: invalid YAML: {e}"))?;
    match documents.as_slice() {
        [document] => yaml_to_json(document, ""),
        [] => Err("the file holds no YAML document".to_string()),
        more => Err(format!("expected one YAML document, found {}", more.len())),
    }
    .map_err(|e| format!("{name}: {e}"))
}

/// Converts one YAML node; `at` is its location, for messages.
fn yaml_to_json(node: &Yaml, at: &str) -> Result<Value> {
    let here = if at.is_empty() {
        "the document root"
    } else {
        at
    };
    match node {
        Yaml::Value(scalar) => scalar_to_json(scalar, here),
        Yaml::Representation(text, style, tag) => {
            match Scalar::parse_from_cow_and_metadata(text.clone(), *style, tag.as_ref()) {
                Some(scalar) => scalar_to_json(&scalar, here),
                None => Err(format!("unreadable scalar {text:?} at {here}")),
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
                // A scalar key (an unquoted `200:`) is spelled as JSON spells the scalar.
                let key = match yaml_to_json(key, at)? {
                    Value::String(key) => key,
                    Value::Array(_) | Value::Object(_) => {
                        return Err(format!(
                            "mapping keys must be scalars, found a collection at {here}"
                        ));
                    }
                    scalar => scalar.to_string(),
                };
                // YAML 1.1 merge keys are not YAML 1.2; copying `<<` as a property would silently
                // change the spec.
                if key == "<<" {
                    return Err(format!(
                        "YAML merge keys (<<) are not supported, found at {here}"
                    ));
                }
                let value = yaml_to_json(value, &format!("{at}/{key}"))?;
                map.insert(key, value);
            }
            Ok(Value::Object(map))
        }
        // Custom tags mean nothing to OpenAPI; the tagged value is what counts.
        Yaml::Tagged(_, inner) => yaml_to_json(inner, at),
        Yaml::Alias(_) | Yaml::BadValue => Err(format!("unresolvable YAML node at {here}")),
    }
}

fn scalar_to_json(scalar: &Scalar, here: &str) -> Result<Value> {
    Ok(match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::Number((*i).into()),
        Scalar::FloatingPoint(f) => match Number::from_f64(f.into_inner()) {
            Some(n) => Value::Number(n),
            None => return Err(format!("{} at {here} has no JSON spelling", f.into_inner())),
        },
        Scalar::String(s) => Value::String(s.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Result<Value> {
        parse_document(text.as_bytes(), "spec.yml")
    }

    #[test]
    fn a_spec_argument_is_a_url_only_with_an_http_scheme() {
        assert_eq!(
            SpecSource::from_arg("https://h.test/a.yml"),
            SpecSource::Url("https://h.test/a.yml".into())
        );
        assert_eq!(
            SpecSource::from_arg("specs/http-things.yml"),
            SpecSource::File("specs/http-things.yml".into())
        );
        assert_eq!(
            published_spec_url("2026-05-12"),
            "https://raw.githubusercontent.com/clerk/openapi-specs/main/bapi/2026-05-12.yml"
        );
    }

    #[test]
    fn yaml_becomes_json_with_scalar_keys_spelled_as_json_spells_them() {
        let value = parse(
            "s: text\nq: '2026-05-12'\ni: 42\nf: 1.5\nt: true\nn: null\ne:\nlist: [1, two]\n\
             200: ok\ntrue: yes\na: &shared {type: string}\nb: *shared\nc: !custom 7\n",
        )
        .unwrap();
        assert_eq!(
            value,
            json!({"s": "text", "q": "2026-05-12", "i": 42, "f": 1.5, "t": true, "n": null,
                   "e": null, "list": [1, "two"], "200": "ok", "true": "yes",
                   "a": {"type": "string"}, "b": {"type": "string"}, "c": 7})
        );
        assert_eq!(parse(" {\"a\": [1, 2.0]}").unwrap(), json!({"a": [1, 2.0]}));
    }

    #[test]
    fn unreadable_or_unsupported_input_is_refused_with_its_place() {
        for (text, message) in [
            ("paths:\n  /a: [unclosed\n", "spec.yml: invalid YAML: "),
            ("{\"a\": }", "spec.yml: invalid JSON: "),
            (
                "base: &b {x: 1}\nderived:\n  <<: *b\n",
                "merge keys (<<) are not supported, found at /derived",
            ),
            ("limit: .inf\n", "at /limit has no JSON spelling"),
            ("? [a, b]\n: value\n", "keys must be scalars"),
            ("", "no YAML document"),
            ("a: 1\n---\nb: 2\n", "found 2"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(message), "{text:?}: {err}");
        }
        let err = parse_document(&[0xff, 0xfe], "spec.yml").unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
    }
}
