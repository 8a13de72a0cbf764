//! The crate's one error type, and how the generated client's errors map onto it.

use std::{fmt, time::Duration};

use reqwest::{Method, StatusCode};

use crate::{
    generated::types::ClerkError,
    retry::{Attempts, GaveUp},
};

/// The result type of every facade call.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling Clerk.
///
/// The variants keep what a caller needs to react (status, Clerk error codes, trace id,
/// `Retry-After`, how many attempts were made); the helper methods reach them without matching.
/// No variant ever holds or prints the secret key: it is scrubbed from everything kept from a
/// response (body excerpts, Clerk's messages, trace ids), even when a server echoes it.
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

    /// Clerk (or a proxy in front of it) answered with a status that is not a success and a
    /// body that is not Clerk's error JSON, such as an HTML 502 page or a proxy's 404.
    #[error(
        "unexpected HTTP {status} from the Clerk API{}{}{}; body: {body}",
        wait_suffix(*.retry_after),
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
        /// How long the server asked the caller to wait, from `Retry-After`.
        retry_after: Option<Duration>,
        /// How many requests the call sent.
        attempts: Attempts,
    },

    /// A response arrived but its JSON does not fit the type the operation documents.
    #[error("{0}")]
    Decode(Box<DecodeError>),

    /// The response's status and headers arrived, then reading its body failed: the connection
    /// broke off, the body was malformed, or it did not arrive in time. The status is kept, and
    /// the message says whether Clerk carried the request out.
    #[error("{0}")]
    BodyFailed(Box<BodyError>),

    /// No response arrived: the connection could not be made, was closed or reset before an
    /// answer, TLS failed, or the request timed out waiting for the answer.
    #[error(
        "could not talk to the Clerk API: {}{}",
        transport_reason(.source),
        attempts_suffix(.attempts)
    )]
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
        "the Clerk API's response ({status}) is larger than the {limit}-byte limit{}{}",
        trace_suffix(.trace_id.as_deref()),
        attempts_suffix(.attempts)
    )]
    ResponseTooLarge {
        /// The HTTP status of the response.
        status: StatusCode,
        /// The limit in bytes.
        limit: u64,
        /// The `cf-ray` header, when present.
        trace_id: Option<String>,
        /// How long the server asked the caller to wait, from `Retry-After`.
        retry_after: Option<Duration>,
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
    /// Clerk's errors, in the order sent (usually one), with the secret key scrubbed from
    /// every text in them.
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
        f.write_str(&wait_suffix(self.retry_after))?;
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
    /// The `cf-ray` header, when present.
    pub trace_id: Option<String>,
    /// How long the server asked the caller to wait, from `Retry-After`.
    pub retry_after: Option<Duration>,
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
        f.write_str(&trace_suffix(self.trace_id.as_deref()))?;
        write!(
            f,
            "{}; body: {}",
            attempts_suffix(&self.attempts),
            self.body
        )
    }
}

/// A response whose status and headers arrived but whose body could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub struct BodyError {
    /// The HTTP status that arrived before the body failed.
    pub status: StatusCode,
    /// The HTTP method of the request, which tells whether sending it took effect.
    pub method: Method,
    /// Why the body could not be read.
    pub source: reqwest::Error,
    /// The `cf-ray` header, when present.
    pub trace_id: Option<String>,
    /// How long the server asked the caller to wait, from `Retry-After`.
    pub retry_after: Option<Duration>,
    /// How many requests the call sent.
    pub attempts: Attempts,
}

impl BodyError {
    /// Whether Clerk carried the request out: it answered with a success status, only the
    /// answer's body was lost. For a create, the object exists now.
    pub fn took_effect(&self) -> bool {
        self.status.is_success()
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the Clerk API answered {} to the {}, then reading its body failed: {}",
            self.status,
            self.method,
            transport_reason(&self.source)
        )?;
        if self.took_effect() && self.method != Method::GET {
            f.write_str(" (the request took effect: only the answer was lost)")?;
        }
        f.write_str(&wait_suffix(self.retry_after))?;
        f.write_str(&trace_suffix(self.trace_id.as_deref()))?;
        f.write_str(&attempts_suffix(&self.attempts))
    }
}

impl std::error::Error for BodyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// What went wrong on the wire, in words: "timed out" for any timeout (waiting for the answer
/// or reading its body), else the HTTP client's message and the innermost cause it wraps.
fn transport_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }
    let mut root: &dyn std::error::Error = error;
    while let Some(cause) = root.source() {
        root = cause;
    }
    let outer = error.to_string();
    let inner = root.to_string();
    if std::ptr::addr_eq(root, error as &dyn std::error::Error) || outer.contains(&inner) {
        outer
    } else {
        format!("{outer}: {inner}")
    }
}

fn trace_suffix(trace_id: Option<&str>) -> String {
    trace_id
        .map(|id| format!(" [trace id {id}]"))
        .unwrap_or_default()
}

fn wait_suffix(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|wait| format!("; retry after {}s", wait.as_secs_f64()))
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
        Some(GaveUp::RetryAfterTooLong) => format!(
            " (gave up after {made} attempt{plural}: the server asked for a longer wait than \
             the retry policy's maximum delay)"
        ),
        None if made > 1 => format!(" (after {made} attempts)"),
        None => String::new(),
    }
}

impl Error {
    /// The HTTP status, for errors that come from a response (including one whose body then
    /// failed).
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) {
    /// use clerk_rbac::StatusCode;
    /// if let Err(e) = clerk.organization_roles().delete("role_123").await {
    ///     if e.status() == Some(StatusCode::UNPROCESSABLE_ENTITY) {
    ///         eprintln!("still in use: {e}");
    ///     }
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::UnexpectedResponse { status, .. } | Error::ResponseTooLarge { status, .. } => {
                Some(*status)
            }
            Error::Decode(decode) => decode.status,
            Error::BodyFailed(body) => Some(body.status),
            Error::Transport { source, .. } => source.status(),
            Error::InvalidRequest(_) | Error::Config(_) => None,
        }
    }

    /// Clerk's trace id for the failed request, to quote to Clerk support: Clerk's own
    /// (`clerk_trace_id`) when its error JSON carried one, else the `cf-ray` header of any
    /// response.
    pub fn trace_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.trace_id.as_deref(),
            Error::UnexpectedResponse { trace_id, .. }
            | Error::ResponseTooLarge { trace_id, .. } => trace_id.as_deref(),
            Error::Decode(decode) => decode.trace_id.as_deref(),
            Error::BodyFailed(body) => body.trace_id.as_deref(),
            Error::Transport { .. } | Error::InvalidRequest(_) | Error::Config(_) => None,
        }
    }

    /// How long the server asked the caller to wait before trying again (`Retry-After`), on
    /// any error that carries a response. When the wait was longer than the retry policy
    /// allows, the client gave up at once ([`GaveUp::RetryAfterTooLong`]) and this says how
    /// long to wait.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Api(api) => api.retry_after,
            Error::UnexpectedResponse { retry_after, .. }
            | Error::ResponseTooLarge { retry_after, .. } => *retry_after,
            Error::Decode(decode) => decode.retry_after,
            Error::BodyFailed(body) => body.retry_after,
            Error::Transport { .. } | Error::InvalidRequest(_) | Error::Config(_) => None,
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

    /// Whether the server answered 429: too many requests.
    pub fn is_rate_limited(&self) -> bool {
        self.status() == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// Whether the request timed out, waiting for the answer or reading its body.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_timeout(),
            Error::BodyFailed(body) => body.source.is_timeout(),
            _ => false,
        }
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
            Error::BodyFailed(body) => body.attempts,
            Error::UnexpectedResponse { attempts, .. }
            | Error::Transport { attempts, .. }
            | Error::ResponseTooLarge { attempts, .. } => *attempts,
            Error::InvalidRequest(_) | Error::Config(_) => Attempts::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_way_of_giving_up_is_said_in_words() {
        let attempts = |made, gave_up| Attempts { made, gave_up };
        assert_eq!(attempts_suffix(&attempts(1, None)), "");
        assert_eq!(attempts_suffix(&attempts(2, None)), " (after 2 attempts)");
        assert!(attempts_suffix(&attempts(3, Some(GaveUp::MaxAttempts))).contains("maximum"));
        assert!(attempts_suffix(&attempts(2, Some(GaveUp::TimeBudget))).contains("budget"));
        let long_wait = attempts_suffix(&attempts(1, Some(GaveUp::RetryAfterTooLong)));
        assert!(long_wait.contains("1 attempt:"), "{long_wait}");
        assert!(long_wait.contains("longer wait"), "{long_wait}");
    }
}
