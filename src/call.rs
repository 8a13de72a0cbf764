//! One facade call from start to end: its attempts, the waits between them, and the error it
//! ends with.
//!
//! The loop below owns each attempt. It makes the attempt's client (an [`AttemptClient`],
//! whose hooks carry the attempt's context), hands it to `attempt`, which runs one generated
//! operation on it (progenitor builds the request, the `exec` hook sends it, progenitor reads
//! and decodes the body), and then takes back the [`AttemptRecord`] the hooks filled in. A
//! retry rebuilds its request from scratch, so nothing is copied up front for a retry that
//! almost never happens, and a body that breaks off is an attempt outcome like any other. After
//! a failed attempt, [`decide`] (pure, in `retry.rs`) says whether to go again; when it says
//! stop, the failure is mapped to [`Error`] (in `mapping.rs`) with the last attempt's record.

use std::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use progenitor_client::{ClientInfo, ResponseValue};
use reqwest::StatusCode;
use tracing::Span;

use crate::{
    Clerk, DeletedObject, Error, Result,
    attempt::{AttemptClient, AttemptRecord},
    generated::types::ClerkErrors,
    hooks::{describe, over_limit},
    mapping,
    retry::{Attempts, Decision, Outcome, RetryPolicy, decide},
};

/// One attempt of a generated operation, made on the attempt's client. Boxed: the generated
/// future is kilobytes, and would otherwise be copied into every layer of the call's own
/// future (and naming its lifetime is what lets it borrow the attempt's client).
pub(crate) type Attempt<'a, T> = Pin<Box<dyn Future<Output = Generated<T>> + Send + 'a>>;

/// The future of one call: what every operation method returns, to be awaited for the call's
/// outcome. Nothing is sent until it is first polled.
///
/// It is `Send` and `Unpin`, and being a named type it can be kept in a field or a collection.
/// Inside is the call boxed behind `dyn Future`: an `async fn`'s body would be compiled again
/// in every crate that awaits it (the attempt loop, the hooks, the error mapping, the decoding
/// of every model), where this way it is compiled once, in this crate, and polled through a
/// vtable, at the cost of one allocation per call.
#[must_use = "a call sends nothing until it is awaited"]
pub struct CallFuture<'c, T>(Boxed<'c, T>);

impl<T> Future for CallFuture<'_, T> {
    type Output = Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        self.0.as_mut().poll(cx)
    }
}

impl<T> std::fmt::Debug for CallFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallFuture")
    }
}

/// A call's future behind `dyn Future` (see [`CallFuture`]).
pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Makes the [`CallFuture`] of `call`. Generic, but reached only from this crate's
/// non-generic methods, so every instance of it is compiled in this crate.
pub(crate) fn boxed<'a, T>(call: impl Future<Output = Result<T>> + Send + 'a) -> CallFuture<'a, T> {
    CallFuture(Box::pin(call))
}

/// Makes one attempt of a call on the attempt's client. Behind `dyn`, so that the attempt loop
/// is compiled once per decoded type rather than once per operation.
pub(crate) type MakeAttempt<'f, 'call, T> =
    dyn for<'a> Fn(&'a AttemptClient<'call>) -> Attempt<'a, T> + Send + Sync + 'f;

/// What a generated operation's future resolves to.
pub(crate) type Generated<T> = std::result::Result<ResponseValue<T>, GeneratedError>;
/// The generated client's error type.
pub(crate) type GeneratedError = progenitor_client::Error<ClerkErrors>;

/// How a call failed for good: the last attempt's error and record, and the attempts made.
struct Failed {
    error: GeneratedError,
    record: AttemptRecord,
    attempts: Attempts,
}

impl Clerk {
    /// The future of a call of one operation on `input`: its path IDs, its request body, or
    /// both, checked and owned. An input that failed its checks ends the call before anything
    /// is sent. `attempt` makes one try of the operation with the input.
    pub(crate) fn call<'c, I, T>(
        &'c self,
        input: Result<I>,
        attempt: impl for<'a, 'call> Fn(&'a AttemptClient<'call>, &'a I) -> Attempt<'a, T>
        + Send
        + Sync
        + 'c,
    ) -> CallFuture<'c, T>
    where
        I: Send + Sync + 'c,
        T: Send + 'c,
    {
        boxed(async move {
            let input = input?;
            self.send(&|api| attempt(api, &input)).await
        })
    }

    /// Like [`call`](Self::call), for the operations that answer with a [`DeletedObject`]
    /// (see [`send_deletion`](Self::send_deletion)): `object` and `id` name what is deleted,
    /// `input` is the rest of the request.
    pub(crate) fn call_deletion<'c, I>(
        &'c self,
        object: &'static str,
        id: Result<String>,
        input: I,
        attempt: impl for<'a, 'call> Fn(
            &'a AttemptClient<'call>,
            &'a str,
            &'a I,
        ) -> Attempt<'a, DeletedObject>
        + Send
        + Sync
        + 'c,
    ) -> CallFuture<'c, DeletedObject>
    where
        I: Send + Sync + 'c,
    {
        boxed(async move {
            let id = id?;
            self.send_deletion(&|api| attempt(api, &id, &input), object, &id)
                .await
        })
    }

    /// Runs a generated operation (`attempt` makes one try of it on the client it is given)
    /// until it succeeds or the retry policy stops, and maps a failure onto [`Error`].
    pub(crate) async fn send<'call, T>(&self, attempt: &MakeAttempt<'_, 'call, T>) -> Result<T> {
        let failed = match self.attempts(attempt).await {
            Ok(value) => return Ok(value),
            Err(failed) => failed,
        };
        // Boxed, like the sleep between attempts: a rare path that would otherwise make every
        // call's future larger.
        Err(Box::pin(self.map(failed)).await)
    }

    /// Like [`send`](Self::send), for the calls that answer with a [`DeletedObject`]. A
    /// success status with an empty body (a `204 No Content`, or a `200` without one, as a
    /// proxy or a later API version may send) means the deletion was done: the caller gets a
    /// `DeletedObject` for `object` and `id` rather than an error about a body that was never
    /// promised.
    pub(crate) async fn send_deletion<'call>(
        &self,
        attempt: &MakeAttempt<'_, 'call, DeletedObject>,
        object: &str,
        id: &str,
    ) -> Result<DeletedObject> {
        let failed = match self.attempts(attempt).await {
            Ok(value) => return Ok(value),
            Err(failed) => failed,
        };
        if is_empty_success(&failed.error, failed.record.status) {
            return Ok(DeletedObject {
                deleted: true,
                external_id: None,
                id: Some(id.to_owned()),
                object: object.to_owned(),
                slug: None,
            });
        }
        Err(Box::pin(self.map(failed)).await)
    }

    /// The error a failed call ends with.
    async fn map(&self, failed: Failed) -> Error {
        let redactor = ClientInfo::inner(self.generated()).redactor();
        mapping::from_generated(failed.error, failed.record, failed.attempts, redactor).await
    }

    /// The attempt loop. Only the attempt and the wait after a failed one are awaited here;
    /// what an attempt came to is settled in between, by [`settle`].
    async fn attempts<'call, T>(
        &self,
        attempt: &MakeAttempt<'_, 'call, T>,
    ) -> std::result::Result<T, Failed> {
        let policy = ClientInfo::inner(self.generated()).retry_policy();
        let started = Instant::now();
        let mut made = 0_u32;
        // The call's span, opened by the first attempt's `exec`, handed to each next attempt.
        let mut span = None;
        loop {
            made = made.saturating_add(1);
            // In a block of its own, so that nothing of the attempt is kept during the wait.
            let settled = {
                let client = AttemptClient::new(self.generated(), span.take());
                let outcome = attempt(&client).await;
                let mut record = client.into_record();
                span = record.span.take();
                let current = span.clone().unwrap_or_else(Span::none);
                settle(outcome, record, policy, made, started, &current)
            };
            let wait = match settled {
                Settled::Done(done) => return done,
                Settled::Retry(wait) => wait,
            };
            // Boxed, like the error mapping.
            Box::pin(tokio::time::sleep(wait)).await;
        }
    }
}

/// What to do after an attempt.
// Made and matched at once, never stored: boxing the large variant would only cost an
// allocation per call.
#[allow(clippy::large_enum_variant)]
enum Settled<T> {
    /// The call is over: the value, or how it failed.
    Done(std::result::Result<T, Failed>),
    /// Wait this long, then make another attempt.
    Retry(Duration),
}

/// Settles the outcome of attempt number `made` of a call that started at `started`, with what
/// its hooks noted in `record`: a value ends the call; a failure is retried or ends it, as the
/// retry policy decides. `span` is the call's span. The failed attempt's response (unread) and
/// rate-limit slot go before any wait; a success's slot goes here, its body read.
fn settle<T>(
    outcome: Generated<T>,
    record: AttemptRecord,
    policy: &RetryPolicy,
    made: u32,
    started: Instant,
    span: &Span,
) -> Settled<T> {
    span.record("attempt", made);
    match outcome {
        Ok(value) => {
            finish(span, started);
            Settled::Done(Ok(value.into_inner()))
        }
        Err(error) => match settle_failure(error, record, policy, made, started, span) {
            AfterFailure::Retry(wait) => Settled::Retry(wait),
            AfterFailure::GiveUp(failed) => Settled::Done(Err(failed)),
        },
    }
}

/// What a failed attempt leads to (made and matched at once, like [`Settled`]).
#[allow(clippy::large_enum_variant)]
enum AfterFailure {
    /// Wait this long, then make another attempt.
    Retry(Duration),
    /// The call is over.
    GiveUp(Failed),
}

/// The failure half of [`settle`], which does not depend on the decoded type (so it is
/// compiled once): the wait before the next attempt, or how the call failed for good.
fn settle_failure(
    error: GeneratedError,
    mut record: AttemptRecord,
    policy: &RetryPolicy,
    made: u32,
    started: Instant,
    span: &Span,
) -> AfterFailure {
    if let GeneratedError::ResponseBodyError(source) = &error {
        // A body of unknown length that ran past the limit says so in its error.
        record.too_large = record.too_large.or_else(|| over_limit(source));
    }
    if let Some(kind) = failure_kind(&error) {
        span.record("error", kind);
    }
    let decision = match &record.method {
        Some(method) if policy.max_attempts > 1 => {
            let outcome = classify(&error, &record);
            let jitter = fastrand::f64();
            decide(policy, method, outcome, made, started.elapsed(), jitter)
        }
        // Retries are off, or the request never got as far as being sent.
        _ => Decision::Stop(None),
    };
    match decision {
        Decision::Retry(wait) => {
            span.in_scope(|| {
                tracing::debug!(
                    attempt = made,
                    status = record.status.map(|status| status.as_u16()),
                    outcome = outcome_name(&error, &record),
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    "retrying the Clerk request"
                );
            });
            AfterFailure::Retry(wait)
        }
        Decision::Stop(gave_up) => {
            finish(span, started);
            // An attempt that failed before reaching `exec` (the request could not even be
            // built) sent nothing, and is not counted.
            let made = if record.method.is_some() {
                made
            } else {
                made - 1
            };
            let attempts = Attempts { made, gave_up };
            AfterFailure::GiveUp(Failed {
                error,
                record,
                attempts,
            })
        }
    }
}

fn finish(span: &Span, started: Instant) {
    let took = started.elapsed().as_millis();
    span.record("duration_ms", u64::try_from(took).unwrap_or(u64::MAX));
}

/// What a failed attempt came to, for the retry decision.
fn classify(error: &GeneratedError, record: &AttemptRecord) -> Outcome {
    use progenitor_client::Error as Generated;
    let asked = record.retry_after;
    match error {
        Generated::ErrorResponse(response) => Outcome::Response(response.status(), asked),
        Generated::UnexpectedResponse(response) => Outcome::Response(response.status(), asked),
        // The body was read, and did not decode: asking again gives the same body.
        Generated::InvalidResponsePayload(..) => match record.status {
            Some(status) => Outcome::Response(status, asked),
            None => Outcome::Deterministic,
        },
        // Over the size limit: the same answer would be too large again.
        Generated::ResponseBodyError(_) if record.too_large.is_some() => Outcome::Deterministic,
        Generated::ResponseBodyError(source) => match record.status {
            Some(status) => Outcome::BodyFailed(status, asked),
            None => Outcome::of_error(source),
        },
        Generated::CommunicationError(source) => Outcome::of_error(source),
        Generated::InvalidUpgrade(_) | Generated::InvalidRequest(_) | Generated::Custom(_) => {
            Outcome::Deterministic
        }
    }
}

/// A short name for a failed attempt, for the retry log: no URL, no text from the peer.
fn outcome_name(error: &GeneratedError, record: &AttemptRecord) -> &'static str {
    use progenitor_client::Error as Generated;
    match error {
        Generated::ResponseBodyError(_) if record.status.is_some() => "body failed",
        Generated::CommunicationError(source) | Generated::ResponseBodyError(source) => {
            describe(source)
        }
        _ => "response",
    }
}

/// A short kind for an attempt that failed on the wire (no answer, or a body that broke off),
/// for the call's span: no URL, no text from the peer.
fn failure_kind(error: &GeneratedError) -> Option<&'static str> {
    use progenitor_client::Error as Generated;
    match error {
        Generated::ResponseBodyError(source) if source.is_timeout() => Some("timeout"),
        Generated::ResponseBodyError(_) => Some("body"),
        Generated::CommunicationError(source) => Some(describe(source)),
        _ => None,
    }
}

/// Whether a generated call failed only because a success answer had no body to decode.
fn is_empty_success(error: &GeneratedError, status: Option<StatusCode>) -> bool {
    match error {
        // An undocumented success status (204, say) with nothing in it.
        progenitor_client::Error::UnexpectedResponse(response) => {
            response.status().is_success() && response.content_length() == Some(0)
        }
        progenitor_client::Error::InvalidResponsePayload(bytes, _) => {
            status.is_some_and(|s| s.is_success()) && bytes.iter().all(u8::is_ascii_whitespace)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    /// A facade call's future is one allocation of the size of its body: kept under 1 KiB,
    /// that allocation stays on the allocator's fast path (glibc's per-thread cache). The
    /// generated future (kilobytes) is boxed separately by the loop.
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_calls_future_stays_small() {
        let clerk = crate::Clerk::new("sk_test_futureSize").unwrap();
        let get = clerk.organization_roles().get("role_x");
        let body = size_of_val(&*get.0);
        assert!(body <= 1024, "{body} bytes");
        assert_eq!(size_of_val(&get), 16, "what the caller holds is the box");
        // As its documentation says (checked when this test compiles).
        fn send_and_unpin<F: Send + Unpin>(_: &F) {}
        send_and_unpin(&get);
        let list = clerk.organization_roles().list().send();
        assert!(size_of_val(&list) <= 1024, "{} bytes", size_of_val(&list));
    }
}
