//! The fault matrix: every way a server (or the network) can misbehave, for a GET and a POST.
//! Each case checks that nothing panics, the error is the right variant with its status kept,
//! and the server saw exactly as many requests as the retry rules allow.
//!
//! Faults wiremock cannot produce (a body cut short, a reset connection, a server that never
//! answers) need a raw socket, so the whole matrix runs on [`RawServer`], a scripted HTTP/1.1
//! responder on 127.0.0.1.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use clerk_rbac::{Clerk, CreatePermission, Error, GaveUp, RetryPolicy};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

use crate::support::{SECRET_KEY, clerk_errors, permission};

/// What the raw server does with one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// Writes these bytes, then closes the connection.
    Send(Vec<u8>),
    /// Writes these bytes, then resets the connection (RST, not FIN).
    Reset(Vec<u8>),
    /// Never answers; waits until the client gives up and closes.
    Hang,
    /// Writes these bytes (a head and part of a body, say), then stalls until the client
    /// gives up and closes.
    SendThenHang(Vec<u8>),
    /// Closes the connection as soon as the request is read, without a byte of answer.
    Close,
    /// Writes these bytes and keeps the connection open for the next request, which takes the
    /// script's next reply.
    KeepAlive(Vec<u8>),
}

/// A request as the raw server read it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A scripted HTTP/1.1 server: request `n` (counting from 0 across connections) gets
/// `script[n]`, or the script's last reply once it runs out.
pub struct RawServer {
    pub uri: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    count: Arc<AtomicUsize>,
}

impl RawServer {
    pub async fn start(script: Vec<Reply>) -> RawServer {
        assert!(!script.is_empty());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let (seen2, count2) = (seen.clone(), count.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, count, script) = (seen2.clone(), count2.clone(), script.clone());
                tokio::spawn(serve(stream, seen, count, script));
            }
        });
        RawServer { uri, seen, count }
    }

    /// How many complete requests arrived.
    pub fn requests(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    seen: Arc<Mutex<Vec<Seen>>>,
    count: Arc<AtomicUsize>,
    script: Arc<Vec<Reply>>,
) {
    loop {
        let Some(request) = read_request(&mut stream).await else {
            return;
        };
        seen.lock().unwrap().push(request);
        let n = count.fetch_add(1, Ordering::SeqCst);
        match script[n.min(script.len() - 1)].clone() {
            Reply::Send(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.shutdown().await;
                return;
            }
            Reply::Reset(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                let _ = stream.set_zero_linger();
                return;
            }
            Reply::Hang => return wait_for_close(&mut stream).await,
            Reply::SendThenHang(bytes) => {
                let _ = stream.write_all(&bytes).await;
                let _ = stream.flush().await;
                return wait_for_close(&mut stream).await;
            }
            Reply::Close => return,
            Reply::KeepAlive(bytes) => {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Returns when the client closes the connection (its timeout fired).
async fn wait_for_close(stream: &mut TcpStream) {
    let mut buf = [0_u8; 64];
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

async fn read_request(stream: &mut TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (
        request_line.next()?.to_owned(),
        request_line.next()?.to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

/// A complete response with a correct `Content-Length`.
pub fn response(status: &str, extra_headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut headers = vec!["Connection: close"];
    headers.extend_from_slice(extra_headers);
    kept_alive(status, &headers, body)
}

/// A complete response with a correct `Content-Length` that leaves the connection open.
pub fn kept_alive(status: &str, extra_headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut bytes = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for header in extra_headers {
        bytes.push_str(header);
        bytes.push_str("\r\n");
    }
    bytes.push_str("\r\n");
    let mut bytes = bytes.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

pub fn json_response(status: &str, extra_headers: &[&str], body: &serde_json::Value) -> Vec<u8> {
    let mut headers = vec!["Content-Type: application/json"];
    headers.extend_from_slice(extra_headers);
    response(status, &headers, body.to_string().as_bytes())
}

/// Retries quick enough for a test; the default policy itself is left alone.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(3)
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .budget(Duration::from_secs(20))
}

/// A client for `uri` with fast retries and a small body limit.
pub fn client(uri: &str, timeout: Duration) -> Clerk {
    Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(uri)
        .retry(fast_retries())
        .timeout(timeout)
        .max_response_bytes(BODY_LIMIT)
        .build()
        .unwrap()
}

const BODY_LIMIT: u64 = 16 * 1024;
const NORMAL: Duration = Duration::from_secs(30);
/// Only for the cases that wait for a timeout on purpose.
const SHORT: Duration = Duration::from_millis(300);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Api,
    Unexpected,
    Decode,
    Transport,
    Timeout,
    /// The status arrived, then the body failed.
    BodyFailed,
    /// The status arrived, then the body did not arrive in time.
    BodyTimeout,
    TooLarge,
}

fn kind(error: &Error) -> Kind {
    match error {
        Error::Api(_) => Kind::Api,
        Error::UnexpectedResponse { .. } => Kind::Unexpected,
        Error::Decode(_) => Kind::Decode,
        Error::Transport { .. } if error.is_timeout() => Kind::Timeout,
        Error::Transport { .. } => Kind::Transport,
        Error::BodyFailed(_) if error.is_timeout() => Kind::BodyTimeout,
        Error::BodyFailed(_) => Kind::BodyFailed,
        Error::ResponseTooLarge { .. } => Kind::TooLarge,
        other => panic!("unexpected error variant: {other:?}"),
    }
}

/// One row: a script, and what a GET and a POST must come to.
struct Case {
    name: &'static str,
    script: Vec<Reply>,
    timeout: Duration,
    /// The error kind and status both methods end with (`None`: the call succeeds).
    get: Option<(Kind, Option<u16>)>,
    get_requests: usize,
    post: Option<(Kind, Option<u16>)>,
    post_requests: usize,
    /// Why retrying stopped when it did not simply run out of attempts (3 requests).
    stopped: Option<GaveUp>,
}

fn html_502() -> Vec<u8> {
    response(
        "502 Bad Gateway",
        &["Content-Type: text/html"],
        b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    )
}

fn cases() -> Vec<Case> {
    let ok = json_response("200 OK", &[], &permission("perm_1", "org:a:b"));
    let limited = |extra: &[&str]| {
        json_response(
            "429 Too Many Requests",
            extra,
            &clerk_errors("too_many_requests", "Slow down", None),
        )
    };
    let past = "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT";
    let big = vec![b'x'; 4 * BODY_LIMIT as usize];
    let mut chunked_big =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..8 {
        chunked_big.extend_from_slice(format!("{:x}\r\n", 8192).as_bytes());
        chunked_big.extend_from_slice(&[b'{'; 8192]);
        chunked_big.extend_from_slice(b"\r\n");
    }
    chunked_big.extend_from_slice(b"0\r\n\r\n");
    let short =
        b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\nConnection: close\r\n\r\n{\"object\":\"perm"
            .to_vec();
    let reset = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"object\":".to_vec();
    let error = |kind, status| Some((kind, status));
    vec![
        Case {
            name: "429 without Retry-After",
            script: vec![Reply::Send(limited(&[]))],
            timeout: NORMAL,
            get: error(Kind::Api, Some(429)),
            get_requests: 3,
            post: error(Kind::Api, Some(429)),
            post_requests: 3,
            stopped: None,
        },
        Case {
            name: "429 with a Retry-After longer than the policy's cap stops at once",
            script: vec![Reply::Send(limited(&["Retry-After: 2"]))],
            timeout: NORMAL,
            get: error(Kind::Api, Some(429)),
            get_requests: 1,
            post: error(Kind::Api, Some(429)),
            post_requests: 1,
            stopped: Some(GaveUp::RetryAfterTooLong),
        },
        Case {
            name: "a proxy's non-JSON 429 keeps its Retry-After and stops at once",
            script: vec![Reply::Send(response(
                "429 Too Many Requests",
                &["Retry-After: 86400", "Content-Type: text/html"],
                b"<html>slow down</html>",
            ))],
            timeout: NORMAL,
            get: error(Kind::Unexpected, Some(429)),
            get_requests: 1,
            post: error(Kind::Unexpected, Some(429)),
            post_requests: 1,
            stopped: Some(GaveUp::RetryAfterTooLong),
        },
        Case {
            name: "429 with Retry-After as a past HTTP date",
            script: vec![Reply::Send(limited(&[past]))],
            timeout: NORMAL,
            get: error(Kind::Api, Some(429)),
            get_requests: 3,
            post: error(Kind::Api, Some(429)),
            post_requests: 3,
            stopped: None,
        },
        Case {
            name: "429 then 200",
            script: vec![
                Reply::Send(limited(&["Retry-After: 0"])),
                Reply::Send(ok.clone()),
            ],
            timeout: NORMAL,
            get: None,
            get_requests: 2,
            post: None,
            post_requests: 2,
            stopped: None,
        },
        Case {
            name: "500 is not retried",
            script: vec![Reply::Send(response(
                "500 Internal Server Error",
                &[],
                b"oops",
            ))],
            timeout: NORMAL,
            get: error(Kind::Unexpected, Some(500)),
            get_requests: 1,
            post: error(Kind::Unexpected, Some(500)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "502 with an HTML body",
            script: vec![Reply::Send(html_502())],
            timeout: NORMAL,
            get: error(Kind::Unexpected, Some(502)),
            get_requests: 3,
            post: error(Kind::Unexpected, Some(502)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "503 then 200",
            script: vec![
                Reply::Send(response("503 Service Unavailable", &[], b"")),
                Reply::Send(ok.clone()),
            ],
            timeout: NORMAL,
            get: None,
            get_requests: 2,
            post: error(Kind::Unexpected, Some(503)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "504",
            script: vec![Reply::Send(response(
                "504 Gateway Timeout",
                &[],
                b"upstream timed out",
            ))],
            timeout: NORMAL,
            get: error(Kind::Unexpected, Some(504)),
            get_requests: 3,
            post: error(Kind::Unexpected, Some(504)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "408",
            script: vec![Reply::Send(response("408 Request Timeout", &[], b""))],
            timeout: NORMAL,
            get: error(Kind::Unexpected, Some(408)),
            get_requests: 3,
            post: error(Kind::Unexpected, Some(408)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "200 with an empty body",
            script: vec![Reply::Send(response(
                "200 OK",
                &["Content-Type: application/json"],
                b"",
            ))],
            timeout: NORMAL,
            get: error(Kind::Decode, Some(200)),
            get_requests: 1,
            post: error(Kind::Decode, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "200 with invalid JSON",
            script: vec![Reply::Send(response(
                "200 OK",
                &[],
                b"{\"object\": \"permission\", \"id\": ",
            ))],
            timeout: NORMAL,
            get: error(Kind::Decode, Some(200)),
            get_requests: 1,
            post: error(Kind::Decode, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        // The head arrived: the status is kept, GET asks again, POST (which Clerk carried
        // out) does not.
        Case {
            name: "body cut short of its Content-Length",
            script: vec![Reply::Send(short)],
            timeout: NORMAL,
            get: error(Kind::BodyFailed, Some(200)),
            get_requests: 3,
            post: error(Kind::BodyFailed, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "connection reset mid-response",
            script: vec![Reply::Reset(reset)],
            timeout: NORMAL,
            get: error(Kind::BodyFailed, Some(200)),
            get_requests: 3,
            post: error(Kind::BodyFailed, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "malformed chunked body",
            script: vec![Reply::Send(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n".to_vec(),
            )],
            timeout: NORMAL,
            get: error(Kind::BodyFailed, Some(200)),
            get_requests: 3,
            post: error(Kind::BodyFailed, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "head, then a body that stalls past the timeout",
            script: vec![Reply::SendThenHang(
                b"HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n{\"object\":".to_vec(),
            )],
            timeout: SHORT,
            get: error(Kind::BodyTimeout, Some(200)),
            get_requests: 3,
            post: error(Kind::BodyTimeout, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "a 404 whose body breaks off keeps its status",
            script: vec![Reply::Send(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 300\r\n\r\n{\"errors\":".to_vec(),
            )],
            timeout: NORMAL,
            get: error(Kind::BodyFailed, Some(404)),
            get_requests: 3,
            post: error(Kind::BodyFailed, Some(404)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "connection closed right after the request, without an answer",
            script: vec![Reply::Close],
            timeout: NORMAL,
            get: error(Kind::Transport, None),
            get_requests: 3,
            post: error(Kind::Transport, None),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "closed without an answer, then 200",
            script: vec![Reply::Close, Reply::Send(ok.clone())],
            timeout: NORMAL,
            get: None,
            get_requests: 2,
            post: error(Kind::Transport, None),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "accepts and never answers",
            script: vec![Reply::Hang],
            timeout: SHORT,
            get: error(Kind::Timeout, None),
            get_requests: 3,
            post: error(Kind::Timeout, None),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "body over the size limit, by Content-Length",
            script: vec![Reply::Send(response("200 OK", &[], &big))],
            timeout: NORMAL,
            get: error(Kind::TooLarge, Some(200)),
            get_requests: 1,
            post: error(Kind::TooLarge, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "body over the size limit, chunked",
            script: vec![Reply::Send(chunked_big)],
            timeout: NORMAL,
            get: error(Kind::TooLarge, Some(200)),
            get_requests: 1,
            post: error(Kind::TooLarge, Some(200)),
            post_requests: 1,
            stopped: None,
        },
        Case {
            name: "error page over the size limit",
            script: vec![Reply::Send(response(
                "500 Internal Server Error",
                &[],
                &big,
            ))],
            timeout: NORMAL,
            get: error(Kind::TooLarge, Some(500)),
            get_requests: 1,
            post: error(Kind::TooLarge, Some(500)),
            post_requests: 1,
            stopped: None,
        },
    ]
}

#[tokio::test]
async fn every_fault_ends_in_the_right_error_after_the_right_number_of_requests() {
    let mut failures = Vec::new();
    for case in cases() {
        for post in [false, true] {
            let server = RawServer::start(case.script.clone()).await;
            let clerk = client(&server.uri, case.timeout);
            let permissions = clerk.organization_permissions();
            let result = if post {
                permissions
                    .create(CreatePermission::new("Read", "org:a:read"))
                    .await
            } else {
                permissions.get("perm_1").await
            };
            let (expected, requests) = if post {
                (case.post, case.post_requests)
            } else {
                (case.get, case.get_requests)
            };
            let method = if post { "POST" } else { "GET" };
            let got = result
                .as_ref()
                .err()
                .map(|e| (kind(e), e.status().map(|s| s.as_u16())));
            if got != expected {
                failures.push(format!(
                    "{} / {method}: expected {expected:?}, got {result:?}",
                    case.name
                ));
            }
            if server.requests() != requests {
                failures.push(format!(
                    "{} / {method}: the server saw {} requests, expected {requests}",
                    case.name,
                    server.requests()
                ));
            }
            if let Err(error) = &result {
                let attempts = error.attempts();
                if attempts.made as usize != requests {
                    failures.push(format!(
                        "{} / {method}: error counts {attempts:?}",
                        case.name
                    ));
                }
                // Retryable failures that ran out of attempts say so, and so does an early
                // stop; nothing else claims it.
                let exhausted = requests == 3;
                let expected_stop = case.stopped.or(exhausted.then_some(GaveUp::MaxAttempts));
                if attempts.gave_up != expected_stop {
                    failures.push(format!(
                        "{} / {method}: gave_up is {:?}, expected {expected_stop:?}",
                        case.name, attempts.gave_up
                    ));
                }
                // Whatever the response said about waiting is kept.
                let asked = case.name.contains("Retry-After");
                if asked && error.retry_after().is_none() && case.stopped.is_some() {
                    failures.push(format!("{} / {method}: Retry-After lost", case.name));
                }
                // A timeout says so, wherever it hit.
                if matches!(kind(error), Kind::Timeout | Kind::BodyTimeout)
                    && !error.to_string().contains("timed out")
                {
                    failures.push(format!("{} / {method}: message `{error}`", case.name));
                }
                // A POST whose status arrived before its body broke off says Clerk acted.
                if post
                    && kind(error) == Kind::BodyFailed
                    && error.status().is_some_and(|s| s.is_success())
                    && !error.to_string().contains("took effect")
                {
                    failures.push(format!("{} / POST: message `{error}`", case.name));
                }
                if exhausted && !error.to_string().contains("gave up after 3 attempts") {
                    failures.push(format!("{} / {method}: message `{error}`", case.name));
                }
                if error.to_string().contains(SECRET_KEY)
                    || format!("{error:?}").contains(SECRET_KEY)
                {
                    failures.push(format!("{} / {method}: the key leaked", case.name));
                }
            }
            // Each attempt of a POST carried the same body.
            let bodies: Vec<_> = server.seen().into_iter().map(|seen| seen.body).collect();
            if post && bodies.windows(2).any(|pair| pair[0] != pair[1]) {
                failures.push(format!(
                    "{} / POST: bodies differ between attempts",
                    case.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_a_post() {
    // Bind, note the port, close: connecting there is refused, so nothing is ever sent.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let clerk = client(&uri, NORMAL);
    let get = clerk.organization_roles().get("role_1").await.unwrap_err();
    let post = clerk
        .organization_permissions()
        .create(CreatePermission::new("Read", "org:a:read"))
        .await
        .unwrap_err();
    for error in [get, post] {
        assert!(
            matches!(&error, Error::Transport { source, .. } if source.is_connect()),
            "{error:?}"
        );
        assert_eq!(error.attempts().made, 3, "{error}");
        assert_eq!(error.attempts().gave_up, Some(GaveUp::MaxAttempts));
        assert!(
            error.to_string().contains("gave up after 3 attempts"),
            "{error}"
        );
        assert_eq!(error.status(), None);
    }
}

#[tokio::test]
async fn the_default_size_limit_refuses_a_huge_declared_body_without_reading_it() {
    // Declares 10 GiB, sends a few bytes: the Content-Length alone must end the call.
    let head =
        b"HTTP/1.1 200 OK\r\nContent-Length: 10737418240\r\nConnection: close\r\n\r\n{\"data\":["
            .to_vec();
    let server = RawServer::start(vec![Reply::Send(head)]).await;
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(&server.uri)
        .build()
        .unwrap();
    let error = clerk.role_sets().list().send().await.unwrap_err();
    match &error {
        Error::ResponseTooLarge { status, limit, .. } => {
            assert_eq!(status.as_u16(), 200);
            assert_eq!(*limit, clerk_rbac::DEFAULT_MAX_RESPONSE_BYTES);
        }
        other => panic!("expected ResponseTooLarge, got {other:?}"),
    }
    assert!(error.to_string().contains("33554432-byte limit"), "{error}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_body_just_under_the_limit_is_read_whole() {
    let mut body = serde_json::to_vec(&permission("perm_1", "org:a:b")).unwrap();
    // Pad with JSON whitespace up to exactly the limit.
    body.resize(BODY_LIMIT as usize, b' ');
    let server = RawServer::start(vec![Reply::Send(response("200 OK", &[], &body))]).await;
    let clerk = client(&server.uri, NORMAL);
    let permission = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap();
    assert_eq!(permission.id, "perm_1");
}

/// The classic stale pooled connection: the server closes a kept-alive connection just as the
/// client reuses it, so the request gets no answer. A GET is sent again on a new connection; a
/// POST, which the server may have received, is not.
#[tokio::test]
async fn a_request_on_a_pooled_connection_the_server_dropped_is_resent_only_if_safe() {
    let body = serde_json::to_vec(&permission("perm_1", "org:a:b")).unwrap();
    let kept = kept_alive("200 OK", &["Content-Type: application/json"], &body);
    let closing = response("200 OK", &["Content-Type: application/json"], &body);
    let script = vec![Reply::KeepAlive(kept), Reply::Close, Reply::Send(closing)];

    let server = RawServer::start(script.clone()).await;
    let clerk = client(&server.uri, NORMAL);
    let permissions = clerk.organization_permissions();
    permissions.get("perm_1").await.unwrap();
    let again = permissions.get("perm_1").await.unwrap();
    assert_eq!(again.id, "perm_1");
    assert_eq!(server.requests(), 3, "the dropped GET was sent again");

    let server = RawServer::start(script).await;
    let clerk = client(&server.uri, NORMAL);
    let permissions = clerk.organization_permissions();
    permissions.get("perm_1").await.unwrap();
    let error = permissions
        .create(CreatePermission::new("Read", "org:a:read"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(error.attempts().made, 1);
    assert_eq!(server.requests(), 2, "the POST was sent once");
}
