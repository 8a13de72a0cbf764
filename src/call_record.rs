//! The one side channel of the crate: what the hooks saw during one attempt of a facade call,
//! for the facade's retry loop and error mapping to use.
//!
//! Progenitor's generated methods call the `exec` hook, which can only return a
//! `reqwest::Result<reqwest::Response>`, and then read and decode the response themselves. When
//! that fails they keep the body bytes or a bare `reqwest::Error` but drop the status and
//! headers. So `exec` writes down what the caller will want (the status, `Retry-After` and trace
//! id of the response, the method, whether the body was over the limit) in a record that lives
//! as long as the attempt: a tokio task-local, set by [`with_call_record`] around the generated
//! call and handed back once it has returned. The record also holds what must last exactly as
//! long as the attempt (its rate-limit slot) and what the attempts of one call share (its
//! tracing span). Outside a facade call (the generated client used directly) nothing is
//! recorded.

use std::{cell::RefCell, future::Future, time::Duration};

use reqwest::{Method, StatusCode, header::HeaderValue};
use tracing::Span;

use crate::rate_limit::Slot;

/// Cloudflare's request id, which Clerk's API answers with: the trace id of answers that do not
/// carry Clerk's own.
pub(crate) const CF_RAY: &str = "cf-ray";

/// What the hooks saw during one attempt.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    /// The response's status, if one arrived.
    pub(crate) status: Option<StatusCode>,
    /// The response's `cf-ray` header, raw (scrubbed when it is put into an error).
    pub(crate) cf_ray: Option<HeaderValue>,
    /// The response's `Retry-After`, read as a wait.
    pub(crate) retry_after: Option<Duration>,
    /// Set (to the limit) when the response's body was over the size limit.
    pub(crate) too_large: Option<u64>,
    /// The request's method, once it reached `exec`.
    pub(crate) method: Option<Method>,
    /// The attempt's rate-limit slot: taken in `exec`, given back when the record is dropped,
    /// after the body has been read.
    pub(crate) slot: Option<Slot>,
    /// The call's span, opened by the first attempt's `exec` and carried to the next.
    pub(crate) span: Option<Span>,
}

tokio::task_local! {
    /// The record of the facade call's attempt running in this task. Boxed, because the
    /// task-local is swapped in and out of thread-local storage at every poll.
    static CALL: RefCell<Box<CallRecord>>;
}

/// Hands the current attempt's record to `change`; outside a facade call nothing happens.
pub(crate) fn note(change: impl FnOnce(&mut CallRecord)) {
    let _ = CALL.try_with(|cell| change(&mut cell.borrow_mut()));
}

/// The call's span: the one the record carries, or a new one from `open`, which the record then
/// keeps (outside a facade call it is simply returned).
pub(crate) fn span_or(open: impl FnOnce() -> Span) -> Span {
    let mut open = Some(open);
    let carried = CALL.try_with(|cell| {
        let mut record = cell.borrow_mut();
        match &record.span {
            Some(span) => span.clone(),
            None => {
                let span = open.take().map_or_else(Span::none, |open| open());
                record.span = Some(span.clone());
                span
            }
        }
    });
    match (carried, open) {
        (Ok(span), _) => span,
        (Err(_), Some(open)) => open(),
        (Err(_), None) => Span::none(),
    }
}

/// Runs one attempt, `call`, with a record that starts with the call's `span` (from an earlier
/// attempt, if any), and returns its output with what the hooks noted.
pub(crate) async fn with_call_record<F: Future>(
    span: Option<Span>,
    call: F,
) -> (F::Output, CallRecord) {
    let record = Box::new(CallRecord {
        span,
        ..CallRecord::default()
    });
    CALL.scope(RefCell::new(record), async {
        let output = call.await;
        let record = CALL
            .try_with(|cell| std::mem::take(&mut **cell.borrow_mut()))
            .unwrap_or_default();
        (output, record)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_reach_the_attempt_and_only_the_attempt() {
        // Outside a call, a note goes nowhere and does not panic.
        note(|record| record.too_large = Some(1));
        let ((), record) = with_call_record(None, async {
            note(|record| record.status = Some(StatusCode::CREATED));
            note(|record| record.method = Some(Method::PATCH));
        })
        .await;
        assert_eq!(record.status, Some(StatusCode::CREATED));
        assert_eq!(record.method, Some(Method::PATCH));
        assert_eq!(record.too_large, None);
        let ((), fresh) = with_call_record(None, async {}).await;
        assert_eq!(fresh.status, None);
    }

    #[tokio::test]
    async fn the_span_opened_by_one_attempt_is_carried_to_the_next() {
        let mut opened = 0;
        let ((), first) = with_call_record(None, async {
            span_or(|| {
                opened += 1;
                Span::none()
            });
        })
        .await;
        assert!(first.span.is_some());
        let ((), second) = with_call_record(first.span, async {
            span_or(|| {
                opened += 1;
                Span::none()
            });
        })
        .await;
        assert!(second.span.is_some());
        assert_eq!(opened, 1);
    }
}
