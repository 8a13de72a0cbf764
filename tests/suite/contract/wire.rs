//! What a captured request must look like for the operation the fragment describes.

use std::collections::BTreeSet;

use percent_encoding::percent_decode_str;
use serde_json::{Value, json};
use wiremock::Request;

use super::fragment::{Direction, Fragment, Operation, Validator};
use crate::support::SECRET_KEY;

/// Everything in `request` that does not match `operation`: method, path, query, body and the
/// Clerk headers. `path_values` are the values the call gave the path parameters.
pub fn mismatches(
    fragment: &Fragment,
    validator: &mut Validator,
    operation: &Operation,
    path_values: &[(&str, &str)],
    request: &Request,
) -> Vec<String> {
    let mut problems = Vec::new();
    if request.method.as_str() != operation.method {
        problems.push(format!(
            "method {} instead of {}",
            request.method, operation.method
        ));
    }
    check_path(fragment, operation, path_values, request, &mut problems);
    check_query(validator, operation, request, &mut problems);
    check_body(validator, operation, request, &mut problems);
    check_headers(fragment, request, &mut problems);
    problems
}

fn check_path(
    fragment: &Fragment,
    operation: &Operation,
    path_values: &[(&str, &str)],
    request: &Request,
    problems: &mut Vec<String>,
) {
    let declared: BTreeSet<&str> = operation
        .parameters_in("path")
        .map(|p| p.name.as_str())
        .collect();
    let given: BTreeSet<&str> = path_values.iter().map(|(name, _)| *name).collect();
    if declared != given {
        problems.push(format!(
            "the case gives path parameters {given:?}, the operation declares {declared:?}"
        ));
    }
    let raw = request.url.path();
    let Some(relative) = raw.strip_prefix(fragment.base_path()) else {
        problems.push(format!(
            "path {raw} is not under the server's {}",
            fragment.base_path()
        ));
        return;
    };
    let sent: Vec<&str> = relative.trim_start_matches('/').split('/').collect();
    let template: Vec<&str> = operation
        .template
        .trim_start_matches('/')
        .split('/')
        .collect();
    if sent.len() != template.len() {
        problems.push(format!(
            "path {relative} has {} segments, template {} has {}",
            sent.len(),
            operation.template,
            template.len()
        ));
        return;
    }
    for (segment, expected) in sent.iter().zip(&template) {
        match expected.strip_prefix('{').and_then(|e| e.strip_suffix('}')) {
            Some(name) => {
                let decoded = percent_decode_str(segment).decode_utf8_lossy();
                let value = path_values
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| *v);
                if value != Some(decoded.as_ref()) {
                    problems.push(format!("segment `{segment}` for {{{name}}} decodes to `{decoded}`, the call gave {value:?}"));
                }
            }
            None if segment != expected => {
                problems.push(format!(
                    "segment `{segment}` where the template {} has `{expected}`",
                    operation.template
                ));
            }
            None => {}
        }
    }
}

fn check_query(
    validator: &mut Validator,
    operation: &Operation,
    request: &Request,
    problems: &mut Vec<String>,
) {
    let pairs: Vec<(String, String)> = request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    for parameter in operation.parameters_in("query").filter(|p| p.required) {
        if !pairs.iter().any(|(name, _)| *name == parameter.name) {
            problems.push(format!(
                "required query parameter `{}` is missing",
                parameter.name
            ));
        }
    }
    for (i, (name, text)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(earlier, _)| earlier == name) {
            problems.push(format!("query parameter `{name}` is sent twice"));
        }
        let Some(parameter) = operation.parameters_in("query").find(|p| p.name == *name) else {
            problems.push(format!("query parameter `{name}` is not declared"));
            continue;
        };
        // A query value is text; read it as the JSON value its schema's type describes.
        let value = match parameter.schema["type"].as_str() {
            Some("integer") => text
                .parse::<i64>()
                .map(|n| json!(n))
                .unwrap_or_else(|_| json!(text)),
            Some("number") => text
                .parse::<f64>()
                .map(|n| json!(n))
                .unwrap_or_else(|_| json!(text)),
            Some("boolean") => text
                .parse::<bool>()
                .map(|b| json!(b))
                .unwrap_or_else(|_| json!(text)),
            _ => json!(text),
        };
        if let Err(e) = validator.validate(&parameter.schema, Direction::Request, &value) {
            problems.push(format!(
                "query parameter `{name}={text}` does not fit its schema: {e}"
            ));
        }
    }
}

fn check_body(
    validator: &mut Validator,
    operation: &Operation,
    request: &Request,
    problems: &mut Vec<String>,
) {
    let Some(schema) = &operation.request_body else {
        if !request.body.is_empty() {
            problems.push(format!(
                "a body is sent, the operation takes none: {}",
                String::from_utf8_lossy(&request.body)
            ));
        }
        return;
    };
    if content_type(request).as_deref() != Some("application/json") {
        problems.push(format!(
            "Content-Type is {:?}, not application/json",
            content_type(request)
        ));
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(body) => {
            if let Err(e) = validator.validate(schema, Direction::Request, &body) {
                problems.push(format!(
                    "body {body} does not fit the request-body schema: {e}"
                ));
            }
        }
        Err(e) => problems.push(format!(
            "the body is not JSON ({e}): {}",
            String::from_utf8_lossy(&request.body)
        )),
    }
}

fn content_type(request: &Request) -> Option<String> {
    header(request, "content-type")
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned())
}

fn check_headers(fragment: &Fragment, request: &Request, problems: &mut Vec<String>) {
    let expected_authorization = format!("Bearer {SECRET_KEY}");
    if header(request, "authorization").as_deref() != Some(expected_authorization.as_str()) {
        problems.push("Authorization is not `Bearer <the client's secret key>`".to_owned());
    }
    let version = header(request, "clerk-api-version");
    if version.as_deref() != Some(fragment.api_version()) {
        problems.push(format!(
            "Clerk-API-Version is {version:?}, the fragment's info.version is {}",
            fragment.api_version()
        ));
    }
    let agent = header(request, "user-agent");
    if !agent
        .as_deref()
        .is_some_and(|a| a.starts_with("clerk-rbac/"))
    {
        problems.push(format!("User-Agent is {agent:?}, not clerk-rbac/<version>"));
    }
    if let Some(value) = header(request, "api-version") {
        problems.push(format!(
            "progenitor's `api-version: {value}` header is sent"
        ));
    }
}

fn header(request: &Request, name: &str) -> Option<String> {
    request
        .headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The query parameter names and top-level body properties a request sends.
pub fn sent_names(request: &Request) -> (BTreeSet<String>, BTreeSet<String>) {
    let query = request
        .url
        .query_pairs()
        .map(|(name, _)| name.into_owned())
        .collect();
    let body = serde_json::from_slice::<Value>(&request.body)
        .ok()
        .and_then(|body| body.as_object().map(|o| o.keys().cloned().collect()))
        .unwrap_or_default();
    (query, body)
}
