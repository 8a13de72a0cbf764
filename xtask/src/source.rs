//! Where a spec comes from: a local file or an http(s) URL, and the provenance recorded for it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Context, Error, Result};
use crate::normalize::Provenance;
use crate::parse::parse_document;

/// Where Clerk publishes its Backend API specs, one file per API version
/// (`<base>/<version>.yml`), from the `clerk/openapi-specs` repository.
pub const PUBLISHED_SPEC_BASE: &str =
    "https://raw.githubusercontent.com/clerk/openapi-specs/main/bapi";

/// Upper bound for a download, so an unreachable host ends the run instead of hanging it.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The published spec for one Clerk API version, such as `2026-05-12`.
pub fn published_spec_url(version: &str) -> String {
    format!("{PUBLISHED_SPEC_BASE}/{version}.yml")
}

/// A spec to read: `--spec` takes either form.
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

    /// The name written into the fragment's provenance: the URL, or only the file's name, so that
    /// nobody's local directory layout ends up in the committed file.
    pub fn provenance_name(&self) -> String {
        match self {
            SpecSource::Url(url) => url.clone(),
            SpecSource::File(path) => path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
        }
    }

    /// The raw bytes of the spec.
    pub fn read(&self) -> Result<Vec<u8>> {
        match self {
            SpecSource::File(path) => {
                std::fs::read(path).context(|| format!("reading spec {}", path.display()))
            }
            SpecSource::Url(url) => download(url),
        }
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

/// A parsed spec together with the provenance that goes into the fragment's `info`.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The whole spec as JSON.
    pub document: Value,
    /// Its source name and the SHA-256 of its exact bytes.
    pub provenance: Provenance,
}

/// Reads, hashes and parses a spec.
pub fn load(source: &SpecSource) -> Result<LoadedSpec> {
    let bytes = source.read()?;
    let document = parse_document(&bytes, &source.to_string())?;
    Ok(LoadedSpec {
        document,
        provenance: Provenance {
            source: source.provenance_name(),
            sha256: sha256_hex(&bytes),
        },
    })
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn download(url: &str) -> Result<Vec<u8>> {
    let offline_hint = "pass --spec <local file> to regenerate without network access";
    let client = reqwest::blocking::Client::builder()
        .timeout(DOWNLOAD_TIMEOUT)
        .user_agent(concat!("clerk-rbac-xtask/", env!("CARGO_PKG_VERSION")))
        .build()
        .context(|| "setting up the HTTP client".to_string())?;
    let response = client.get(url).send().map_err(|e| {
        let e = e.without_url();
        Error::new(format!(
            "downloading {url} failed: {}; {offline_hint}",
            chain(&e)
        ))
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(Error::new(format!(
            "downloading {url} failed: the server answered {status}; {offline_hint}"
        )));
    }
    let body = response.bytes().map_err(|e| {
        let e = e.without_url();
        Error::new(format!("downloading {url} failed: {}", chain(&e)))
    })?;
    Ok(body.to_vec())
}

/// An error and its causes on one line: reqwest's top-level message alone ("error sending
/// request") does not say whether DNS, the connection or TLS failed.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_url_follows_the_clerk_openapi_specs_layout() {
        assert_eq!(
            published_spec_url("2026-05-12"),
            "https://raw.githubusercontent.com/clerk/openapi-specs/main/bapi/2026-05-12.yml"
        );
    }

    #[test]
    fn spec_argument_is_a_url_only_with_an_http_scheme() {
        assert_eq!(
            SpecSource::from_arg("https://example.test/a.yml"),
            SpecSource::Url("https://example.test/a.yml".into())
        );
        assert_eq!(
            SpecSource::from_arg("specs/http-things.yml"),
            SpecSource::File("specs/http-things.yml".into())
        );
    }

    #[test]
    fn provenance_keeps_only_the_file_name_or_the_whole_url() {
        let file = SpecSource::from_arg("/home/someone/downloads/bapi-2026-05-12.yml");
        assert_eq!(file.provenance_name(), "bapi-2026-05-12.yml");
        let url = SpecSource::from_arg("https://example.test/bapi/2026-05-12.yml");
        assert_eq!(
            url.provenance_name(),
            "https://example.test/bapi/2026-05-12.yml"
        );
    }

    #[test]
    fn sha256_is_lowercase_hex_of_the_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_missing_file_names_the_path() {
        let err = SpecSource::from_arg("does/not/exist.yml")
            .read()
            .unwrap_err();
        assert!(
            err.message()
                .starts_with("reading spec does/not/exist.yml: "),
            "{err}"
        );
    }
}
