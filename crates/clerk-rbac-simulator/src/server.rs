//! The HTTP/1.1 server: accepts loopback connections and answers each request in order:
//! faults, authentication, rate limit, route, body, operation.

use std::{
    fmt,
    panic::{AssertUnwindSafe, catch_unwind},
    sync::Arc,
    time::Duration,
};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, task::JoinSet, time::Instant};

use super::{
    RecordedRequest,
    admin::{self, ADMIN_PREFIX},
    auth::authenticate,
    faults::Effect,
    instance::{Instance, Shared},
    routes::{Call, Route, query_pairs, route, split_path},
    wire::Failure,
};

/// The largest request body read. Assumption: Clerk's limit is not published; 1 MiB is far
/// above any body of these operations (at most a few hundred permission IDs).
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Accepts connections until the task is aborted (when the [`Simulator`](super::Simulator) is
/// dropped); each connection is served on a task of its own, aborted with this one.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                // Out of file descriptors and the like: wait a little rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let peer = peer.ip();
            let service = service_fn(move |request| answer(Arc::clone(&shared), peer, request));
            // A connection that ends in an error (a dropped answer, a client gone) just ends.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Returned to hyper to close the connection without answering.
#[derive(Debug)]
struct CloseWithoutAnswer;

impl fmt::Display for CloseWithoutAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the simulator closed the connection without answering")
    }
}

impl std::error::Error for CloseWithoutAnswer {}

/// An answer about to be sent.
struct Reply {
    status: u16,
    body: Vec<u8>,
    retry_after: Option<u64>,
    allow: Option<String>,
}

impl Reply {
    pub(crate) fn ok(body: &serde_json::Value) -> Reply {
        Reply {
            status: 200,
            body: serde_json::to_vec(body).unwrap_or_default(),
            retry_after: None,
            allow: None,
        }
    }

    fn failure(failure: &Failure, shared: &Shared) -> Reply {
        Reply {
            status: failure.status,
            body: failure.body(shared.trace_id()),
            retry_after: failure.retry_after,
            allow: failure
                .meta
                .get("allowed_methods")
                .and_then(|m| m.as_str())
                .map(str::to_owned),
        }
    }

    fn into_response(self) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(Bytes::from(self.body)));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            headers.insert(header::ALLOW, allow);
        }
        response
    }
}

/// Whether a raw path is the admin API's.
fn is_admin(raw: &str) -> bool {
    raw.strip_prefix(ADMIN_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Answers one admin request (never logged, never faulted).
async fn answer_admin(
    shared: &Shared,
    peer: std::net::IpAddr,
    parts: http::request::Parts,
    body: Incoming,
) -> Result<Response<Full<Bytes>>, CloseWithoutAnswer> {
    let method = parts.method.as_str();
    let path = parts.uri.path();
    let bytes = if admin::takes_body(method, path) {
        match read_body(body).await {
            Ok(bytes) => bytes,
            Err(BodyProblem::TooLarge) => {
                return Ok(Reply::failure(&too_large(), shared).into_response());
            }
            Err(BodyProblem::Broken) => return Err(CloseWithoutAnswer),
        }
    } else {
        Bytes::new()
    };
    if !bytes.is_empty() && !is_json(&parts.headers) {
        return Ok(Reply::failure(&not_json(), shared).into_response());
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        admin::answer(
            shared,
            peer,
            method,
            path,
            parts.uri.query(),
            &parts.headers,
            &bytes,
        )
    }));
    let reply = match outcome {
        Ok(Ok(value)) => Reply::ok(&value),
        Ok(Err(failure)) => Reply::failure(&failure, shared),
        Err(_) => Reply::failure(&Failure::internal(), shared),
    };
    Ok(reply.into_response())
}

/// The secret key of a request, if its `Authorization` header holds one.
fn bearer_key(headers: &HeaderMap) -> Option<String> {
    authenticate(
        headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    )
    .ok()
    .map(|(key, _)| key)
}

/// Answers one request, or closes the connection when a fault says so.
async fn answer(
    shared: Arc<Shared>,
    peer: std::net::IpAddr,
    request: http::Request<Incoming>,
) -> Result<Response<Full<Bytes>>, CloseWithoutAnswer> {
    let (parts, body) = request.into_parts();
    if is_admin(parts.uri.path()) {
        return answer_admin(&shared, peer, parts, body).await;
    }
    let instance = match shared.instance_for(bearer_key(&parts.headers).as_deref()) {
        Ok(instance) => instance,
        Err(failure) => return Ok(Reply::failure(&failure, &shared).into_response()),
    };
    let shared = &*shared;
    let instance = &*instance;
    let method = parts.method.as_str().to_owned();
    let path = split_path(parts.uri.path());
    let query = query_pairs(parts.uri.query());
    let mut record = RecordedRequest {
        method: method.clone(),
        path: path.display.clone(),
        query: query.clone(),
        status: None,
        answered: false,
        injected: false,
        request_body: None,
        response_body: None,
    };

    let effect = instance.faults().on_request(&method, &path.display);
    record.injected = effect.is_some();
    let reply = match effect {
        Some(Effect::Drop) => {
            instance.log(record);
            return Err(CloseWithoutAnswer);
        }
        Some(Effect::Fail {
            status,
            retry_after,
        }) => Reply::failure(&injected_failure(status, retry_after), shared),
        Some(Effect::Delay(_) | Effect::ActThenDrop) | None => {
            if let Some(Effect::Delay(wait)) = effect {
                tokio::time::sleep(wait).await;
            }
            carry_out(
                shared,
                instance,
                &method,
                &path,
                &query,
                &parts.headers,
                body,
                &mut record,
            )
            .await?
        }
    };
    let latency = instance.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    record.status = Some(reply.status);
    if shared.record_exchanges {
        record.response_body = Some(String::from_utf8_lossy(&reply.body).into_owned());
    }
    if effect == Some(Effect::ActThenDrop) {
        instance.log(record);
        return Err(CloseWithoutAnswer);
    }
    record.answered = true;
    instance.log(record);
    Ok(reply.into_response())
}

/// The error body of an injected failure. Codes follow Clerk's index of errors: 429
/// (assumption, as for the rate limit) `too_many_requests`, 503 `maintenance_mode` (Clerk's
/// `SystemUnderMaintenance`), any other 5xx `internal_clerk_error` (its `Unexpected`); other
/// statuses get `injected_fault`.
fn injected_failure(status: u16, retry_after: Option<u64>) -> Failure {
    let (code, message) = match status {
        429 => ("too_many_requests", "Too many requests"),
        503 => ("maintenance_mode", "Service unavailable"),
        500..=599 => ("internal_clerk_error", "Server error"),
        _ => ("injected_fault", "Injected failure"),
    };
    let mut failure = Failure::new(
        status,
        code,
        message,
        format!("The simulator answered {status} because a test injected this fault."),
    );
    failure.retry_after = retry_after;
    failure
}

/// Authentication, rate limit, route, body, then the operation on the locked state.
#[allow(clippy::too_many_arguments)]
async fn carry_out(
    shared: &Shared,
    instance: &Instance,
    method: &str,
    path: &super::routes::ApiPath,
    query: &[(String, String)],
    headers: &HeaderMap,
    body: Incoming,
    record: &mut RecordedRequest,
) -> Result<Reply, CloseWithoutAnswer> {
    let fail = |failure: Failure| Ok(Reply::failure(&failure, shared));
    let (key, kind) = match authenticate(
        headers
            .get(header::AUTHORIZATION)
            .map(HeaderValue::as_bytes),
    ) {
        Ok(found) => found,
        Err(failure) => return fail(failure),
    };
    if let Err(failure) = instance.limiter().admit(&key, kind, Instant::now()) {
        return fail(failure);
    }
    let (route, params) = match route(method, path) {
        Ok(found) => found,
        Err(failure) => return fail(failure),
    };
    let bytes = if route.takes_body {
        match read_body(body).await {
            Ok(bytes) => bytes,
            Err(BodyProblem::TooLarge) => return fail(too_large()),
            // The client went away mid-body: nobody is left to answer.
            Err(BodyProblem::Broken) => return Err(CloseWithoutAnswer),
        }
    } else {
        Bytes::new()
    };
    if shared.record_exchanges && !bytes.is_empty() {
        record.request_body = Some(String::from_utf8_lossy(&bytes).into_owned());
    }
    if !bytes.is_empty() && !is_json(headers) {
        return fail(not_json());
    }
    Ok(run(shared, instance, route, params, query, &bytes))
}

/// Assumption: Clerk's answer to an oversized body is not published.
fn too_large() -> Failure {
    Failure::new(
        413,
        "request_body_too_large",
        "Request body too large",
        format!("Request bodies may hold at most {MAX_BODY_BYTES} bytes."),
    )
}

/// Clerk's `UnsupportedContentType`.
fn not_json() -> Failure {
    Failure::new(
        415,
        "unsupported_content_type",
        "Content-Type not supported",
        "Send request bodies as JSON, with `Content-Type: application/json`.",
    )
}

fn run(
    shared: &Shared,
    instance: &Instance,
    route: &Route,
    params: Vec<String>,
    query: &[(String, String)],
    body: &[u8],
) -> Reply {
    let mut state = instance.state();
    let now = state.clock.now_ms();
    let call = Call {
        params,
        query,
        body,
        now,
    };
    let mut stale = instance.stale();
    let read = route.method == "GET";
    // With a stale-read window, a read may see the instance as it was before recent writes,
    // and a write keeps the version it replaces.
    let before = (stale.enabled() && !read).then(|| state.clone());
    // A bug must cost one request a 500, not the connection or the server.
    let outcome = catch_unwind(AssertUnwindSafe(|| match stale.view(now) {
        Some(old) if read => (route.handler)(old, &call),
        _ => (route.handler)(&mut state, &call),
    }));
    if let (Some(before), Ok(Ok(_))) = (before, &outcome) {
        stale.record_write(now, before);
    }
    drop(stale);
    drop(state);
    match outcome {
        Ok(Ok(value)) => Reply::ok(&value),
        Ok(Err(failure)) => Reply::failure(&failure, shared),
        Err(_) => Reply::failure(&Failure::internal(), shared),
    }
}

enum BodyProblem {
    TooLarge,
    Broken,
}

async fn read_body(body: Incoming) -> Result<Bytes, BodyProblem> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyProblem::TooLarge),
        Err(_) => Err(BodyProblem::Broken),
    }
}

/// `application/json`, with or without parameters such as `charset`.
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}
