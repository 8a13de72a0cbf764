//! What goes over the wire: Clerk's error format, JSON answers built from the crate's own model
//! types, and request bodies parsed into the crate's own request types, with Clerk's error for
//! each way a body can be wrong.
//!
//! Error codes and their statuses follow Clerk's published index of Backend API errors
//! (clerk-docs `docs/guides/development/errors/backend-api.mdx`) where it names one; where it
//! does not, the choice is marked "Assumption" at the place the error is raised.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Value, json};

use clerk_rbac::generated::types::{ClerkError, ClerkErrors};

/// A refusal: the status and one Clerk error.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Failure {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub long_message: String,
    pub meta: Map<String, Value>,
    /// Seconds for `Retry-After`.
    pub retry_after: Option<u64>,
}

impl Failure {
    pub(crate) fn new(
        status: u16,
        code: &'static str,
        message: impl Into<String>,
        long_message: impl Into<String>,
    ) -> Self {
        Failure {
            status,
            code,
            message: message.into(),
            long_message: long_message.into(),
            meta: Map::new(),
            retry_after: None,
        }
    }

    /// Names the request parameter at fault in `meta.param_name`, as Clerk does.
    pub(crate) fn param(mut self, name: &str) -> Self {
        self.meta.insert("param_name".into(), json!(name));
        self
    }

    pub(crate) fn meta(mut self, key: &str, value: Value) -> Self {
        self.meta.insert(key.into(), value);
        self
    }

    /// Clerk's `ResourceNotFound` (404 `resource_not_found`).
    pub(crate) fn not_found(what: &str) -> Self {
        Failure::new(
            404,
            "resource_not_found",
            "not found",
            format!("{what} not found"),
        )
    }

    /// Clerk's `FormMissingParameter` (422 `form_param_missing`).
    pub(crate) fn missing(param: &str) -> Self {
        Failure::new(
            422,
            "form_param_missing",
            "missing",
            format!("The request needs `{param}`."),
        )
        .param(param)
    }

    /// Clerk's `FormInvalidParameterFormat` (422 `form_param_format_invalid`).
    pub(crate) fn format(param: &str, long_message: impl Into<String>) -> Self {
        Failure::new(
            422,
            "form_param_format_invalid",
            "badly formed",
            long_message,
        )
        .param(param)
    }

    /// Clerk's `FormInvalidParameterValue` (422 `form_param_value_invalid`).
    pub(crate) fn value(param: &str, long_message: impl Into<String>) -> Self {
        Failure::new(
            422,
            "form_param_value_invalid",
            "not accepted",
            long_message,
        )
        .param(param)
    }

    /// Clerk's `FormMissingResource` (422 `form_resource_not_found`): a body names an object
    /// that does not exist.
    pub(crate) fn missing_resource(param: &str, long_message: impl Into<String>) -> Self {
        Failure::new(
            422,
            "form_resource_not_found",
            "no such object",
            long_message,
        )
        .param(param)
    }

    /// Assumption: a duplicate key is refused as Clerk refuses other duplicates of an
    /// instance-wide identifier (allowlist identifiers, redirect URIs): 400 `duplicate_record`.
    pub(crate) fn duplicate(what: &str, key: &str) -> Self {
        Failure::new(
            400,
            "duplicate_record",
            format!("duplicate {what}"),
            format!("A {what} with key {key} already exists."),
        )
        .param("key")
    }

    /// Clerk's `InvalidRequestBody` (400 `request_body_invalid`).
    pub(crate) fn body_invalid(detail: &str) -> Self {
        Failure::new(
            400,
            "request_body_invalid",
            "unreadable body",
            format!("The request body cannot be used: {detail}."),
        )
    }

    /// Clerk's `Unexpected` (500 `internal_clerk_error`).
    pub(crate) fn internal() -> Self {
        Failure::new(
            500,
            "internal_clerk_error",
            "internal error",
            "The simulator failed while answering this request.",
        )
    }

    /// The error body, in Clerk's format, with a trace id.
    pub(crate) fn body(&self, trace_id: String) -> Vec<u8> {
        let body = ClerkErrors {
            clerk_trace_id: Some(trace_id),
            errors: vec![ClerkError {
                code: self.code.to_owned(),
                message: self.message.clone(),
                long_message: self.long_message.clone(),
                meta: self.meta.clone(),
            }],
            meta: Map::new(),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// A JSON answer built from one of the crate's model types, with the fields that are nullable
/// in the spec written as `null` when empty (`nulls`, as JSON pointers relative to `value`).
///
/// Assumption: Clerk's serializers write a nullable field as `null` rather than leaving it out
/// (the spec requires `description` on roles and role sets, and marks it nullable); the
/// generated types skip `None`, so the simulator puts the `null` back.
pub(crate) fn with_nulls<T: Serialize>(value: &T, nulls: &[&str]) -> Value {
    let mut json = serde_json::to_value(value).unwrap_or(Value::Null);
    fill_nulls(&mut json, nulls);
    json
}

pub(crate) fn fill_nulls(json: &mut Value, nulls: &[&str]) {
    if let Value::Object(map) = json {
        for field in nulls {
            map.entry(*field).or_insert(Value::Null);
        }
    }
}

/// Parses a JSON request body into the crate's request type `T`, refusing it the way Clerk
/// does: not JSON or not an object (400 `request_body_invalid`), a required field missing
/// (422 `form_param_missing`), a field the schema does not allow (422 `form_param_unknown`),
/// a field of the wrong type (422 `form_param_type_invalid`), a value outside an enum (422
/// `form_param_value_invalid`).
pub(crate) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(Failure::body_invalid("it is empty"));
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|_| Failure::body_invalid("it is not JSON"))?;
    if !value.is_object() {
        return Err(Failure::body_invalid("it is not a JSON object"));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        classify(&path, &message)
    })
}

/// Maps serde's message for a body that does not fit its type onto Clerk's form errors.
fn classify(path: &str, message: &str) -> Failure {
    let quoted = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned)
    };
    // The top-level field named by the path (`permissions[2]` -> `permissions`).
    let field = path
        .split(['.', '['])
        .find(|part| !part.is_empty())
        .unwrap_or("body")
        .to_owned();
    if let Some(name) = quoted("missing field `") {
        return Failure::missing(&name);
    }
    if let Some(name) = quoted("unknown field `") {
        return Failure::new(
            422,
            "form_param_unknown",
            "unexpected field",
            format!("This operation takes no `{name}` field."),
        )
        .param(&name);
    }
    if let Some(value) = quoted("unknown variant `") {
        return Failure::value(&field, format!("`{value}` is not a value `{field}` takes."));
    }
    if message.starts_with("invalid type") || message.starts_with("invalid value") {
        let expected = message
            .split_once("expected ")
            .map_or("another type", |(_, e)| e);
        return Failure::new(
            422,
            "form_param_type_invalid",
            "wrong type",
            format!("`{field}` must be {expected}."),
        )
        .param(&field);
    }
    Failure::body_invalid("it does not fit the operation's schema")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clerk_rbac::{CreateRole, UpdateRoleSet};

    #[test]
    fn body_errors_map_onto_clerks_form_errors() {
        let err = parse_body::<CreateRole>(br#"{"name":"A"}"#).unwrap_err();
        assert_eq!((err.status, err.code), (422, "form_param_missing"));
        assert_eq!(err.meta["param_name"], "key");

        let err = parse_body::<CreateRole>(br#"{"name":"A","key":"org:a","extra":1}"#).unwrap_err();
        assert_eq!((err.status, err.code), (422, "form_param_unknown"));
        assert_eq!(err.meta["param_name"], "extra");

        let err = parse_body::<CreateRole>(br#"{"name":"A","key":"org:a","permissions":[1]}"#)
            .unwrap_err();
        assert_eq!((err.status, err.code), (422, "form_param_type_invalid"));
        assert_eq!(err.meta["param_name"], "permissions");

        let err = parse_body::<UpdateRoleSet>(br#"{"type":"custom"}"#).unwrap_err();
        assert_eq!((err.status, err.code), (422, "form_param_value_invalid"));

        for bad in [&b""[..], b"  ", b"{", b"[1]", b"\"x\"", b"null"] {
            let err = parse_body::<CreateRole>(bad).unwrap_err();
            assert_eq!(
                (err.status, err.code),
                (400, "request_body_invalid"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn error_bodies_have_clerks_shape() {
        let body = Failure::missing("name").body("abc".into());
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["clerk_trace_id"], "abc");
        assert_eq!(json["errors"][0]["code"], "form_param_missing");
        assert_eq!(json["errors"][0]["meta"]["param_name"], "name");
        assert!(json["errors"][0]["long_message"].is_string());
    }
}
