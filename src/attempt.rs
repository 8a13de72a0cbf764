//! One attempt of a facade call: the client the attempt loop (in `call.rs`) makes it with, and
//! what the hooks write down for the loop to read back.
//!
//! Progenitor's generated methods build the request, hand it to the `exec` hook to send, and
//! then read and decode the response themselves. When that fails they keep the body bytes or a
//! bare `reqwest::Error`, without the status or the headers. So the loop makes each attempt
//! with a generated client of its own, an [`AttemptClient`], whose hooks carry an
//! [`AttemptContext`]; `exec` writes into it what the loop and the error mapping need (the
//! response's status, `cf-ray` and `Retry-After`, the method, a declared body over the limit),
//! what must last exactly as long as the attempt (its rate-limit slot), and the call's span.
//! Once the generated future has finished, the loop takes the client back and reads the
//! [`AttemptRecord`] out of it. The generated client that [`Clerk::generated`](crate::Clerk::generated)
//! hands out carries no context: its hooks keep nothing for anyone.

use std::{
    marker::PhantomData,
    ops::Deref,
    sync::{Mutex, PoisonError},
    time::Duration,
};

use progenitor_client::ClientInfo;
use reqwest::{Method, StatusCode, header::HeaderValue};
use tracing::Span;

use crate::{generated, rate_limit::Slot};

/// Cloudflare's request id, which Clerk's API answers with: the trace id of answers that do not
/// carry Clerk's own.
pub(crate) const CF_RAY: &str = "cf-ray";

/// What the hooks learned during one attempt.
#[derive(Debug, Default)]
pub(crate) struct AttemptRecord {
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
    /// The call's span: the one the loop carried in from an earlier attempt, or the one `exec`
    /// opened for the first.
    pub(crate) span: Option<Span>,
}

/// The context one attempt's hooks write into. A lock, because the generated future holds the
/// client (and so this) by shared reference across its awaits and must stay `Send`; nothing
/// else ever contends for it.
#[derive(Debug, Default)]
pub(crate) struct AttemptContext(Mutex<AttemptRecord>);

impl AttemptContext {
    /// A context for an attempt of a call whose span an earlier attempt opened, if any.
    fn new(span: Option<Span>) -> Self {
        AttemptContext(Mutex::new(AttemptRecord {
            span,
            ..AttemptRecord::default()
        }))
    }

    /// The call's span, if an earlier attempt opened it.
    pub(crate) fn span(&self) -> Option<Span> {
        self.lock().span.clone()
    }

    /// Lets `write` fill in what the attempt learned.
    pub(crate) fn note(&self, write: impl FnOnce(&mut AttemptRecord)) {
        write(&mut self.lock());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AttemptRecord> {
        // A record holds plain facts; one left half-written by a panic is still readable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn into_record(self) -> AttemptRecord {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The generated client one attempt is made with: the facade's own, with hooks that carry the
/// attempt's [`AttemptContext`]. It dereferences to [`generated::Client`], so an attempt is a
/// plain call of a generated method on it.
///
/// `'call` is the lifetime of what the call's attempts borrow (IDs, request bodies): naming it
/// in the client's type is what lets an attempt's future borrow both them and this client.
pub(crate) struct AttemptClient<'call> {
    api: generated::Client,
    _call: PhantomData<&'call ()>,
}

impl AttemptClient<'_> {
    /// A client for one attempt, sharing the facade client's connection pool and settings;
    /// `span` is the call's span if an earlier attempt opened it.
    pub(crate) fn new(facade: &generated::Client, span: Option<Span>) -> Self {
        let hooks = facade.inner().for_attempt(AttemptContext::new(span));
        AttemptClient {
            api: generated::Client::new_with_client(
                facade.baseurl(),
                facade.client().clone(),
                hooks,
            ),
            _call: PhantomData,
        }
    }

    /// What the hooks learned during the attempt; the attempt's future must have finished.
    pub(crate) fn into_record(self) -> AttemptRecord {
        self.api
            .inner
            .into_attempt()
            .map(AttemptContext::into_record)
            .unwrap_or_default()
    }
}

impl Deref for AttemptClient<'_> {
    type Target = generated::Client;

    fn deref(&self) -> &generated::Client {
        &self.api
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_reach_the_attempt_and_only_the_attempt() {
        let clerk = crate::Clerk::new("sk_test_attemptUnitKey").unwrap();
        let client = AttemptClient::new(clerk.generated(), None);
        let context = client
            .inner()
            .attempt()
            .expect("an attempt's hooks carry a context");
        context.note(|record| record.status = Some(StatusCode::CREATED));
        context.note(|record| record.method = Some(Method::PATCH));
        // The facade's own client, and a copy of the attempt's, carry none.
        assert!(clerk.generated().inner().attempt().is_none());
        assert!(client.inner().clone().attempt().is_none());
        let record = client.into_record();
        assert_eq!(record.status, Some(StatusCode::CREATED));
        assert_eq!(record.method, Some(Method::PATCH));
        assert_eq!(record.too_large, None);
        let fresh = AttemptClient::new(clerk.generated(), None).into_record();
        assert_eq!(fresh.status, None);
    }

    #[test]
    fn the_span_of_one_attempt_is_handed_to_the_next() {
        let clerk = crate::Clerk::new("sk_test_attemptUnitKey").unwrap();
        let first = AttemptClient::new(clerk.generated(), None);
        let context = first.inner().attempt().unwrap();
        assert!(context.span().is_none());
        context.note(|record| record.span = Some(Span::none()));
        let span = first.into_record().span;
        assert!(span.is_some());
        let second = AttemptClient::new(clerk.generated(), span);
        assert!(second.inner().attempt().unwrap().span().is_some());
    }
}
