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

#[tokio::test]
async fn a_proxy_404_page_is_not_a_clerk_not_found_and_keeps_its_cf_ray() {
    let (server, clerk) = mock_clerk().await;
    respond(
        &server,
        ResponseTemplate::new(404)
            .set_body_string("<html>no such route</html>")
            .insert_header("content-type", "text/html")
            .insert_header("cf-ray", "7a1b2c-FRA"),
    )
    .await;
    // 404 is a documented status of this operation, so its non-JSON body takes another path
    // through the generated client than an undocumented one: both keep what the server said.
    let get = clerk.role_sets().get("role_set:x").await.unwrap_err();
    let list = clerk.role_sets().list().send().await.unwrap_err();
    for err in [get, list] {
        assert!(!err.is_not_found(), "{err:?}");
        assert!(matches!(err, Error::UnexpectedResponse { .. }), "{err:?}");
        assert_eq!(err.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(err.trace_id(), Some("7a1b2c-FRA"));
        assert!(err.to_string().contains("7a1b2c-FRA"), "{err}");
    }
}

#[tokio::test]
async fn retry_after_and_the_trace_id_survive_every_response_shape() {
    let shapes = [
        ResponseTemplate::new(429).set_body_string("<html>slow down</html>"),
        ResponseTemplate::new(503).set_body_json(support::clerk_errors("busy", "Busy", None)),
        ResponseTemplate::new(200).set_body_string("{\"object\": 1}"),
    ];
    for shape in shapes {
        let (server, clerk) = mock_clerk().await;
        respond(
            &server,
            shape
                .insert_header("retry-after", "7")
                .insert_header("cf-ray", "5e6f-AMS"),
        )
        .await;
        let err = clerk.organization_roles().get("role_1").await.unwrap_err();
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)), "{err:?}");
        assert_eq!(err.trace_id(), Some("5e6f-AMS"), "{err:?}");
    }
}

#[tokio::test]
async fn an_empty_success_answer_to_a_deletion_means_it_was_done() {
    for answer in [
        ResponseTemplate::new(204),
        ResponseTemplate::new(200),
        ResponseTemplate::new(200).set_body_string("  \n"),
    ] {
        let (server, clerk) = mock_clerk().await;
        respond(&server, answer).await;
        let permission = clerk
            .organization_permissions()
            .delete("perm_1")
            .await
            .unwrap();
        assert!(permission.deleted);
        assert_eq!(permission.id.as_deref(), Some("perm_1"));
        assert_eq!(permission.object, "permission");
        let role = clerk.organization_roles().delete("role_1").await.unwrap();
        assert_eq!(
            (role.object.as_str(), role.id.as_deref()),
            ("role", Some("role_1"))
        );
        let replaced = clerk
            .role_sets()
            .replace(
                "role_set:old",
                clerk_rbac::ReplaceRoleSet::new("role_set:new"),
            )
            .await
            .unwrap();
        assert_eq!(replaced.object, "role_set");
        assert_eq!(replaced.id.as_deref(), Some("role_set:old"));
    }
    // Only deletions: a read without a body is still an error.
    let (server, clerk) = mock_clerk().await;
    respond(&server, ResponseTemplate::new(204)).await;
    let err = clerk.organization_roles().get("role_1").await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::NO_CONTENT));
}

#[tokio::test]
async fn total_count_takes_the_whole_signed_64_bit_range() {
    for total in [i64::MAX, 0, -1] {
        let (server, clerk) = mock_clerk().await;
        respond(
            &server,
            ResponseTemplate::new(200).set_body_json(json!({
                "data": [support::permission("perm_1", "org:a:b")],
                "total_count": total,
            })),
        )
        .await;
        let page = clerk
            .organization_permissions()
            .list()
            .send()
            .await
            .unwrap();
        assert_eq!(page.total_count, total);
        assert_eq!(page.data.len(), 1);
    }
}
