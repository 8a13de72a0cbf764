//! The crate's one error type, and how the generated client's errors map onto it.

use std::{fmt, time::Duration};

use reqwest::{StatusCode, header::HeaderMap};
use serde::de::DeserializeOwned;

use crate::{
    generated::types::{ClerkError, ClerkErrors},
    hooks::CallRecord,
    retry::{Attempts, GaveUp},
};

/// The result type of every facade call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How much of an unexpected body an error keeps: enough to recognise a proxy's error page,
/// small enough to log.
const EXCERPT_BYTES: usize = 512;
/// How much of an undocumented response's body is read at most to look for Clerk's error JSON.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Everything that can go wrong when calling Clerk.
///
/// The variants keep what a caller needs to react (status, Clerk error codes, trace id,
/// `Retry-After`, how many attempts were made); the helper methods reach them without matching.
/// No variant ever holds or prints the secret key.
///
/// When the client retried, [`attempts`](Error::attempts) says how often it sent the request,
/// and the message ends with e.g. `(gave up after 3 attempts, the retry policy's maximum)`.
///
/// ```no_run
/// # async fn demo(clerk: clerk_rbac::Clerk) {
/// match clerk.organization_roles().get("role_123").await {
///     Ok(role) => println!("found {}", role.key),
///     Err(e) if e.is_not_found() => println!("no such role"),
///     Err(e) => eprintln!("{e} (trace id {:?})", e.trace_id()),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Clerk answered with its JSON error format (`{"errors": [...]}`).
    #[error("{0}")]
    Api(Box<ApiError>),

    /// Clerk (or a proxy in front of it) answered with a status the operation does not document
    /// and a body that is not Clerk's error JSON, such as an HTML 502 page.
    #[error(
        "unexpected HTTP {status} from the Clerk API{}{}; body: {body}",
        trace_suffix(.trace_id.as_deref()),
        attempts_suffix(.attempts)
    )]
    UnexpectedResponse {
        /// The HTTP status.
        status: StatusCode,
        /// The start of the body, at most 512 bytes, marked when cut.
        body: String,
        /// The `cf-ray` header, when present.
        trace_id: Option<String>,
        /// How many requests the call sent.
        attempts: Attempts,
    },

    /// A response arrived but its JSON does not fit the type the operation documents.
    #[error("{0}")]
    Decode(Box<DecodeError>),

    /// The request or its response could not be carried: connection refused or reset, TLS
    /// failure, timeout, or a body cut short.
    #[error("could not talk to the Clerk API{}: {source}", attempts_suffix(.attempts))]
    Transport {
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
        /// How many requests the call sent (or tried to).
        attempts: Attempts,
    },

    /// The response body was longer than the client's limit (see
    /// [`ClerkBuilder::max_response_bytes`](crate::ClerkBuilder::max_response_bytes)); it was
    /// not read past the limit.
    #[error(
        "the Clerk API's response ({status}) is larger than the {limit}-byte limit{}",
        attempts_suffix(.attempts)
    )]
    ResponseTooLarge {
        /// The HTTP status of the response.
        status: StatusCode,
        /// The limit in bytes.
        limit: u64,
        /// How many requests the call sent.
        attempts: Attempts,
    },

    /// The call's arguments are invalid; nothing was sent.
    #[error("invalid request, nothing was sent: {0}")]
    InvalidRequest(String),

    /// The client could not be built from the given configuration.
    #[error("invalid Clerk client configuration: {0}")]
    Config(String),
}

/// A Clerk API error response: status, Clerk's error list, and the request's trace id.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Clerk's errors, in the order sent (usually one).
    pub errors: Vec<ClerkError>,
    /// Clerk's trace id: the body's `clerk_trace_id`, else the `cf-ray` header.
    pub trace_id: Option<String>,
    /// How long Clerk asked us to wait, from `Retry-After` (seconds or an HTTP date).
    pub retry_after: Option<Duration>,
    /// How many requests the call sent.
    pub attempts: Attempts,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Clerk API answered {}", self.status)?;
        for error in &self.errors {
            write!(f, "; {}: {}", error.code, error.message)?;
            if !error.long_message.is_empty() && error.long_message != error.message {
                write!(f, " ({})", error.long_message)?;
            }
        }
        if let Some(wait) = self.retry_after {
            write!(f, "; retry after {}s", wait.as_secs_f64())?;
        }
        f.write_str(&trace_suffix(self.trace_id.as_deref()))?;
        f.write_str(&attempts_suffix(&self.attempts))
    }
}

/// A response body that does not decode into the documented type.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DecodeError {
    /// The HTTP status of the response, when known.
    pub status: Option<StatusCode>,
    /// Where in the JSON decoding failed, e.g. `data[3].permissions[0].created_at` (`.` for the
    /// document itself).
    pub path: String,
    /// What was wrong there.
    pub message: String,
    /// The start of the body, at most 512 bytes, marked when cut.
    pub body: String,
    /// How many requests the call sent.
    pub attempts: Attempts,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("could not decode the Clerk API's response")?;
        if let Some(status) = self.status {
            write!(f, " ({status})")?;
        }
        write!(f, " at `{}`: {}", self.path, self.message)?;
        write!(
            f,
            "{}; body: {}",
            attempts_suffix(&self.attempts),
            self.body
        )
    }
}

fn trace_suffix(trace_id: Option<&str>) -> String {
    trace_id
        .map(|id| format!(" [trace id {id}]"))
        .unwrap_or_default()
}

/// ` (after 2 attempts)`, or why retrying stopped; nothing for a single attempt.
fn attempts_suffix(attempts: &Attempts) -> String {
    let made = attempts.made;
    let plural = if made == 1 { "" } else { "s" };
    match attempts.gave_up {
        Some(GaveUp::MaxAttempts) => {
            format!(" (gave up after {made} attempt{plural}, the retry policy's maximum)")
        }
        Some(GaveUp::TimeBudget) => {
            format!(" (gave up after {made} attempt{plural}: the retry time budget ran out)")
        }
        None if made > 1 => format!(" (after {made} attempts)"),
        None => String::new(),
    }
}

impl Error {
    /// The HTTP status, for errors that come from a response.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::UnexpectedResponse { status, .. } => Some(*status),
            Error::Decode(decode) => decode.status,
            Error::Transport { source, .. } => source.status(),
            Error::ResponseTooLarge { status, .. } => Some(*status),
            Error::InvalidRequest(_) | Error::Config(_) => None,
        }
    }

    /// Clerk's trace id for the failed request, to quote to Clerk support.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.trace_id.as_deref(),
            Error::UnexpectedResponse { trace_id, .. } => trace_id.as_deref(),
            _ => None,
        }
    }

    /// How long Clerk asked the caller to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// Clerk's errors, empty unless this is an [`Error::Api`].
    pub fn clerk_errors(&self) -> &[ClerkError] {
        match self {
            Error::Api(api) => &api.errors,
            _ => &[],
        }
    }

    /// The first Clerk error code, such as `"resource_not_found"` or `"form_identifier_exists"`.
    pub fn code(&self) -> Option<&str> {
        self.clerk_errors().first().map(|e| e.code.as_str())
    }

    /// Whether Clerk itself answered that the permission, role or role set does not exist: a
    /// 404 carrying Clerk's error JSON. A 404 page from something else on the way (a proxy, a
    /// wrong base URL) is not taken for an answer about the object: it stays an
    /// [`Error::UnexpectedResponse`], and this is `false`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(api) if api.status == StatusCode::NOT_FOUND)
    }

    /// Whether Clerk answered 429: too many requests.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Transport { source, .. } if source.is_timeout())
    }

    /// How many requests the call sent, and whether the retry policy ran out; `made` is 0 for
    /// errors raised before anything was sent.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) {
    /// if let Err(e) = clerk.organization_roles().get("role_123").await {
    ///     if e.attempts().gave_up.is_some() {
    ///         eprintln!("still failing after {} attempts: {e}", e.attempts().made);
    ///     }
    /// }
    /// # }
    /// ```
    pub fn attempts(&self) -> Attempts {
        match self {
            Error::Api(api) => api.attempts,
            Error::Decode(decode) => decode.attempts,
            Error::UnexpectedResponse { attempts, .. }
            | Error::Transport { attempts, .. }
            | Error::ResponseTooLarge { attempts, .. } => *attempts,
            Error::InvalidRequest(_) | Error::Config(_) => Attempts::default(),
        }
    }

    fn with_attempts(mut self, made: Attempts) -> Self {
        match &mut self {
            Error::Api(api) => api.attempts = made,
            Error::Decode(decode) => decode.attempts = made,
            Error::UnexpectedResponse { attempts, .. }
            | Error::Transport { attempts, .. }
            | Error::ResponseTooLarge { attempts, .. } => *attempts = made,
            Error::InvalidRequest(_) | Error::Config(_) => {}
        }
        self
    }

    /// Maps an error of the generated client. `T` is the type the operation decodes on success
    /// (used to locate a decoding failure); `call` is what the hooks noted: the status of the
    /// response (which a decoding failure no longer carries), the attempts, an oversized body.
    pub(crate) async fn from_generated<T: DeserializeOwned>(
        error: progenitor_client::Error<ClerkErrors>,
        call: CallRecord,
    ) -> Error {
        use progenitor_client::Error as Generated;
        let status = call.status;
        if let (Some(limit), Some(status)) = (call.too_large, status) {
            // The hooks replaced the body by an empty one; whatever failed next is moot.
            return Error::ResponseTooLarge {
                status,
                limit,
                attempts: call.attempts,
            };
        }
        let error = match error {
            Generated::ErrorResponse(response) => {
                let (status, headers) = (response.status(), response.headers().clone());
                api_error(status, &headers, response.into_inner())
            }
            Generated::UnexpectedResponse(response) => unexpected(response).await,
            Generated::InvalidResponsePayload(bytes, _) => match status {
                // A documented error status whose body is not Clerk's JSON (e.g. a proxy page).
                Some(status) if !status.is_success() => Error::UnexpectedResponse {
                    status,
                    body: excerpt(&bytes),
                    trace_id: None,
                    attempts: Attempts::default(),
                },
                _ => decode_error::<T>(status, &bytes),
            },
            Generated::CommunicationError(source)
            | Generated::ResponseBodyError(source)
            | Generated::InvalidUpgrade(source) => Error::Transport {
                source,
                attempts: Attempts::default(),
            },
            Generated::InvalidRequest(message) | Generated::Custom(message) => {
                Error::InvalidRequest(message)
            }
        };
        error.with_attempts(call.attempts)
    }
}

fn api_error(status: StatusCode, headers: &HeaderMap, body: ClerkErrors) -> Error {
    let trace_id = body.clerk_trace_id.or_else(|| header(headers, "cf-ray"));
    Error::Api(Box::new(ApiError {
        status,
        errors: body.errors,
        trace_id,
        retry_after: retry_after(headers),
        attempts: Attempts::default(),
    }))
}

/// An undocumented status: Clerk's error JSON when the body is one, else the bare status.
async fn unexpected(mut response: reqwest::Response) -> Error {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    let mut body = Vec::new();
    // Read at most ERROR_BODY_LIMIT: an error page can be arbitrarily large.
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    match serde_json::from_slice::<ClerkErrors>(&body) {
        Ok(clerk) => api_error(status, &headers, clerk),
        Err(_) => Error::UnexpectedResponse {
            status,
            body: excerpt(&body),
            trace_id: header(&headers, "cf-ray"),
            attempts: Attempts::default(),
        },
    }
}

/// Decodes again, this time tracking the path, to say which field failed.
fn decode_error<T: DeserializeOwned>(status: Option<StatusCode>, bytes: &[u8]) -> Error {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(e) => (e.path().to_string(), e.into_inner().to_string()),
        // Only reachable if the two decoders disagree; keep the report honest anyway.
        Ok(_) => (".".to_owned(), "the response did not decode".to_owned()),
    };
    Error::Decode(Box::new(DecodeError {
        status,
        path,
        message,
        body: excerpt(bytes),
        attempts: Attempts::default(),
    }))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `Retry-After` as a wait: delta-seconds or an HTTP date (a date in the past means now).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header(headers, "retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(&value).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// The start of a body as text, cut on a character boundary, saying how long it was.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(EXCERPT_BYTES)]);
    let text = text.trim_end_matches('\u{FFFD}');
    if bytes.len() > EXCERPT_BYTES {
        format!("{text}… ({} bytes in all)", bytes.len())
    } else if bytes.is_empty() {
        "(empty)".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn excerpt_is_bounded_and_says_so() {
        let long = "é".repeat(1000);
        let cut = excerpt(long.as_bytes());
        assert!(cut.len() < EXCERPT_BYTES + 40, "{}", cut.len());
        assert!(cut.ends_with("(2000 bytes in all)"), "{cut}");
        assert_eq!(excerpt(b""), "(empty)");
        assert_eq!(
            excerpt(b"<html>bad gateway</html>"),
            "<html>bad gateway</html>"
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));

        let soon = std::time::SystemTime::now() + Duration::from_secs(120);
        let date = httpdate::fmt_http_date(soon);
        headers.insert("retry-after", HeaderValue::from_str(&date).unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );

        headers.insert(
            "retry-after",
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));

        headers.insert("retry-after", HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn decode_error_names_the_failing_field() {
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
        let body = br#"{"data":[{"created_at":1},{"created_at":"yesterday"}]}"#;
        let Error::Decode(decode) = decode_error::<List>(Some(StatusCode::OK), body) else {
            panic!("expected a decode error");
        };
        assert_eq!(decode.path, "data[1].created_at");
        assert!(
            decode.message.contains("invalid type"),
            "{}",
            decode.message
        );
        assert!(decode.to_string().contains("200 OK"));
    }
}
