//! The secret key stays secret (Debug, Display, errors, tracing), is only sent to the configured
//! origin over an acceptable scheme, and hostile IDs cannot steer a request to another endpoint.
//! Also a bounded smoke run of response decoding over generated inputs (the fuzz target in
//! `fuzz/` runs the same decoding unbounded).

use std::{
    fmt::{self, Write as _},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use clerk_rbac::{
    AddRoles, Clerk, DeletedObject, Error, Page, Permission, ReplaceRole, ReplaceRoleSet, Role,
    RoleSet, UpdatePermission, UpdateRole, UpdateRoleSet,
};
use tracing::{
    Event, Id, Metadata, Subscriber,
    field::{Field, Visit},
    span::{Attributes, Record},
    subscriber::Interest,
};
use wiremock::{
    Mock, MockServer, ResponseTemplate,
    matchers::{any, header_exists, method},
};

use crate::{
    faults::{RawServer, Reply, fast_retries, json_response, response},
    support::{SECRET_KEY, clerk_errors, client_for, mock_clerk, permission},
};

/// The part of the key that must never appear anywhere (the `sk_test_` prefix is public).
const KEY_TAIL: &str = "5uPer53cretKeyForTestsOnly";

fn assert_no_key(what: &str, text: &str) {
    assert!(
        !text.contains(KEY_TAIL),
        "{what} shows the secret key: {text}"
    );
}

#[tokio::test]
async fn no_debug_or_display_output_shows_the_key() {
    let builder = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url("http://127.0.0.1:9");
    assert_no_key("ClerkBuilder Debug", &format!("{builder:?}"));
    let clerk = builder.build().unwrap();
    assert_no_key("Clerk Debug", &format!("{clerk:?}"));
    assert_no_key(
        "generated client Debug",
        &format!("{:?}", clerk.generated()),
    );
    assert_no_key(
        "resource handle Debug",
        &format!("{:?}", clerk.organization_roles()),
    );
    assert_no_key(
        "list Debug",
        &format!("{:?}", clerk.role_sets().list().query("x")),
    );

    // Errors of every kind a call can produce.
    let (server, clerk) = mock_clerk().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401).set_body_json(clerk_errors(
            "authentication_invalid",
            "Bad key",
            Some("t1"),
        )))
        .mount(&server)
        .await;
    let mut errors = vec![clerk.organization_roles().get("role_1").await.unwrap_err()];
    errors.push(clerk.organization_roles().get("..").await.unwrap_err());
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", refused.local_addr().unwrap());
    drop(refused);
    let offline = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(uri)
        .retry(fast_retries())
        .build()
        .unwrap();
    errors.push(
        offline
            .organization_permissions()
            .get("perm_1")
            .await
            .unwrap_err(),
    );
    let decode = RawServer::start(vec![Reply::Send(response("200 OK", &[], b"{\"id\": 1}"))]).await;
    let decoding = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(&decode.uri)
        .build()
        .unwrap();
    errors.push(
        decoding
            .organization_permissions()
            .get("perm_1")
            .await
            .unwrap_err(),
    );
    errors.push(
        Clerk::builder()
            .secret_key(SECRET_KEY)
            .base_url("http://clerk.example")
            .build()
            .unwrap_err(),
    );
    errors.push(
        Clerk::builder()
            .secret_key(format!("{SECRET_KEY}\n"))
            .base_url("ftp://x")
            .build()
            .unwrap_err(),
    );
    errors.push(Clerk::new(format!("{SECRET_KEY}\u{7f}")).unwrap_err());
    for error in &errors {
        assert_no_key("error Display", &error.to_string());
        assert_no_key("error Debug", &format!("{error:?}"));
        let mut source = std::error::Error::source(error);
        while let Some(inner) = source {
            assert_no_key("error source", &inner.to_string());
            source = inner.source();
        }
    }
    assert_eq!(errors.len(), 7);
}

/// A tracing subscriber that writes every span, field record and event into one string.
#[derive(Clone, Default)]
struct Capture {
    out: Arc<Mutex<String>>,
    next_id: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl Capture {
    /// Makes a new capture the default subscriber of this thread until the guard drops.
    ///
    /// Tests run in parallel, and tracing caches per call site whether anyone listens. While a
    /// single dispatcher is registered, that cache is filled from whichever thread first reaches
    /// the call site, which may be one without this subscriber. A second live dispatcher makes
    /// tracing ask every registered dispatcher instead, and the rebuild drops a stale answer.
    fn install() -> (
        Capture,
        (tracing::dispatcher::DefaultGuard, tracing::Dispatch),
    ) {
        let capture = Capture::default();
        let guard = tracing::dispatcher::set_default(&tracing::Dispatch::new(capture.clone()));
        let second = tracing::Dispatch::new(Capture::default());
        tracing::callsite::rebuild_interest_cache();
        (capture, (guard, second))
    }
}

impl Subscriber for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let mut out = self.out.lock().unwrap();
        let _ = write!(out, "\nspan#{id} {}:", span.metadata().name());
        span.record(&mut Fields(&mut out));
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut out = self.out.lock().unwrap();
        let _ = write!(out, "\nrecord#{}:", span.into_u64());
        values.record(&mut Fields(&mut out));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut out = self.out.lock().unwrap();
        let _ = write!(out, "\nevent {}:", event.metadata().target());
        event.record(&mut Fields(&mut out));
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[tokio::test]
async fn tracing_has_one_span_per_call_with_its_facts_and_no_secret_or_body() {
    let (capture, _guard) = Capture::install();

    let body_marker = "BODY-MARKER-do-not-log";
    let mut perm = permission("perm_1", "org:a:b");
    perm["description"] = serde_json::json!(body_marker);
    let busy = response(
        "503 Service Unavailable",
        &["Cf-Ray: 1a2b3c-IAD"],
        body_marker.as_bytes(),
    );
    let ok = json_response("200 OK", &["Cf-Ray: 4d5e6f-CDG"], &perm);
    let server = RawServer::start(vec![Reply::Send(busy), Reply::Send(ok)]).await;
    let clerk = crate::faults::client(&server.uri, Duration::from_secs(30));
    let got = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap();
    assert_eq!(got.description, body_marker);
    let update = clerk
        .organization_permissions()
        .update("perm_1", UpdatePermission::new().name("n"))
        .await;
    assert!(update.is_ok());

    let out = capture.out.lock().unwrap().clone();
    assert_no_key("tracing output", &out);
    assert!(!out.contains("Bearer"), "{out}");
    assert!(!out.contains(body_marker), "a body reached tracing: {out}");
    let spans: Vec<&str> = out
        .lines()
        .filter(|line| line.contains("clerk.request"))
        .collect();
    assert_eq!(spans.len(), 2, "one span per call: {out}");
    assert!(
        spans[0].contains("operation=\"get_organization_permission\""),
        "{out}"
    );
    assert!(spans[0].contains("method=GET"), "{out}");
    assert!(
        spans[1].contains("operation=\"update_organization_permission\""),
        "{out}"
    );
    assert!(spans[1].contains("method=PATCH"), "{out}");
    for expected in [
        "attempt=2",
        "status=200",
        "trace_id=\"4d5e6f-CDG\"",
        "duration_ms=",
    ] {
        assert!(out.contains(expected), "no `{expected}` in {out}");
    }
    assert!(out.contains("retrying the Clerk request"), "{out}");
    assert!(out.contains("attempt=1 status=503"), "{out}");
}

#[tokio::test]
async fn tracing_names_a_body_failure_by_kind_only() {
    let (capture, _guard) = Capture::install();
    let server = RawServer::start(vec![Reply::Send(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{".to_vec(),
    )])
    .await;
    let clerk = crate::faults::client(&server.uri, Duration::from_secs(30));
    let error = clerk.organization_roles().get("role_1").await.unwrap_err();
    assert!(matches!(error, Error::BodyFailed(_)), "{error:?}");
    let out = capture.out.lock().unwrap().clone();
    assert!(out.contains("error=\"body\""), "{out}");
    assert!(out.contains("outcome=\"body failed\""), "{out}");
    assert_no_key("tracing output", &out);
}

#[test]
fn cleartext_http_is_refused_off_loopback_unless_allowed() {
    let build = |url: &str, allow: bool| {
        Clerk::builder()
            .secret_key(SECRET_KEY)
            .base_url(url)
            .allow_insecure_http(allow)
            .build()
    };
    for url in [
        "http://api.clerk.com",
        "http://10.0.0.8:8080",
        "http://[2001:db8::1]",
    ] {
        let error = build(url, false).unwrap_err();
        assert!(matches!(error, Error::Config(_)), "{url}: {error:?}");
        assert!(error.to_string().contains("cleartext"), "{error}");
        assert_no_key("config error", &error.to_string());
        assert!(build(url, true).is_ok(), "{url} with consent");
    }
    for url in [
        "http://127.0.0.1:8080",
        "http://localhost",
        "http://[::1]:3000",
        "https://api.clerk.com",
    ] {
        assert!(build(url, false).is_ok(), "{url}");
    }
}

#[tokio::test]
async fn a_redirect_is_reported_not_followed() {
    let (origin, clerk) = mock_clerk().await;
    // Another origin: localhost instead of 127.0.0.1.
    let elsewhere = MockServer::start().await;
    let other = elsewhere.uri().replace("127.0.0.1", "localhost");
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{other}/v1/steal").as_str()),
        )
        .mount(&origin)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;

    let error = clerk.organization_roles().get("role_1").await.unwrap_err();
    assert!(
        matches!(error, Error::UnexpectedResponse { .. }),
        "{error:?}"
    );
    assert_eq!(error.status().map(|s| s.as_u16()), Some(307));
    assert_eq!(origin.received_requests().await.unwrap().len(), 1);
    assert!(
        elsewhere.received_requests().await.unwrap().is_empty(),
        "the redirect was followed"
    );
}

#[tokio::test]
async fn a_custom_client_that_follows_redirects_drops_the_key_at_the_origin_boundary() {
    let origin = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let other = elsewhere.uri().replace("127.0.0.1", "localhost");
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("location", format!("{other}/v1/steal").as_str()),
        )
        .mount(&origin)
        .await;
    Mock::given(method("GET"))
        .and(header_exists("authorization"))
        .respond_with(ResponseTemplate::new(418))
        .mount(&elsewhere)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404))
        .mount(&elsewhere)
        .await;

    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(origin.uri())
        .http_client(reqwest::Client::new())
        .build()
        .unwrap();
    let _ = clerk.organization_roles().get("role_1").await;
    let followed = elsewhere.received_requests().await.unwrap();
    assert_eq!(
        followed.len(),
        1,
        "reqwest's default policy follows one redirect"
    );
    assert!(
        followed[0].headers.get("authorization").is_none(),
        "the key crossed origins"
    );
}

// ---------------------------------------------------------------------------------------------
// Hostile IDs

/// Every operation that takes an ID, once per ID position. `path` is the expected path under
/// `/v1` with `*` where the ID goes.
const ID_OPERATIONS: &[(&str, &str)] = &[
    ("get permission", "organization_permissions/*"),
    ("update permission", "organization_permissions/*"),
    ("delete permission", "organization_permissions/*"),
    ("get role", "organization_roles/*"),
    ("update role", "organization_roles/*"),
    ("delete role", "organization_roles/*"),
    (
        "assign permission (role)",
        "organization_roles/*/permissions/perm_ok",
    ),
    (
        "assign permission (permission)",
        "organization_roles/role_ok/permissions/*",
    ),
    (
        "remove permission (role)",
        "organization_roles/*/permissions/perm_ok",
    ),
    (
        "remove permission (permission)",
        "organization_roles/role_ok/permissions/*",
    ),
    ("get role set", "role_sets/*"),
    ("update role set", "role_sets/*"),
    ("add roles", "role_sets/*/roles"),
    ("replace role", "role_sets/*/roles/replace"),
    ("replace role set", "role_sets/*/replace"),
];

async fn call_with_id(clerk: &Clerk, operation: usize, id: &str) -> Result<(), Error> {
    let perms = clerk.organization_permissions();
    let roles = clerk.organization_roles();
    let sets = clerk.role_sets();
    match operation {
        0 => perms.get(id).await.map(drop),
        1 => perms
            .update(id, UpdatePermission::new().name("n"))
            .await
            .map(drop),
        2 => perms.delete(id).await.map(drop),
        3 => roles.get(id).await.map(drop),
        4 => roles
            .update(id, UpdateRole::new().name("n"))
            .await
            .map(drop),
        5 => roles.delete(id).await.map(drop),
        6 => roles.assign_permission(id, "perm_ok").await.map(drop),
        7 => roles.assign_permission("role_ok", id).await.map(drop),
        8 => roles.remove_permission(id, "perm_ok").await.map(drop),
        9 => roles.remove_permission("role_ok", id).await.map(drop),
        10 => sets.get(id).await.map(drop),
        11 => sets
            .update(id, UpdateRoleSet::new().name("n"))
            .await
            .map(drop),
        12 => sets
            .add_roles(id, AddRoles::new(["org:a".to_owned()]))
            .await
            .map(drop),
        13 => sets
            .replace_role(id, ReplaceRole::new("org:a", "org:b"))
            .await
            .map(drop),
        14 => sets
            .replace(id, ReplaceRoleSet::new("role_set:b"))
            .await
            .map(drop),
        _ => unreachable!(),
    }
}

fn hostile_ids() -> Vec<String> {
    let mut ids: Vec<String> = [
        "a/b",
        "x?limit=500",
        "x#frag",
        "..",
        ".",
        "%2e%2e",
        ".%2e",
        "%2F",
        "%2f..%2f",
        "a\r\nb",
        "a\nInjected: header",
        "a\0b",
        " ",
        "a b",
        "a\tb",
        "ünïcødé",
        "日本語",
        "🦀",
        "a\\b",
        "\\..",
        "...",
        "%",
        "%zz",
        ";",
        "role_set:default",
        "a;b=c",
        "?",
        "#",
        "&x=1",
        "+",
        "'\"<>`{}|^",
        "//evil.example",
        "http://evil.example/",
        "~user",
        "\u{202e}rtl",
        "",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    ids.push("a".repeat(5000));
    ids
}

/// Percent-decodes a path segment into bytes.
fn percent_decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

#[tokio::test]
async fn hostile_ids_reach_their_own_endpoint_as_one_segment_or_are_refused() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(server.uri())
        .retry(clerk_rbac::RetryPolicy::none())
        .build()
        .unwrap();
    let mut failures = Vec::new();
    let (mut sent, mut refused) = (0, 0);
    for id in hostile_ids() {
        for (operation, (name, template)) in ID_OPERATIONS.iter().enumerate() {
            let before = server.received_requests().await.unwrap().len();
            let result = call_with_id(&clerk, operation, &id).await;
            let requests = server.received_requests().await.unwrap();
            let new = &requests[before..];
            let label = format!("{name} with {id:?}");
            if let Err(Error::InvalidRequest(_)) = result {
                refused += 1;
                if !new.is_empty() {
                    failures.push(format!(
                        "{label}: refused but {} requests were sent",
                        new.len()
                    ));
                }
                continue;
            }
            sent += 1;
            let [request] = new else {
                failures.push(format!(
                    "{label}: {} requests instead of 1 ({result:?})",
                    new.len()
                ));
                continue;
            };
            if request.url.query().is_some() {
                failures.push(format!("{label}: a query string appeared: {}", request.url));
            }
            let path = request.url.path();
            let Some(rest) = path.strip_prefix("/v1/") else {
                failures.push(format!("{label}: path {path} is outside /v1"));
                continue;
            };
            let got: Vec<&str> = rest.split('/').collect();
            let want: Vec<&str> = template.split('/').collect();
            let fits = got.len() == want.len()
                && got.iter().zip(&want).all(|(got, want)| {
                    if *want == "*" {
                        percent_decode(got) == id.as_bytes()
                    } else {
                        got == want
                    }
                });
            if !fits {
                failures.push(format!("{label}: reached {path}, expected /v1/{template}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The table exercises both outcomes: most IDs are sent, `.`, `..` and "" are refused.
    assert!(
        sent > 0 && refused >= 3 * ID_OPERATIONS.len(),
        "sent {sent}, refused {refused}"
    );
}

// ---------------------------------------------------------------------------------------------
// Decoding smoke run

/// A small deterministic generator (xorshift) of byte strings that look like JSON often enough
/// to get past the first byte: fragments of real responses, mutated.
struct Inputs {
    state: u64,
    seeds: Vec<Vec<u8>>,
}

impl Inputs {
    fn new() -> Self {
        let seeds = [
            permission("perm_1", "org:a:b"),
            crate::support::role("role_1", "org:r", vec![permission("perm_1", "org:a:b")]),
            crate::support::role_set("rs_1", "role_set:x"),
            crate::support::deleted("role", "role_1"),
            crate::support::page(vec![permission("perm_1", "org:a:b")], 1),
            clerk_errors("resource_not_found", "Not found", Some("trace")),
        ]
        .iter()
        .map(|value| value.to_string().into_bytes())
        .collect();
        Inputs {
            state: 0x9E37_79B9_7F4A_7C15,
            seeds,
        }
    }

    fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    fn next(&mut self) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            b"{",
            b"}",
            b"[",
            b"]",
            b",",
            b":",
            b"\"",
            b"null",
            b"true",
            b"-1",
            b"1e999",
            b"\"\\u0000\"",
            b"\"\\ud800\"",
            b"18446744073709551616",
            b"\xff\xfe",
            b"\"system\"",
            b"{\"errors\":[{}]}",
            b"",
        ];
        let seed = self.below(self.seeds.len());
        let mut bytes = self.seeds[seed].clone();
        for _ in 0..=self.below(4) {
            let at = self.below(bytes.len() + 1);
            match self.below(4) {
                0 => bytes.truncate(at),
                1 => {
                    let token = TOKENS[self.below(TOKENS.len())];
                    bytes.splice(at..at, token.iter().copied());
                }
                2 if at < bytes.len() => bytes[at] = self.next_u64() as u8,
                _ => {
                    let end = (at + self.below(16)).min(bytes.len());
                    bytes.drain(at..end);
                }
            }
        }
        bytes
    }
}

fn decode_everything(bytes: &[u8]) {
    let _ = serde_json::from_slice::<Permission>(bytes);
    let _ = serde_json::from_slice::<Role>(bytes);
    let _ = serde_json::from_slice::<RoleSet>(bytes);
    let _ = serde_json::from_slice::<DeletedObject>(bytes);
    let _ = serde_json::from_slice::<Page<Permission>>(bytes);
    let _ = serde_json::from_slice::<Page<Role>>(bytes);
    let _ = serde_json::from_slice::<Page<RoleSet>>(bytes);
    let _ = serde_json::from_slice::<clerk_rbac::generated::types::ClerkErrors>(bytes);
}

#[tokio::test]
async fn decoding_generated_bodies_never_panics() {
    let mut inputs = Inputs::new();
    // Straight decoding, as the generated client does: many inputs, cheap.
    let mut decoded = 0;
    for _ in 0..5_000 {
        let bytes = inputs.next();
        decode_everything(&bytes);
        decoded += usize::from(serde_json::from_slice::<serde_json::Value>(&bytes).is_ok());
    }
    // The generator must reach past the first byte often enough to be worth running.
    assert!(decoded > 250, "only {decoded} inputs were valid JSON");

    // Through the whole client (hooks, error mapping, excerpts): fewer, as each is a request.
    let bodies: Vec<Vec<u8>> = (0..60).map(|_| inputs.next()).collect();
    let server = MockServer::start().await;
    let clerk = client_for(&server);
    for (i, body) in bodies.iter().enumerate() {
        // A success status, a documented error status and an undocumented one.
        let status = [200, 404, 500][i % 3];
        server.reset().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(status).set_body_raw(body.clone(), "application/json"),
            )
            .mount(&server)
            .await;
        let result = clerk.organization_roles().get("role_1").await;
        if let Err(error) = &result {
            assert_eq!(
                error.status().map(|s| s.as_u16()),
                Some(status),
                "{error:?}"
            );
            let _ = error.to_string();
        }
    }
}

/// Builds an answer around the request's `Authorization` header.
type Answer = fn(&str) -> ResponseTemplate;

/// A server that quotes the request's `Authorization` header back in one place of its answer.
struct Echo(Answer);

impl wiremock::Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let authorization = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (self.0)(&authorization)
    }
}

/// Every place an echoing server can put the key, for Display, Debug and pretty Debug.
#[tokio::test]
async fn a_server_that_echoes_the_key_never_gets_it_printed() {
    fn clerk_json(status: u16, auth: &str) -> ResponseTemplate {
        ResponseTemplate::new(status).set_body_json(serde_json::json!({
            "errors": [{
                "code": format!("bad_{auth}"),
                "message": format!("Invalid header: Authorization: {auth}"),
                "long_message": format!("We got `{auth}` which is not valid"),
                "meta": {"header": auth, auth: [auth, {"nested": auth}]},
            }],
            "clerk_trace_id": format!("trace {auth}"),
        }))
    }
    let places: [(&str, Answer); 7] = [
        ("401 Clerk JSON quoting the header", |auth| {
            clerk_json(401, auth)
        }),
        ("undocumented 500 Clerk JSON", |auth| clerk_json(500, auth)),
        ("an HTML page dumping the headers", |auth| {
            ResponseTemplate::new(502)
                .set_body_string(format!("<html><pre>Authorization: {auth}</pre></html>"))
        }),
        ("a documented 404 with a text body", |auth| {
            ResponseTemplate::new(404).set_body_string(format!("not found for {auth}"))
        }),
        ("a 200 that fails to decode, key as a value", |auth| {
            ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"object": "role", "id": 7, "key": auth, "created_at": auth}),
            )
        }),
        ("a 200 that fails to decode, key as a map key", |auth| {
            let mut role = crate::support::role("role_1", "org:x", vec![]);
            role["permissions"] = serde_json::json!({ auth: 1 });
            ResponseTemplate::new(200).set_body_json(role)
        }),
        ("the key in cf-ray, after 500 bytes of padding", |auth| {
            ResponseTemplate::new(503)
                .insert_header("cf-ray", auth)
                .set_body_string(format!("{}{auth}", "x".repeat(500)))
        }),
    ];
    for (place, answer) in places {
        let (server, clerk) = mock_clerk().await;
        Mock::given(any())
            .respond_with(Echo(answer))
            .mount(&server)
            .await;
        let error = clerk.organization_roles().get("role_1").await.unwrap_err();
        assert!(
            error.status().is_some(),
            "{place}: the answer was not kept: {error:?}"
        );
        for (how, shown) in [
            ("Display", error.to_string()),
            ("Debug", format!("{error:?}")),
            ("pretty Debug", format!("{error:#?}")),
        ] {
            assert_no_key(&format!("{place}, {how}"), &shown);
        }
        for text in error.clerk_errors() {
            assert_no_key(place, &format!("{text:?}"));
        }
        assert_no_key(place, error.trace_id().unwrap_or_default());
        if let Error::Api(api) = &error {
            // What is kept still says where the key was.
            assert!(
                api.errors[0].message.contains("Bearer <redacted>"),
                "{place}"
            );
        }
    }
}
