//! Failed calls come back as `clerk_rbac::Error` with what a caller needs to react.

use std::time::Duration;

use clerk_rbac::Error;
use reqwest::StatusCode;
use serde_json::json;
use wiremock::{Mock, ResponseTemplate, matchers::any};

use crate::support::{self, mock_clerk};

async fn respond(server: &wiremock::MockServer, response: ResponseTemplate) {
    Mock::given(any())
        .respond_with(response)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_documented_clerk_error_keeps_status_codes_and_trace_id() {
    let (server, clerk) = mock_clerk().await;
    let body = support::clerk_errors(
        "resource_not_found",
        "Resource not found",
        Some("trace_abc"),
    );
    respond(&server, ResponseTemplate::new(404).set_body_json(body)).await;

    let err = clerk.organization_roles().get("role_x").await.unwrap_err();

    assert!(err.is_not_found());
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert_eq!(err.code(), Some("resource_not_found"));
    assert_eq!(err.trace_id(), Some("trace_abc"));
    let first = &err.clerk_errors()[0];
    assert_eq!(first.long_message, "Resource not found, in detail");
    assert_eq!(first.meta["param_name"], "key");
    let shown = err.to_string();
    assert!(
        shown.contains("404")
            && shown.contains("resource_not_found")
            && shown.contains("trace_abc"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_trace_id_falls_back_to_cf_ray() {
    let (server, clerk) = mock_clerk().await;
    let body = support::clerk_errors("form_param_format_invalid", "bad key", None);
    respond(
        &server,
        ResponseTemplate::new(422)
            .set_body_json(body)
            .insert_header("cf-ray", "8f00ray-IAD"),
    )
    .await;

    let err = clerk
        .organization_permissions()
        .list()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(err.trace_id(), Some("8f00ray-IAD"));
}

#[tokio::test]
async fn an_undocumented_status_with_clerk_json_is_still_an_api_error() {
    let (server, clerk) = mock_clerk().await;
    // No operation documents 429; Clerk still sends its error JSON and Retry-After.
    let body = support::clerk_errors("too_many_requests", "Slow down", Some("trace_429"));
    let response = ResponseTemplate::new(429)
        .set_body_json(body)
        .insert_header("retry-after", "3");
    respond(&server, response).await;

    let err = clerk.role_sets().get("rs_1").await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(err.code(), Some("too_many_requests"));
    assert_eq!(err.trace_id(), Some("trace_429"));
}

#[tokio::test]
async fn a_proxy_html_page_keeps_the_status_and_a_bounded_excerpt() {
    let (server, clerk) = mock_clerk().await;
    let page = format!("<html><body>Bad gateway{}</body></html>", " ".repeat(5000));
    respond(
        &server,
        ResponseTemplate::new(502)
            .set_body_raw(page, "text/html")
            .insert_header("cf-ray", "ray-502"),
    )
    .await;

    let err = clerk
        .organization_roles()
        .delete("role_1")
        .await
        .unwrap_err();
    let Error::UnexpectedResponse {
        status,
        body,
        trace_id,
        ..
    } = &err
    else {
        panic!("expected UnexpectedResponse, got {err:?}");
    };
    assert_eq!(*status, StatusCode::BAD_GATEWAY);
    assert!(body.starts_with("<html><body>Bad gateway"), "{body}");
    assert!(body.len() < 700, "excerpt is bounded: {}", body.len());
    assert_eq!(trace_id.as_deref(), Some("ray-502"));
    assert_eq!(err.code(), None);
}

#[tokio::test]
async fn a_documented_status_with_a_non_json_body_keeps_its_status() {
    let (server, clerk) = mock_clerk().await;
    respond(
        &server,
        ResponseTemplate::new(404).set_body_raw("not found", "text/plain"),
    )
    .await;

    let err = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
    assert!(err.to_string().contains("not found"));
}

#[tokio::test]
async fn an_undecodable_success_names_the_failing_field() {
    let (server, clerk) = mock_clerk().await;
    let mut role = support::role(
        "role_1",
        "org:admin",
        vec![support::permission("perm_1", "org:a:b")],
    );
    role["permissions"][0]["created_at"] = json!("yesterday");
    respond(
        &server,
        ResponseTemplate::new(200).set_body_json(support::page(vec![role], 1)),
    )
    .await;

    let err = clerk.organization_roles().list().send().await.unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("expected Decode, got {err:?}")
    };
    assert_eq!(decode.status, Some(StatusCode::OK));
    assert_eq!(decode.path, "data[0].permissions[0].created_at");
    assert!(decode.body.starts_with("{\"data\""), "{}", decode.body);
    assert!(
        err.to_string()
            .contains("data[0].permissions[0].created_at")
    );
}

#[tokio::test]
async fn a_missing_required_field_is_a_decode_error() {
    let (server, clerk) = mock_clerk().await;
    let mut permission = support::permission("perm_1", "org:a:b");
    permission.as_object_mut().unwrap().remove("key");
    respond(
        &server,
        ResponseTemplate::new(200).set_body_json(permission),
    )
    .await;

    let err = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("expected Decode, got {err:?}")
    };
    assert!(
        decode.message.contains("missing field `key`"),
        "{}",
        decode.message
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error() {
    // Bind then drop a listener: its port is (almost certainly) closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let clerk = support::builder(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = clerk.organization_roles().get("role_1").await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.status(), None);
    assert!(
        err.to_string().contains("could not talk to the Clerk API"),
        "{err}"
    );
}

#[tokio::test]
async fn a_slow_server_ends_in_a_timeout() {
    let (server, _) = mock_clerk().await;
    let slow = ResponseTemplate::new(200)
        .set_body_json(support::role("role_1", "org:a", vec![]))
        .set_delay(Duration::from_secs(5));
    respond(&server, slow).await;
    let clerk = support::builder(server.uri())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();

    let err = clerk.organization_roles().get("role_1").await.unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
}
