//! The one side channel of the crate: what the hooks saw during a facade call, for the error
//! mapping to use.
//!
//! Progenitor's generated methods call the `exec` hook, which can only return a
//! `reqwest::Result<reqwest::Response>`, and then decode the response themselves. When decoding
//! fails they keep the body bytes but drop the status and headers; a failed body read becomes a
//! bare `reqwest::Error`. So `exec` writes down what the caller will want in the error (the final
//! status and the headers worth keeping, how many attempts were made and why retrying stopped,
//! whether the body was over the limit or broke off) in a record that lives as long as the
//! facade call: a tokio task-local, set by [`with_call_record`] around the generated call and
//! read by [`take`] once it has returned. Outside a facade call (the generated client used
//! directly) nothing is recorded.

use std::{cell::RefCell, future::Future, time::Duration};

use reqwest::{Method, StatusCode, header::HeaderValue};

use crate::retry::Attempts;

/// What the hooks saw during one facade call.
#[derive(Debug, Default)]
pub(crate) struct CallRecord {
    /// The status of the final response, if one arrived.
    pub(crate) status: Option<StatusCode>,
    /// How many requests were sent, and whether retrying stopped early.
    pub(crate) attempts: Attempts,
    /// The final response's `cf-ray` header, raw (scrubbed when it is put into an error).
    pub(crate) cf_ray: Option<HeaderValue>,
    /// The final response's `Retry-After`, read as a wait.
    pub(crate) retry_after: Option<Duration>,
    /// Set (to the limit) when the final response's body was over the size limit.
    pub(crate) too_large: Option<u64>,
    /// Set when the final response's head arrived but reading its body failed.
    pub(crate) body_failed: bool,
    /// The request's method, noted when its body failed (it tells whether it took effect).
    pub(crate) method: Option<Method>,
}

tokio::task_local! {
    /// The record of the facade call running in this task.
    static CALL: RefCell<CallRecord>;
}

/// Hands the current call's record to `change`; outside a facade call nothing happens.
pub(crate) fn note(change: impl FnOnce(&mut CallRecord)) {
    let _ = CALL.try_with(|cell| change(&mut cell.borrow_mut()));
}

/// Runs `call` with a fresh record for the hooks to fill in, and returns both.
pub(crate) async fn with_call_record<F: Future>(call: F) -> (F::Output, CallRecord) {
    CALL.scope(RefCell::new(CallRecord::default()), async {
        let output = call.await;
        (output, take())
    })
    .await
}

/// Takes what the hooks noted so far in the current [`with_call_record`] call.
fn take() -> CallRecord {
    CALL.try_with(|cell| std::mem::take(&mut *cell.borrow_mut()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_reach_the_call_and_only_the_call() {
        // Outside a call, a note goes nowhere and does not panic.
        note(|record| record.body_failed = true);
        let ((), record) = with_call_record(async {
            note(|record| record.status = Some(StatusCode::CREATED));
            note(|record| record.attempts.made = 2);
        })
        .await;
        assert_eq!(record.status, Some(StatusCode::CREATED));
        assert_eq!(record.attempts.made, 2);
        assert!(!record.body_failed);
        let ((), fresh) = with_call_record(async {}).await;
        assert_eq!(fresh.status, None);
    }
}
