//! Checks on IDs that go into a URL path.
//!
//! The generated client percent-encodes each path parameter (`/`, `?`, `#`, `%`, spaces,
//! control characters and non-ASCII are escaped; `:` stays literal, as role-set keys like
//! `role_set:default` need). What encoding cannot fix is a segment the URL parser itself
//! rewrites: `.` and `..` are resolved away, so `role_sets/..` would reach another endpoint.
//! Those, and the empty ID, are refused here before anything is sent. So is any ID with a
//! backslash: encoding leaves `\` as it is, and the URL parser reads it as `/` in http(s) URLs,
//! so `a\b` would become two segments and `\..` would climb out of its own.

use crate::{Error, Result};

/// Returns `id` if it can stand as exactly one path segment.
pub(crate) fn segment<'a>(name: &str, id: &'a str) -> Result<&'a str> {
    let problem = match id {
        "" => "must not be empty",
        "." | ".." => "must not be `.` or `..`, which URL resolution would remove",
        _ if id.contains('\\') => "must not contain `\\`, which URL parsing reads as `/`",
        _ => return Ok(id),
    };
    Err(Error::InvalidRequest(format!("`{name}` {problem}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_pass_unchanged() {
        for id in ["role_2abc", "role_set:default", "a/b", "%2e%2e", "...", " "] {
            assert_eq!(segment("id", id).unwrap(), id);
        }
    }

    #[test]
    fn unrepresentable_ids_are_refused() {
        for id in ["", ".", "..", "a\\b", "\\..", "\\"] {
            let err = segment("permission_id", id).unwrap_err();
            assert!(
                matches!(err, Error::InvalidRequest(ref m) if m.contains("permission_id")),
                "{err}"
            );
        }
    }
}
