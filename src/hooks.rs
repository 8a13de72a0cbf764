//! The one place every request passes through: progenitor calls these hooks for each operation.
//!
//! `pre` sets the headers Clerk expects and the per-attempt timeout; `exec` waits for the rate
//! limit, sends the request, reads its whole body under a size limit, retries it as the
//! [`RetryPolicy`] allows (a body that breaks off is an outcome like any other), and notes what
//! happened for the facade's error mapping (see [`call_record`](crate::call_record)). Each call
//! runs in one `tracing` span, `clerk.request`, with the operation id, method, attempt count,
//! status, duration and the `cf-ray` trace id; never a header value or a body.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    ResponseBuilderExt,
    header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, HeaderName, HeaderValue, USER_AGENT},
};
use tracing::{Instrument, Span, field::Empty};

use crate::{
    call_record,
    generated::Client,
    rate_limit::{Limiter, RateLimit},
    redact::Redactor,
    retry::{Attempts, Decision, Outcome, RetryPolicy, decide, retry_after},
};

/// The header Clerk reads the API version from. Its value is the fragment's `info.version`.
const CLERK_API_VERSION: HeaderName = HeaderName::from_static("clerk-api-version");
/// Progenitor adds this header to every request; Clerk does not use it.
const PROGENITOR_API_VERSION: &str = "api-version";
/// Cloudflare's request id, which Clerk's API answers with; the trace id of answers that do
/// not carry Clerk's own.
pub(crate) const CF_RAY: &str = "cf-ray";

/// Settings the generated client's hooks apply to every request: authentication, the Clerk
/// headers and the per-attempt timeout.
///
/// Built by [`ClerkBuilder`](crate::ClerkBuilder); it is public only because the generated
/// client carries it. Its `Debug` output never shows the secret key.
#[derive(Clone)]
pub struct Hooks(Arc<Settings>);

struct Settings {
    /// `Bearer <secret key>`, marked sensitive so that `http` never prints it.
    authorization: HeaderValue,
    user_agent: HeaderValue,
    timeout: Duration,
    retry: RetryPolicy,
    max_response_bytes: u64,
    /// Paces attempts when a client-side rate limit is set.
    limiter: Option<Limiter>,
    /// Scrubs the key from what errors keep of a response.
    redactor: Redactor,
}

impl Hooks {
    pub(crate) fn new(
        authorization: HeaderValue,
        redactor: Redactor,
        timeout: Duration,
        retry: RetryPolicy,
        max_response_bytes: u64,
        rate_limit: Option<RateLimit>,
    ) -> Self {
        let user_agent = concat!("clerk-rbac/", env!("CARGO_PKG_VERSION"));
        Hooks(Arc::new(Settings {
            authorization,
            user_agent: HeaderValue::from_static(user_agent),
            timeout,
            retry,
            max_response_bytes,
            limiter: rate_limit.map(Limiter::new),
            redactor,
        }))
    }

    /// What scrubs this client's key from texts kept from responses.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.0.redactor
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorization", &"Bearer <redacted>")
            .field("user_agent", &self.0.user_agent)
            .field("timeout", &self.0.timeout)
            .field("retry", &self.0.retry)
            .field("max_response_bytes", &self.0.max_response_bytes)
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let settings = &self.inner().0;
        let headers = request.headers_mut();
        headers.remove(PROGENITOR_API_VERSION);
        headers.insert(AUTHORIZATION, settings.authorization.clone());
        headers.insert(
            CLERK_API_VERSION,
            HeaderValue::from_static(Client::api_version()),
        );
        headers.insert(USER_AGENT, settings.user_agent.clone());
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        *request.timeout_mut() = Some(settings.timeout);
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let span = tracing::info_span!(
            "clerk.request",
            operation = info.operation_id,
            method = %request.method(),
            attempt = Empty,
            status = Empty,
            error = Empty,
            duration_ms = Empty,
            trace_id = Empty,
        );
        // Boxed: the retry loop holds reqwest's own future, a body read and a sleep, and would
        // otherwise make every facade call's future kilobytes larger, to be moved at each await.
        Box::pin(send(self.client(), &self.inner().0, request, span.clone()))
            .instrument(span)
            .await
    }
}

/// How one attempt ended.
enum Attempt {
    /// The whole response: its head and every byte of its body (within the limit).
    Whole(reqwest::Response, Bytes),
    /// The head arrived, and the body is longer than the limit; it was not read past it.
    TooLarge(reqwest::Response),
    /// The head arrived, then reading the body failed (cut short, reset, malformed, too slow).
    BodyFailed(reqwest::Response, reqwest::Error),
    /// No response at all.
    NoResponse(reqwest::Error),
}

impl Attempt {
    /// The status of the response, when one arrived.
    fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Attempt::Whole(response, _)
            | Attempt::TooLarge(response)
            | Attempt::BodyFailed(response, _) => Some(response.status()),
            Attempt::NoResponse(_) => None,
        }
    }

    fn outcome(&self) -> Outcome<'_> {
        match self {
            Attempt::Whole(response, _) | Attempt::TooLarge(response) => {
                Outcome::Response(response.status(), response.headers())
            }
            Attempt::BodyFailed(response, _) => {
                Outcome::BodyFailed(response.status(), response.headers())
            }
            Attempt::NoResponse(error) => Outcome::of_error(error),
        }
    }
}

/// Sends `request` until it succeeds, fails for good or the retry policy runs out; each attempt
/// reads its whole body (bounded), so that a body that breaks off is an outcome the retry
/// policy sees like any other. Returns the final response rebuilt around its body. `span` is the
/// call's span (passed in: a subscriber need not track the current span).
async fn send(
    client: &reqwest::Client,
    settings: &Settings,
    request: reqwest::Request,
    span: Span,
) -> reqwest::Result<reqwest::Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let retrying = settings.retry.max_attempts > 1;
    let mut next = request;
    let mut made = 0_u32;
    loop {
        // A copy for a next attempt, unless retries are off. JSON bodies are buffered, so
        // copying always succeeds for this API; a request that cannot be copied is sent once.
        let spare = if retrying { next.try_clone() } else { None };
        made = made.saturating_add(1);
        span.record("attempt", made);
        let slot = match &settings.limiter {
            Some(limiter) => Some(limiter.acquire().await),
            None => None,
        };
        let attempt = attempt(client, next, settings.max_response_bytes).await;
        // The request has ended: its slot starts counting down its window.
        drop(slot);
        let decision = match spare {
            Some(_) => {
                let elapsed = started.elapsed();
                let jitter = fastrand::f64();
                decide(
                    &settings.retry,
                    &method,
                    attempt.outcome(),
                    made,
                    elapsed,
                    jitter,
                )
            }
            None => Decision::Stop(None),
        };
        match (decision, spare) {
            (Decision::Retry(wait), Some(spare)) => {
                tracing::debug!(
                    attempt = made,
                    status = attempt.status().map(|status| status.as_u16()),
                    outcome = describe(&attempt),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "retrying the Clerk request"
                );
                drop(attempt);
                tokio::time::sleep(wait).await;
                next = spare;
            }
            (decision, _) => {
                let gave_up = match decision {
                    Decision::Stop(gave_up) => gave_up,
                    // `decide` is not asked without a copy to send.
                    Decision::Retry(_) => None,
                };
                let attempts = Attempts { made, gave_up };
                let limit = settings.max_response_bytes;
                if matches!(attempt, Attempt::BodyFailed(..)) {
                    call_record::note(|call| call.method = Some(method));
                }
                return finish(&span, attempt, attempts, limit, started.elapsed());
            }
        }
    }
}

/// Sends one request and reads its whole body, refusing one longer than `limit` bytes (by its
/// `Content-Length` before reading, else as soon as the bytes read pass the limit).
async fn attempt(client: &reqwest::Client, request: reqwest::Request, limit: u64) -> Attempt {
    let mut response = match client.execute(request).await {
        Ok(response) => response,
        Err(error) => return Attempt::NoResponse(error),
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Attempt::TooLarge(response);
    }
    // Most bodies arrive in one chunk, which is kept as it is; only a second one is copied.
    let mut first: Option<Bytes> = None;
    let mut more: Vec<u8> = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let read = first.as_ref().map_or(0, Bytes::len) + more.len() + chunk.len();
                if u64::try_from(read).unwrap_or(u64::MAX) > limit {
                    return Attempt::TooLarge(response);
                }
                match &first {
                    None => first = Some(chunk),
                    Some(head) => {
                        if more.is_empty() {
                            more.reserve(head.len() + chunk.len());
                            more.extend_from_slice(head);
                        }
                        more.extend_from_slice(&chunk);
                    }
                }
            }
            Ok(None) => break,
            Err(error) => return Attempt::BodyFailed(response, error),
        }
    }
    let body = if more.is_empty() {
        first.unwrap_or_default()
    } else {
        Bytes::from(more)
    };
    Attempt::Whole(response, body)
}

/// Notes the call's end in its record and span, and hands progenitor what it expects: the
/// response rebuilt around its body, or the error.
fn finish(
    span: &Span,
    attempt: Attempt,
    attempts: Attempts,
    limit: u64,
    took: Duration,
) -> reqwest::Result<reqwest::Response> {
    span.record(
        "duration_ms",
        u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    );
    let head = match &attempt {
        Attempt::Whole(response, _)
        | Attempt::TooLarge(response)
        | Attempt::BodyFailed(response, _) => Some(response),
        Attempt::NoResponse(_) => None,
    };
    if let Some(response) = head {
        let status = response.status();
        span.record("status", status.as_u16());
        let cf_ray = response.headers().get(CF_RAY);
        if let Some(ray) = cf_ray.and_then(|v| v.to_str().ok()) {
            span.record("trace_id", ray);
        }
        // Kept for the error mapping, which needs them even for a success status whose body
        // does not decode. Cheap: a shared header value and a lookup.
        let retry_after = retry_after(response.headers());
        let cf_ray = cf_ray.cloned();
        call_record::note(|call| {
            call.status = Some(status);
            call.cf_ray = cf_ray;
            call.retry_after = retry_after;
        });
    }
    call_record::note(|call| call.attempts = attempts);
    match attempt {
        Attempt::Whole(response, body) => Ok(rebuild(response, body)),
        Attempt::TooLarge(response) => {
            tracing::warn!(
                status = response.status().as_u16(),
                limit,
                "Clerk response body over the size limit"
            );
            call_record::note(|call| call.too_large = Some(limit));
            // The facade reports `ResponseTooLarge`; progenitor gets an empty body to fail on.
            let mut response = rebuild(response, Bytes::new());
            response.headers_mut().remove(CONTENT_LENGTH);
            Ok(response)
        }
        Attempt::BodyFailed(_, error) => {
            span.record("error", describe_error(&error));
            call_record::note(|call| call.body_failed = true);
            Err(error)
        }
        Attempt::NoResponse(error) => {
            span.record("error", describe_error(&error));
            Err(error)
        }
    }
}

/// The response with the same status, version, headers and URL around `body`.
fn rebuild(response: reqwest::Response, body: Bytes) -> reqwest::Response {
    let url = response.url().clone();
    let response = http::Response::<reqwest::Body>::from(response);
    let (mut parts, _) = response.into_parts();
    let mut builder = http::Response::builder()
        .status(parts.status)
        .version(parts.version)
        .url(url);
    if let Some(headers) = builder.headers_mut() {
        *headers = std::mem::take(&mut parts.headers);
    }
    match builder.body(body) {
        Ok(response) => reqwest::Response::from(response),
        // Unreachable: every part came from a valid response.
        Err(_) => reqwest::Response::from(http::Response::new(Bytes::new())),
    }
}

/// A short kind for how an attempt ended, for the retry log: no URL, no message from the peer.
fn describe(attempt: &Attempt) -> &'static str {
    match attempt {
        Attempt::Whole(..) | Attempt::TooLarge(_) => "response",
        Attempt::BodyFailed(..) => "body failed",
        Attempt::NoResponse(error) => describe_error(error),
    }
}

/// A short kind for a transport failure: no URL, no message from the peer.
fn describe_error(error: &reqwest::Error) -> &'static str {
    if error.is_connect() {
        "connect"
    } else if error.is_timeout() {
        "timeout"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "transport"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "sk_test_h00kUnitTestKey";

    #[tokio::test]
    async fn pre_sends_the_key_in_a_sensitive_header_that_debug_hides() {
        let clerk = crate::Clerk::builder().secret_key(KEY).build().unwrap();
        let api = clerk.generated();
        let url = reqwest::Url::parse("https://api.clerk.com/v1/organization_roles").unwrap();
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        request
            .headers_mut()
            .insert(PROGENITOR_API_VERSION, HeaderValue::from_static("1"));
        let info = OperationInfo {
            operation_id: "list_organization_roles",
        };
        api.pre::<()>(&mut request, &info).await.unwrap();

        let authorization = &request.headers()[AUTHORIZATION];
        assert!(authorization.is_sensitive());
        assert_eq!(authorization.to_str().unwrap(), format!("Bearer {KEY}"));
        assert!(!request.headers().contains_key(PROGENITOR_API_VERSION));
        assert_eq!(request.timeout(), Some(&crate::DEFAULT_TIMEOUT));
        // `http` prints sensitive values as `Sensitive`; neither the request nor the hooks
        // show the key.
        assert!(!format!("{request:?}").contains(KEY));
        assert!(!format!("{:?}", request.headers()).contains(KEY));
        assert!(!format!("{:?}", api.inner()).contains(KEY));
    }

    #[tokio::test]
    async fn a_rebuilt_response_keeps_status_headers_url_and_body() {
        let original = http::Response::builder()
            .status(reqwest::StatusCode::CREATED)
            .header("cf-ray", "ray-1")
            .url(reqwest::Url::parse("http://127.0.0.1:9/v1/x").unwrap())
            .body(Bytes::from_static(b"ignored"))
            .unwrap();
        let rebuilt = rebuild(reqwest::Response::from(original), Bytes::from_static(b"{}"));
        assert_eq!(rebuilt.status(), reqwest::StatusCode::CREATED);
        assert_eq!(rebuilt.headers()["cf-ray"], "ray-1");
        assert_eq!(rebuilt.url().as_str(), "http://127.0.0.1:9/v1/x");
        assert_eq!(rebuilt.content_length(), Some(2));
        assert_eq!(&rebuilt.bytes().await.unwrap()[..], b"{}");
    }
}
