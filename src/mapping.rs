//! How the generated client's errors, and what the hooks recorded during the call, become the
//! crate's [`Error`]. Every text kept from a response passes through the client's
//! [`Redactor`] here, before it is stored.

use reqwest::{StatusCode, header::HeaderValue};
use serde_json::Value;

use crate::{
    Error,
    attempt::AttemptRecord,
    error::{ApiError, BodyError, DecodeError},
    generated::types::ClerkErrors,
    json_path,
    redact::Redactor,
    retry::Attempts,
};

/// How much of an unexpected body an error keeps: enough to recognise a proxy's error page,
/// small enough to log.
pub(crate) const EXCERPT_BYTES: usize = 512;

/// Maps an error of the generated client. `call` is what the hooks noted during the last
/// attempt: its status and headers (which a decoding or body failure no longer carries), an
/// oversized body; `attempts` is how many were made and why retrying stopped.
pub(crate) async fn from_generated(
    error: progenitor_client::Error<ClerkErrors>,
    call: AttemptRecord,
    attempts: Attempts,
    redactor: &Redactor,
) -> Error {
    use progenitor_client::Error as Generated;
    let trace_id = || scrubbed_header(call.cf_ray.as_ref(), redactor);
    if let (Some(limit), Some(status)) = (call.too_large, call.status) {
        // The body was refused (unread, or cut at the limit); whatever failed next is moot.
        return Error::ResponseTooLarge {
            status,
            limit,
            trace_id: trace_id(),
            retry_after: call.retry_after,
            attempts,
        };
    }
    match error {
        Generated::ErrorResponse(response) => api_error(
            response.status(),
            response.into_inner(),
            &call,
            attempts,
            redactor,
        ),
        Generated::UnexpectedResponse(response) => {
            let status = response.status();
            // Bounded by the hooks (a declared length within the limit, or a counting body); a
            // body that fails here still leaves the status to report.
            let body = response.bytes().await.unwrap_or_default();
            unexpected(status, &body, &call, attempts, redactor)
        }
        Generated::InvalidResponsePayload(bytes, failure) => match call.status {
            // A documented error status whose body is not Clerk's JSON (e.g. a proxy page).
            Some(status) if !status.is_success() => Error::UnexpectedResponse {
                status,
                body: redactor.excerpt(&bytes, EXCERPT_BYTES),
                trace_id: trace_id(),
                retry_after: call.retry_after,
                attempts,
            },
            status => decode_error(status, &bytes, &failure, &call, attempts, redactor),
        },
        // The head arrived (the hooks saw its status), then the body failed.
        Generated::ResponseBodyError(source) => match call.status {
            Some(status) => Error::BodyFailed(Box::new(BodyError {
                status,
                method: call.method.clone().unwrap_or_default(),
                source,
                trace_id: trace_id(),
                retry_after: call.retry_after,
                attempts,
            })),
            None => transport(source, attempts),
        },
        Generated::CommunicationError(source) | Generated::InvalidUpgrade(source) => {
            transport(source, attempts)
        }
        Generated::InvalidRequest(message) | Generated::Custom(message) => {
            Error::InvalidRequest(redactor.scrub_owned(message))
        }
    }
}

fn transport(source: reqwest::Error, attempts: Attempts) -> Error {
    // A redirect error names the server's target URL, which is the server's text.
    let source = if source.is_redirect() {
        source.without_url()
    } else {
        source
    };
    Error::Transport { source, attempts }
}

/// Clerk's error JSON, scrubbed; the trace id is Clerk's own, else the response's `cf-ray`.
fn api_error(
    status: StatusCode,
    body: ClerkErrors,
    call: &AttemptRecord,
    attempts: Attempts,
    redactor: &Redactor,
) -> Error {
    let trace_id = body
        .clerk_trace_id
        .filter(|id| !id.trim().is_empty())
        .map(|id| redactor.scrub_owned(id))
        .or_else(|| scrubbed_header(call.cf_ray.as_ref(), redactor));
    let errors = body
        .errors
        .into_iter()
        .map(|mut error| {
            error.code = redactor.scrub_owned(error.code);
            error.message = redactor.scrub_owned(error.message);
            error.long_message = redactor.scrub_owned(error.long_message);
            let mut meta = Value::Object(std::mem::take(&mut error.meta));
            redactor.scrub_json(&mut meta);
            if let Value::Object(meta) = meta {
                error.meta = meta;
            }
            error
        })
        .collect();
    Error::Api(Box::new(ApiError {
        status,
        errors,
        trace_id,
        retry_after: call.retry_after,
        attempts,
    }))
}

/// An undocumented status: Clerk's error JSON when the body is one, else the status and an
/// excerpt.
fn unexpected(
    status: StatusCode,
    body: &[u8],
    call: &AttemptRecord,
    attempts: Attempts,
    redactor: &Redactor,
) -> Error {
    match serde_json::from_slice::<ClerkErrors>(body) {
        Ok(clerk) => api_error(status, clerk, call, attempts, redactor),
        Err(_) => Error::UnexpectedResponse {
            status,
            body: redactor.excerpt(body, EXCERPT_BYTES),
            trace_id: scrubbed_header(call.cf_ray.as_ref(), redactor),
            retry_after: call.retry_after,
            attempts,
        },
    }
}

/// A body that did not decode: where in it (see [`json_path`](crate::json_path)) and why.
fn decode_error(
    status: Option<StatusCode>,
    bytes: &[u8],
    failure: &serde_json::Error,
    call: &AttemptRecord,
    attempts: Attempts,
    redactor: &Redactor,
) -> Error {
    let offset = json_path::offset_of(bytes, failure.line(), failure.column());
    let path = json_path::path_at(bytes, offset);
    let message = failure.to_string();
    Error::Decode(Box::new(DecodeError {
        status,
        // Both may quote the body (a map key, an unexpected string value).
        path: redactor.scrub_owned(path),
        message: redactor.scrub_owned(message),
        body: redactor.excerpt(bytes, EXCERPT_BYTES),
        trace_id: scrubbed_header(call.cf_ray.as_ref(), redactor),
        retry_after: call.retry_after,
        attempts,
    }))
}

/// A header's text, trimmed and scrubbed; `None` when absent, empty or not text.
fn scrubbed_header(value: Option<&HeaderValue>, redactor: &Redactor) -> Option<String> {
    let text = value?.to_str().ok()?.trim();
    (!text.is_empty()).then(|| redactor.scrub(text).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_Mapp1ngUnitKey";

    #[test]
    fn decode_error_names_the_failing_field_without_the_key() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            created_at: i64,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct List {
            data: Vec<Item>,
        }
        let body = format!(r#"{{"data":[{{"created_at":1}},{{"created_at":"Bearer {KEY}"}}]}}"#);
        let failure = serde_json::from_str::<List>(&body).unwrap_err();
        let call = AttemptRecord::default();
        let error = decode_error(
            Some(StatusCode::OK),
            body.as_bytes(),
            &failure,
            &call,
            Attempts::default(),
            &Redactor::new(KEY),
        );
        let Error::Decode(decode) = &error else {
            panic!("expected a decode error");
        };
        assert_eq!(decode.path, "data[1].created_at");
        assert!(
            decode.message.contains("invalid type"),
            "{}",
            decode.message
        );
        assert!(error.to_string().contains("200 OK"));
        for shown in [
            error.to_string(),
            format!("{error:?}"),
            format!("{error:#?}"),
        ] {
            assert!(!shown.contains(KEY), "{shown}");
        }
    }
}
