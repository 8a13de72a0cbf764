//! The one place every request passes through: progenitor calls these hooks for each operation.
//!
//! `pre` sets the headers Clerk expects and the per-attempt timeout; `exec` sends the request,
//! retries it as the [`RetryPolicy`] allows, reads the final response's body under a size limit,
//! and notes what happened (status, attempts) for the facade's error mapping. Each call runs in
//! one `tracing` span, `clerk.request`, with the operation id, method, attempt count, status,
//! duration and the `cf-ray` trace id; never a header value or a body.

use std::{
    cell::Cell,
    fmt,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{
    StatusCode,
    header::{ACCEPT, AUTHORIZATION, CONTENT_LENGTH, HeaderName, HeaderValue, USER_AGENT},
};
use tracing::{Instrument, Span, field::Empty};

use crate::{
    generated::Client,
    rate_limit::{Limiter, RateLimit},
    retry::{Attempts, Decision, Outcome, RetryPolicy, decide},
};

/// The header Clerk reads the API version from. Its value is the fragment's `info.version`.
const CLERK_API_VERSION: HeaderName = HeaderName::from_static("clerk-api-version");
/// Progenitor adds this header to every request; Clerk does not use it.
const PROGENITOR_API_VERSION: &str = "api-version";

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
}

impl Hooks {
    pub(crate) fn new(
        authorization: HeaderValue,
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
        }))
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
        send(self.client(), &self.inner().0, request, span.clone())
            .instrument(span)
            .await
    }
}

/// Sends `request` until it succeeds, fails for good or the retry policy runs out, then reads
/// the final response's body (bounded) and returns the response rebuilt around it. `span` is
/// the call's span (passed in: a subscriber need not track the current span).
async fn send(
    client: &reqwest::Client,
    settings: &Settings,
    request: reqwest::Request,
    span: Span,
) -> reqwest::Result<reqwest::Response> {
    let started = Instant::now();
    let method = request.method().clone();
    let mut next = request;
    let mut made = 0_u32;
    loop {
        // A copy for a next attempt, unless retries are off (then `decide` would stop anyway).
        // JSON bodies are buffered, so copying always succeeds for this API; a request that
        // cannot be copied is sent once.
        let spare = (settings.retry.max_attempts > 1)
            .then(|| next.try_clone())
            .flatten();
        made = made.saturating_add(1);
        span.record("attempt", made);
        note(|call| call.attempts.made = made);
        let slot = match &settings.limiter {
            Some(limiter) => Some(limiter.acquire().await),
            None => None,
        };
        let result = client.execute(next).await;
        let outcome = match &result {
            Ok(response) => Outcome::Response(response.status(), response.headers()),
            Err(error) => Outcome::of_error(error),
        };
        let decision = match spare {
            Some(_) => {
                let elapsed = started.elapsed();
                let jitter = fastrand::f64();
                decide(&settings.retry, &method, outcome, made, elapsed, jitter)
            }
            None => Decision::Stop(None),
        };
        let gave_up = match (decision, spare) {
            (Decision::Retry(wait), Some(spare)) => {
                tracing::debug!(
                    attempt = made,
                    status = result.as_ref().ok().map(|r| r.status().as_u16()),
                    error = result.as_ref().err().map(describe),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "retrying the Clerk request"
                );
                // Dropped unread: the connection is closed rather than drained.
                drop(result);
                drop(slot);
                tokio::time::sleep(wait).await;
                next = spare;
                continue;
            }
            (Decision::Stop(gave_up), _) => gave_up,
            // `decide` is not asked without a copy to send.
            (Decision::Retry(_), None) => None,
        };
        note(|call| call.attempts.gave_up = gave_up);
        let result = match result {
            Ok(response) => read_bounded(response, settings.max_response_bytes).await,
            Err(error) => Err(error),
        };
        drop(slot);
        finish(&span, &result, started.elapsed());
        return result;
    }
}

/// Records the call's final status, failure, duration and trace id on its span.
fn finish(span: &Span, result: &reqwest::Result<reqwest::Response>, took: Duration) {
    span.record(
        "duration_ms",
        u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    );
    match result {
        Ok(response) => {
            span.record("status", response.status().as_u16());
            let ray = response
                .headers()
                .get("cf-ray")
                .and_then(|v| v.to_str().ok());
            if let Some(ray) = ray {
                span.record("trace_id", ray);
            }
        }
        Err(error) => {
            span.record("error", describe(error));
        }
    }
}

/// A short kind for a transport failure: no URL, no message from the peer.
fn describe(error: &reqwest::Error) -> &'static str {
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

/// Reads the body of the response the caller gets, refusing one larger than `limit` bytes (by
/// its `Content-Length` before reading, else as soon as the bytes read pass the limit), and
/// returns a response with the same status and headers around the bytes read.
///
/// A refused body is noted in the call record and replaced by an empty one; the facade then
/// reports [`Error::ResponseTooLarge`](crate::Error::ResponseTooLarge). The rebuilt response no
/// longer knows its URL.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: u64,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    note(|call| call.status = Some(status));
    let too_large = |response: reqwest::Response| {
        note(|call| call.too_large = Some(limit));
        tracing::warn!(
            status = status.as_u16(),
            limit,
            "Clerk response body over the size limit"
        );
        let mut headers = response.headers().clone();
        headers.remove(CONTENT_LENGTH);
        rebuild(status, response.version(), headers, Vec::new())
    };
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Ok(too_large(response));
    }
    let expected = response.content_length().unwrap_or(0).min(64 * 1024);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        let length = u64::try_from(body.len() + chunk.len()).unwrap_or(u64::MAX);
        if length > limit {
            return Ok(too_large(response));
        }
        body.extend_from_slice(&chunk);
    }
    let headers = std::mem::take(response.headers_mut());
    Ok(rebuild(status, response.version(), headers, body))
}

fn rebuild(
    status: StatusCode,
    version: reqwest::Version,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
) -> reqwest::Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.version_mut() = version;
    *response.headers_mut() = headers;
    reqwest::Response::from(response)
}

/// What the hooks saw during one facade call, for [`Clerk::send`](crate::Clerk) to put into
/// its error: progenitor keeps none of it when a body fails to decode, and `exec` can only
/// return a `reqwest::Result`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallRecord {
    /// The status of the final response, if one arrived.
    pub(crate) status: Option<StatusCode>,
    /// How many requests were sent, and whether retrying stopped early.
    pub(crate) attempts: Attempts,
    /// Set (to the limit) when the final response's body was over the size limit.
    pub(crate) too_large: Option<u64>,
}

tokio::task_local! {
    /// The record of the facade call running in this task.
    static CALL: Cell<CallRecord>;
}

/// Changes the current call's record; outside a facade call (the generated client used
/// directly) there is nobody to tell, so nothing happens.
fn note(change: impl FnOnce(&mut CallRecord)) {
    let _ = CALL.try_with(|cell| {
        let mut record = cell.get();
        change(&mut record);
        cell.set(record);
    });
}

/// Runs `call` with a fresh record for the hooks to fill in; see [`call_record`].
pub(crate) async fn with_call_record<F: Future>(call: F) -> F::Output {
    CALL.scope(Cell::new(CallRecord::default()), call).await
}

/// What the hooks noted so far in the current [`with_call_record`] call.
pub(crate) fn call_record() -> CallRecord {
    CALL.try_with(Cell::get).unwrap_or_default()
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
    async fn a_body_is_read_up_to_the_limit_and_no_further() {
        let small = rebuild(
            StatusCode::OK,
            reqwest::Version::HTTP_11,
            Default::default(),
            vec![7; 10],
        );
        let read = read_bounded(small, 10).await.unwrap();
        assert_eq!(read.bytes().await.unwrap().len(), 10);

        let (record, response) = with_call_record(async {
            let big = rebuild(
                StatusCode::OK,
                reqwest::Version::HTTP_11,
                Default::default(),
                vec![7; 11],
            );
            let response = read_bounded(big, 10).await.unwrap();
            (call_record(), response)
        })
        .await;
        assert_eq!(record.too_large, Some(10));
        assert_eq!(record.status, Some(StatusCode::OK));
        assert!(response.bytes().await.unwrap().is_empty());
    }
}
