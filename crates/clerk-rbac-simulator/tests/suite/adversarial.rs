//! Hostile requests: odd IDs in paths, bodies that are not JSON or too large, wrong content
//! types, unknown routes and methods, garbage on the socket. The server answers each in
//! Clerk's error format (or closes a connection it cannot read) and keeps serving.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::support::start;

struct Raw {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Raw {
    fn new(sim: &clerk_rbac_simulator::Simulator) -> Self {
        Raw {
            http: reqwest::Client::new(),
            base: format!("{}/v1", sim.base_url()),
            key: sim.secret_key().to_owned(),
        }
    }

    async fn send(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status} answer is not JSON: {text}"));
        (status, json)
    }

    async fn json(&self, method: &str, path: &str, body: &str) -> (u16, Value) {
        self.send(
            method,
            path,
            Some("application/json"),
            body.as_bytes().to_vec(),
        )
        .await
    }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or("(none)")
}

/// The server still answers normally.
async fn still_serving(raw: &Raw) {
    let (status, body) = raw.json("GET", "/role_sets/role_set:default", "").await;
    assert_eq!(
        (status, body["key"].as_str()),
        (200, Some("role_set:default"))
    );
}

#[tokio::test]
async fn hostile_ids_in_paths_find_nothing_and_escape_nothing() {
    let (sim, _) = start().await;
    let raw = Raw::new(&sim);
    for path in [
        "/organization_roles/%2E%2E",
        "/organization_roles/..",
        "/organization_roles/role_x%2F..%2F..%2Forganization_permissions",
        "/organization_roles/%00",
        "/organization_roles/%FF%FE",
        "/organization_permissions/%25",
        "/role_sets/role_set%3Adefault%2Froles",
        "/role_sets/%20role_set:default",
        "/organization_roles/role_1/permissions/%2F",
    ] {
        let method = if path.contains("/permissions/") {
            "POST"
        } else {
            "GET"
        };
        let (status, body) = raw.json(method, path, "").await;
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(code(&body), "resource_not_found", "{path}");
    }
    // An encoded key still finds its role set: `:` may come percent-encoded.
    let (status, _) = raw.json("GET", "/role_sets/role_set%3Adefault", "").await;
    assert_eq!(status, 200);
    // A 60 KB ID is just an unknown ID.
    let huge = "x".repeat(60_000);
    let (status, body) = raw
        .json("GET", &format!("/organization_roles/{huge}"), "")
        .await;
    assert_eq!((status, code(&body)), (404, "resource_not_found"));
    // A path too long to read at all (1 MB) is refused by the HTTP layer before routing.
    let giant = "y".repeat(1024 * 1024);
    let response = reqwest::Client::new()
        .get(format!("{}/v1/organization_roles/{giant}", sim.base_url()))
        .bearer_auth(sim.secret_key())
        .send()
        .await;
    if let Ok(response) = response {
        assert!(response.status().is_client_error(), "{}", response.status());
    }
    assert_eq!(sim.snapshot().roles.len(), 2);
    still_serving(&raw).await;
}

#[tokio::test]
async fn bodies_that_are_not_json_objects_are_refused() {
    let (sim, _) = start().await;
    let raw = Raw::new(&sim);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    for body in [
        "",
        "   ",
        "{",
        "not json",
        "[]",
        "\"a string\"",
        "42",
        "null",
        deep.as_str(),
        "{\"name\":\"a\",\"key\":\"org:a:b\"}trailing",
    ] {
        let (status, answer) = raw.json("POST", "/organization_permissions", body).await;
        assert_eq!(
            (status, code(&answer)),
            (400, "request_body_invalid"),
            "{:.40}",
            body
        );
    }
    let (status, answer) = raw
        .send(
            "POST",
            "/organization_permissions",
            Some("application/json"),
            vec![0xff, 0xfe, b'{'],
        )
        .await;
    assert_eq!((status, code(&answer)), (400, "request_body_invalid"));
    assert_eq!(sim.snapshot().permissions.len(), 9);
    still_serving(&raw).await;
}

#[tokio::test]
async fn fields_missing_unknown_or_of_the_wrong_type_are_refused_as_clerk_does() {
    let (sim, _) = start().await;
    let raw = Raw::new(&sim);
    let cases = [
        (
            "POST",
            "/organization_permissions",
            r#"{"name":"P"}"#,
            "form_param_missing",
            "key",
        ),
        (
            "POST",
            "/organization_permissions",
            r#"{"key":"org:a:b","name":7}"#,
            "form_param_type_invalid",
            "name",
        ),
        (
            "POST",
            "/organization_roles",
            r#"{"name":"R","key":"org:r","colour":"red"}"#,
            "form_param_unknown",
            "colour",
        ),
        (
            "POST",
            "/organization_roles",
            r#"{"name":"R","key":"org:r","permissions":"perm_1"}"#,
            "form_param_type_invalid",
            "permissions",
        ),
        (
            "POST",
            "/role_sets",
            r#"{"name":"S","roles":["org:admin"],"default_role_key":"org:admin"}"#,
            "form_param_missing",
            "creator_role_key",
        ),
        (
            "POST",
            "/role_sets",
            r#"{"name":"S","roles":["org:admin"],"default_role_key":"org:admin","creator_role_key":"org:admin","type":"system"}"#,
            "form_param_value_invalid",
            "type",
        ),
        (
            "POST",
            "/role_sets",
            r#"{"name":"S","roles":["org:admin"],"default_role_key":"org:admin","creator_role_key":"org:admin","members":3}"#,
            "form_param_unknown",
            "members",
        ),
        (
            "PATCH",
            "/role_sets/role_set:default",
            r#"{"type":"custom"}"#,
            "form_param_value_invalid",
            "type",
        ),
        (
            "POST",
            "/role_sets/role_set:default/roles",
            r#"{}"#,
            "form_param_missing",
            "role_keys",
        ),
        (
            "POST",
            "/role_sets/role_set:default/replace",
            r#"{"dest_role_set_key":"role_set:default","reassignment_mappings":{"org:admin":1}}"#,
            "form_param_type_invalid",
            "reassignment_mappings",
        ),
    ];
    for (method, path, body, expected, param) in cases {
        let (status, answer) = raw.json(method, path, body).await;
        assert_eq!(
            (status, code(&answer)),
            (422, expected),
            "{method} {path} {body}"
        );
        assert_eq!(
            answer["errors"][0]["meta"]["param_name"], param,
            "{method} {path} {body}"
        );
    }
    // Bodies where the schema is open may carry fields it does not list.
    let (status, _) = raw
        .json(
            "POST",
            "/organization_permissions",
            r#"{"name":"P","key":"org:open:read","extra":true}"#,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn huge_bodies_and_wrong_content_types_are_refused() {
    let (sim, _) = start().await;
    let raw = Raw::new(&sim);
    let huge = format!(
        r#"{{"name":"P","key":"org:a:b","description":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, answer) = raw.json("POST", "/organization_permissions", &huge).await;
    assert_eq!((status, code(&answer)), (413, "request_body_too_large"));
    let body = br#"{"name":"P","key":"org:a:b"}"#.to_vec();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonp"),
        None,
    ] {
        let (status, answer) = raw
            .send(
                "POST",
                "/organization_permissions",
                content_type,
                body.clone(),
            )
            .await;
        assert_eq!(
            (status, code(&answer)),
            (415, "unsupported_content_type"),
            "{content_type:?}"
        );
    }
    let (status, _) = raw
        .send(
            "POST",
            "/organization_permissions",
            Some("Application/JSON; charset=utf-8"),
            body,
        )
        .await;
    assert_eq!(status, 200);
    still_serving(&raw).await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_in_clerks_format() {
    let (sim, _) = start().await;
    let raw = Raw::new(&sim);
    for path in [
        "/users",
        "/organization_roles/x/y",
        "/role_sets/a/b/c/d",
        "/",
        "",
    ] {
        let (status, answer) = raw.json("GET", path, "").await;
        assert_eq!(
            (status, code(&answer)),
            (404, "resource_not_found"),
            "{path}"
        );
    }
    let outside = reqwest::Client::new()
        .get(format!("{}/health", sim.base_url()))
        .bearer_auth(sim.secret_key())
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status().as_u16(), 404);
    for (method, path, allow) in [
        ("PUT", "/organization_roles", "GET, POST"),
        ("DELETE", "/role_sets/role_set:default", "GET, PATCH"),
        ("GET", "/role_sets/role_set:default/replace", "POST"),
        (
            "PATCH",
            "/organization_roles/r/permissions/p",
            "POST, DELETE",
        ),
        (
            "OPTIONS",
            "/organization_permissions/p",
            "GET, PATCH, DELETE",
        ),
    ] {
        let response = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/v1{path}", sim.base_url()),
            )
            .bearer_auth(sim.secret_key())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        assert_eq!(response.headers()["allow"], allow);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(code(&answer), "method_not_allowed");
    }
    still_serving(&raw).await;
}

#[tokio::test]
async fn garbage_on_the_socket_costs_only_that_connection() {
    let (sim, _) = start().await;
    for garbage in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..],
        b"GET /v1/role_sets HTTP/9.9\r\n\r\n",
        b"GET /v1/role_sets HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /v1/organization_permissions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer sk_test_x\r\nContent-Type: application/json\r\n\r\nzz\r\n",
        b"\r\n\r\n\r\n",
    ] {
        let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
        stream.write_all(garbage).await.unwrap();
        let _ = stream.shutdown().await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
        if !answer.is_empty() {
            assert!(answer.starts_with(b"HTTP/1.1 4"), "{}", String::from_utf8_lossy(&answer));
        }
    }
    // A client that goes away mid-body changes nothing.
    let mut stream = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let head = format!(
        "POST /v1/organization_permissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":",
        sim.secret_key()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    drop(stream);
    let raw = Raw::new(&sim);
    still_serving(&raw).await;
    assert_eq!(sim.snapshot().permissions.len(), 9);
}

#[tokio::test]
async fn odd_query_strings_are_read_or_refused_never_fatal() {
    let (sim, _) = start().await;
    let raw = Raw::new(&sim);
    for (query, expected) in [
        ("limit=5&limit=x", 200),
        ("limit=%ZZ", 422),
        ("query=%FF%FE", 200),
        ("query=&order_by=", 200),
        ("order_by=+key", 200),
        ("order_by=%2Bkey", 200),
        ("&&&=&", 200),
        ("limit=99999999999999999999999", 422),
        ("offset=99999999999999", 200),
    ] {
        let (status, answer) = raw
            .json("GET", &format!("/organization_roles?{query}"), "")
            .await;
        assert_eq!(status, expected, "{query}: {answer}");
    }
    still_serving(&raw).await;
}
