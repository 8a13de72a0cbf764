//! The one place every request passes through: progenitor calls these hooks for each operation.
//!
//! `pre` sets the headers Clerk expects and the per-attempt timeout; `exec` waits for the rate
//! limit, sends one attempt, bounds the size of its body and, when the facade's attempt loop
//! made the client for an attempt, notes what happened (status, `Retry-After`, trace id,
//! method, the rate-limit slot) in that attempt's context (see [`attempt`](crate::attempt)),
//! which the loop reads back. Each facade call runs in one `tracing` span, `clerk.request`, with
//! the operation id, method, attempt count, status, duration and the `cf-ray` trace id; never a
//! header value or a body.

use std::{
    fmt,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
    time::Duration,
};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderMap, HeaderValue, USER_AGENT};
use tracing::{Instrument, field::Empty};

use crate::{
    attempt::{AttemptContext, CF_RAY},
    generated::Client,
    rate_limit::{Limiter, RateLimit},
    redact::Redactor,
    retry::{RetryPolicy, retry_after},
};

/// What the crate sends as `User-Agent`.
const USER_AGENT_VALUE: &str = concat!("clerk-rbac/", env!("CARGO_PKG_VERSION"));

/// The headers every request of a client this crate builds carries by default: the key
/// (sensitive, so never printed) and the user agent.
pub(crate) fn default_headers(authorization: &HeaderValue) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(2);
    headers.insert(AUTHORIZATION, authorization.clone());
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    headers
}

/// Settings the generated client's hooks apply to every request: authentication, the Clerk
/// headers and the per-attempt timeout.
///
/// Built by [`ClerkBuilder`](crate::ClerkBuilder); it is public only because the generated
/// client carries it. Its `Debug` output never shows the secret key.
pub struct Hooks {
    settings: Arc<Settings>,
    /// The context of the facade attempt this client was made for; `None` for the client
    /// [`Clerk::generated`](crate::Clerk::generated) hands out, whose calls are nobody's
    /// attempts.
    attempt: Option<AttemptContext>,
}

/// A copy shares the settings but belongs to no attempt: only the client the attempt loop made
/// reports to it.
impl Clone for Hooks {
    fn clone(&self) -> Self {
        Hooks {
            settings: Arc::clone(&self.settings),
            attempt: None,
        }
    }
}

struct Settings {
    /// `Bearer <secret key>`, marked sensitive so that `http` never prints it.
    authorization: HeaderValue,
    timeout: Duration,
    /// Whether `pre` adds the key, user agent and timeout to each request: only for a caller's
    /// own HTTP client, since one this crate builds has them as its defaults.
    per_request: bool,
    retry: RetryPolicy,
    max_response_bytes: u64,
    /// Paces attempts when a client-side rate limit is set.
    limiter: Option<Arc<Limiter>>,
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
        per_request: bool,
    ) -> Self {
        let settings = Settings {
            authorization,
            timeout,
            per_request,
            retry,
            max_response_bytes,
            limiter: rate_limit.map(|limit| Arc::new(Limiter::new(limit))),
            redactor,
        };
        Hooks {
            settings: Arc::new(settings),
            attempt: None,
        }
    }

    /// The same settings, for a client that makes one facade attempt and reports to `attempt`.
    pub(crate) fn for_attempt(&self, attempt: AttemptContext) -> Self {
        Hooks {
            settings: Arc::clone(&self.settings),
            attempt: Some(attempt),
        }
    }

    /// The context of the attempt this client was made for, if any.
    pub(crate) fn attempt(&self) -> Option<&AttemptContext> {
        self.attempt.as_ref()
    }

    /// The attempt's context, to read once the attempt is over.
    pub(crate) fn into_attempt(self) -> Option<AttemptContext> {
        self.attempt
    }

    /// What scrubs this client's key from texts kept from responses.
    pub(crate) fn redactor(&self) -> &Redactor {
        &self.settings.redactor
    }

    /// How failed requests are retried.
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.settings.retry
    }

    /// The client-side rate limit, if one is set.
    #[cfg(test)]
    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.settings
            .limiter
            .as_ref()
            .map(|limiter| limiter.limit())
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorization", &"Bearer <redacted>")
            .field("user_agent", &USER_AGENT_VALUE)
            .field("timeout", &self.settings.timeout)
            .field("retry", &self.settings.retry)
            .field("max_response_bytes", &self.settings.max_response_bytes)
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        // The generated code already sets `Accept` and `Clerk-API-Version` (build.rs renames
        // progenitor's version header). A client this crate built carries the key, the user
        // agent and the timeout itself; a caller's own client gets them here.
        let settings = &self.inner().settings;
        if settings.per_request {
            let headers = request.headers_mut();
            headers.insert(AUTHORIZATION, settings.authorization.clone());
            headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
            *request.timeout_mut() = Some(settings.timeout);
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let (settings, attempt) = (&self.inner().settings, self.inner().attempt());
        let method = request.method().clone();
        // One span per facade call: the first attempt opens it, later ones are handed it.
        let span = attempt.and_then(AttemptContext::span).unwrap_or_else(|| {
            tracing::info_span!(
                "clerk.request",
                operation = info.operation_id,
                method = %method,
                attempt = Empty,
                status = Empty,
                error = Empty,
                duration_ms = Empty,
                trace_id = Empty,
            )
        });
        // Boxed: off by default, and its wait would otherwise make every request's future
        // larger.
        let slot = match &settings.limiter {
            Some(limiter) => Some(Box::pin(limiter.acquire()).await),
            None => None,
        };
        let sent = self
            .client()
            .execute(request)
            .instrument(span.clone())
            .await;
        let limit = settings.max_response_bytes;
        let mut too_large = None;
        let mut head = None;
        let result = match sent {
            Ok(response) => {
                let status = response.status();
                span.record("status", status.as_u16());
                let cf_ray = response.headers().get(CF_RAY);
                if let Some(ray) = cf_ray.and_then(|v| v.to_str().ok()) {
                    span.record("trace_id", ray);
                }
                // Kept for the retry decision and the error mapping, which need them even for a
                // success whose body then fails. Cheap: a shared header value and a lookup.
                head = Some((status, cf_ray.cloned(), retry_after(response.headers())));
                Ok(bounded(response, limit, &mut too_large))
            }
            Err(error) => {
                span.record("error", describe(&error));
                Err(error)
            }
        };
        // The slot stays taken until the loop has read the body and drops the record. The
        // generated client used directly reports to nobody, and its slot goes now.
        if let Some(attempt) = attempt {
            attempt.note(|record| {
                if let Some((status, cf_ray, retry_after)) = head {
                    record.status = Some(status);
                    record.cf_ray = cf_ray;
                    record.retry_after = retry_after;
                }
                record.method = Some(method);
                record.slot = slot;
                record.too_large = too_large;
                record.span = Some(span);
            });
        }
        result
    }
}

/// The response, with a body that cannot grow past `limit` bytes. One that declares a longer
/// `Content-Length` is not read at all: the caller gets it with an empty body and `too_large`
/// set. One of unknown length (chunked) is wrapped so that reading fails as soon as it passes
/// the limit. A declared length within the limit needs nothing: the HTTP client reads exactly
/// that many bytes.
fn bounded(
    response: reqwest::Response,
    limit: u64,
    too_large: &mut Option<u64>,
) -> reqwest::Response {
    match response.content_length() {
        Some(length) if length <= limit => response,
        Some(_) => {
            *too_large = Some(limit);
            tracing::warn!(
                status = response.status().as_u16(),
                limit,
                "Clerk response body over the size limit"
            );
            let mut response = http::Response::<reqwest::Body>::from(response)
                .map(|_| reqwest::Body::from(Bytes::new()));
            response.headers_mut().remove(CONTENT_LENGTH);
            reqwest::Response::from(response)
        }
        None => {
            let response = http::Response::<reqwest::Body>::from(response).map(|body| {
                reqwest::Body::wrap(LimitedBody {
                    inner: body,
                    left: limit,
                    limit,
                })
            });
            reqwest::Response::from(response)
        }
    }
}

/// A body of unknown length that fails once more than `limit` bytes have come.
struct LimitedBody {
    inner: reqwest::Body,
    left: u64,
    limit: u64,
}

/// The error a [`LimitedBody`] ends with; the facade reports it as `ResponseTooLarge`.
#[derive(Debug)]
struct OverLimit(u64);

impl fmt::Display for OverLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the response body is longer than {} bytes", self.0)
    }
}

impl std::error::Error for OverLimit {}

impl http_body::Body for LimitedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(error)) => return Poll::Ready(Some(Err(Box::new(error)))),
            None => return Poll::Ready(None),
        };
        if let Some(data) = frame.data_ref() {
            let length = u64::try_from(data.len()).unwrap_or(u64::MAX);
            match this.left.checked_sub(length) {
                Some(left) => this.left = left,
                None => {
                    let limit = this.limit;
                    tracing::warn!(limit, "Clerk response body over the size limit");
                    return Poll::Ready(Some(Err(Box::new(OverLimit(limit)))));
                }
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The limit a body of unknown length ran past, when that is why reading it failed: a
/// [`LimitedBody`]'s error, somewhere in the chain of causes.
pub(crate) fn over_limit(error: &reqwest::Error) -> Option<u64> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if let Some(OverLimit(limit)) = current.downcast_ref::<OverLimit>() {
            return Some(*limit);
        }
        cause = current.source();
    }
    None
}

/// A short kind for a transport failure: no URL, no message from the peer.
pub(crate) fn describe(error: &reqwest::Error) -> &'static str {
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
    async fn the_key_travels_in_a_sensitive_header_that_debug_hides() {
        // A client this crate builds carries the headers as its defaults...
        let authorization = HeaderValue::from_str(&format!("Bearer {KEY}")).map(|mut value| {
            value.set_sensitive(true);
            value
        });
        let defaults = default_headers(&authorization.unwrap());
        assert!(defaults[AUTHORIZATION].is_sensitive());
        assert_eq!(defaults[USER_AGENT], USER_AGENT_VALUE);
        assert!(!format!("{defaults:?}").contains(KEY));

        // ...and a caller's own client gets them from `pre`.
        let clerk = crate::Clerk::builder()
            .secret_key(KEY)
            .http_client(reqwest::Client::new())
            .build()
            .unwrap();
        let api = clerk.generated();
        let url = reqwest::Url::parse("https://api.clerk.com/v1/organization_roles").unwrap();
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        let info = OperationInfo {
            operation_id: "list_organization_roles",
        };
        api.pre::<()>(&mut request, &info).await.unwrap();
        let authorization = &request.headers()[AUTHORIZATION];
        assert!(authorization.is_sensitive());
        assert_eq!(authorization.to_str().unwrap(), format!("Bearer {KEY}"));
        assert_eq!(request.timeout(), Some(&crate::DEFAULT_TIMEOUT));
        assert!(!format!("{request:?}").contains(KEY));
        assert!(!format!("{:?}", api.inner()).contains(KEY));
    }

    /// A body that comes in these chunks and does not say how long it is.
    struct Chunked(std::collections::VecDeque<Bytes>);

    impl http_body::Body for Chunked {
        type Data = Bytes;
        type Error = std::convert::Infallible;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            Poll::Ready(
                self.get_mut()
                    .0
                    .pop_front()
                    .map(|c| Ok(http_body::Frame::data(c))),
            )
        }
    }

    /// A body whose first read fails.
    struct Failing;

    impl http_body::Body for Failing {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
            Poll::Ready(Some(Err(std::io::Error::other("the connection broke"))))
        }
    }

    fn response(body: reqwest::Body) -> reqwest::Response {
        reqwest::Response::from(http::Response::new(body))
    }

    fn chunked(chunks: &[&'static [u8]]) -> reqwest::Body {
        reqwest::Body::wrap(Chunked(
            chunks.iter().map(|c| Bytes::from_static(c)).collect(),
        ))
    }

    #[tokio::test]
    async fn a_declared_length_within_the_limit_passes_untouched() {
        let mut too_large = None;
        let body = reqwest::Body::from(Bytes::from_static(b"0123456789"));
        let read = bounded(response(body), 10, &mut too_large);
        assert_eq!(read.bytes().await.unwrap().len(), 10);
        assert_eq!(too_large, None);
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_not_read() {
        let mut too_large = None;
        let body = reqwest::Body::from(Bytes::from_static(b"01234567890"));
        let read = bounded(response(body), 10, &mut too_large);
        assert_eq!(too_large, Some(10));
        assert!(read.bytes().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_body_of_unknown_length_fails_once_past_the_limit() {
        let mut too_large = None;
        let within = bounded(response(chunked(&[b"01234", b"56789"])), 10, &mut too_large);
        assert_eq!(&within.bytes().await.unwrap()[..], b"0123456789");

        let over = bounded(
            response(chunked(&[b"01234", b"56789", b"!"])),
            10,
            &mut too_large,
        );
        let error = over.bytes().await.unwrap_err();
        let mut cause: &dyn std::error::Error = &error;
        while let Some(next) = cause.source() {
            cause = next;
        }
        assert!(
            cause.to_string().contains("longer than 10 bytes"),
            "{error:?}"
        );
        assert_eq!(over_limit(&error), Some(10), "{error:?}");
        assert_eq!(too_large, None, "only the reading finds out");
        // Any other failure of a body is not over the limit.
        let error = response(reqwest::Body::wrap(Failing))
            .bytes()
            .await
            .unwrap_err();
        assert_eq!(over_limit(&error), None, "{error:?}");
    }
}
