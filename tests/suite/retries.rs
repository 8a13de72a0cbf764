//! The retry policy seen from outside: what is sent again, with what, and what the error says
//! when the policy runs out. The decision rules themselves are unit-tested in `src/retry.rs`.

use std::time::Duration;

use clerk_rbac::{
    AddRoles, Clerk, Error, GaveUp, ReplaceRole, ReplaceRoleSet, RetryPolicy, UpdateRole,
};

use crate::{
    faults::{RawServer, Reply, client, fast_retries, json_response, response},
    support::{SECRET_KEY, deleted, role, role_set},
};

const NORMAL: Duration = Duration::from_secs(30);

fn unavailable() -> Reply {
    Reply::Send(response(
        "503 Service Unavailable",
        &["Cf-Ray: 8c1f2a-IAD"],
        b"busy",
    ))
}

#[tokio::test]
async fn a_patch_is_sent_again_with_the_same_body_and_headers() {
    let ok = json_response("200 OK", &[], &role("role_1", "org:billing", vec![]));
    let server = RawServer::start(vec![unavailable(), Reply::Send(ok)]).await;
    let clerk = client(&server.uri, NORMAL);
    let changes = UpdateRole::new().name("Billing admins").clear_description();
    let role = clerk
        .organization_roles()
        .update("role_1", changes)
        .await
        .unwrap();
    assert_eq!(role.id, "role_1");

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].method, "PATCH");
    assert_eq!(seen[0].body, seen[1].body);
    assert_eq!(seen[0].path, seen[1].path);
    let body: serde_json::Value = serde_json::from_slice(&seen[1].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"name": "Billing admins", "description": null})
    );
    for attempt in &seen {
        let auth = attempt
            .headers
            .iter()
            .find(|(name, _)| name == "authorization");
        assert_eq!(
            auth.map(|(_, v)| v.as_str()),
            Some(format!("Bearer {SECRET_KEY}").as_str())
        );
    }
}

#[tokio::test]
async fn a_delete_is_retried_on_504_but_not_on_500() {
    let ok = json_response("200 OK", &[], &deleted("role", "role_1"));
    let gateway = Reply::Send(response("504 Gateway Timeout", &[], b""));
    let server = RawServer::start(vec![gateway, Reply::Send(ok.clone())]).await;
    let deleted = client(&server.uri, NORMAL)
        .organization_roles()
        .delete("role_1")
        .await
        .unwrap();
    assert!(deleted.deleted);
    assert_eq!(server.requests(), 2);

    let broken = Reply::Send(response("500 Internal Server Error", &[], b""));
    let server = RawServer::start(vec![broken, Reply::Send(ok)]).await;
    let error = client(&server.uri, NORMAL)
        .organization_roles()
        .delete("role_1")
        .await
        .unwrap_err();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(500));
    assert_eq!(server.requests(), 1);
    assert_eq!(error.attempts().made, 1);
    assert_eq!(error.attempts().gave_up, None);
}

#[tokio::test]
async fn every_post_operation_is_sent_once_on_503_and_again_on_429() {
    let set = role_set("rs_1", "role_set:support");
    let scripts = [
        (unavailable(), 1_usize),
        (
            Reply::Send(json_response(
                "429 Too Many Requests",
                &["Retry-After: 0"],
                &serde_json::json!({"errors": []}),
            )),
            2,
        ),
    ];
    for (first, expected) in scripts {
        for operation in 0..4 {
            let ok = match operation {
                2 => json_response("200 OK", &[], &role("role_1", "org:a", vec![])),
                3 => json_response("200 OK", &[], &deleted("role_set", "rs_1")),
                _ => json_response("200 OK", &[], &set),
            };
            let server = RawServer::start(vec![first.clone(), Reply::Send(ok)]).await;
            let clerk = client(&server.uri, NORMAL);
            let sets = clerk.role_sets();
            let roles = clerk.organization_roles();
            let result = match operation {
                0 => sets
                    .add_roles("rs_1", AddRoles::new(["org:a".to_owned()]))
                    .await
                    .map(drop),
                1 => sets
                    .replace_role("rs_1", ReplaceRole::new("org:a", "org:b"))
                    .await
                    .map(drop),
                2 => roles.assign_permission("role_1", "perm_1").await.map(drop),
                _ => sets
                    .replace("rs_1", ReplaceRoleSet::new("role_set:other"))
                    .await
                    .map(drop),
            };
            assert_eq!(server.requests(), expected, "operation {operation}");
            assert!(server.seen().iter().all(|seen| seen.method == "POST"));
            assert_eq!(
                result.is_ok(),
                expected == 2,
                "operation {operation}: {result:?}"
            );
        }
    }
}

#[tokio::test]
async fn no_retries_means_one_request() {
    let server = RawServer::start(vec![unavailable()]).await;
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(&server.uri)
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap_err();
    assert_eq!(server.requests(), 1);
    assert_eq!(error.attempts().made, 1);
    assert_eq!(error.attempts().gave_up, None);
    assert!(!error.to_string().contains("attempt"), "{error}");
    assert_eq!(error.trace_id(), Some("8c1f2a-IAD"));
}

#[tokio::test]
async fn a_retry_after_past_the_time_budget_ends_the_call_and_says_so() {
    let wait = Reply::Send(response(
        "429 Too Many Requests",
        &["Retry-After: 5"],
        b"slow down",
    ));
    let server = RawServer::start(vec![wait]).await;
    let policy = fast_retries()
        .max_delay(Duration::from_secs(10))
        .budget(Duration::from_secs(1));
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(&server.uri)
        .retry(policy)
        .build()
        .unwrap();
    let error = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap_err();
    assert_eq!(server.requests(), 1);
    assert!(error.is_rate_limited());
    assert_eq!(error.attempts().made, 1);
    assert_eq!(error.attempts().gave_up, Some(GaveUp::TimeBudget));
    assert!(
        error.to_string().contains("retry time budget ran out"),
        "{error}"
    );
}

#[tokio::test]
async fn more_attempts_when_configured() {
    let server = RawServer::start(vec![unavailable()]).await;
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(&server.uri)
        .retry(fast_retries().max_attempts(5))
        .build()
        .unwrap();
    let error = clerk.role_sets().list().send().await.unwrap_err();
    assert_eq!(server.requests(), 5);
    assert_eq!(error.attempts().made, 5);
    assert!(
        error.to_string().contains("gave up after 5 attempts"),
        "{error}"
    );
}

#[tokio::test]
async fn errors_raised_before_sending_count_no_attempt() {
    let server = RawServer::start(vec![unavailable()]).await;
    let clerk = client(&server.uri, NORMAL);
    let error = clerk.organization_roles().get("..").await.unwrap_err();
    assert!(matches!(error, Error::InvalidRequest(_)));
    assert_eq!(error.attempts().made, 0);
    assert_eq!(server.requests(), 0);
}

#[tokio::test]
async fn a_hung_server_ends_in_a_timeout_error() {
    let server = RawServer::start(vec![Reply::Hang]).await;
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(&server.uri)
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    let error = clerk
        .organization_permissions()
        .get("perm_1")
        .await
        .unwrap_err();
    assert!(error.is_timeout(), "{error:?}");
    assert_eq!(server.requests(), 1);
}

/// A server that asks for a day's wait is not asked again after the policy's 10 s cap: the
/// call ends at once, says why, and keeps the server's wait for the caller.
#[tokio::test]
async fn a_retry_after_longer_than_the_policy_allows_ends_the_call_at_once() {
    for body in [
        serde_json::to_vec(&crate::support::clerk_errors(
            "too_many_requests",
            "Slow down",
            None,
        ))
        .unwrap(),
        b"<html>rate limited by the proxy</html>".to_vec(),
    ] {
        let server = RawServer::start(vec![Reply::Send(response(
            "429 Too Many Requests",
            &["Retry-After: 86400"],
            &body,
        ))])
        .await;
        // The default policy, as users run it.
        let clerk = Clerk::builder()
            .secret_key(SECRET_KEY)
            .base_url(&server.uri)
            .build()
            .unwrap();
        let error = clerk.organization_roles().get("role_1").await.unwrap_err();
        assert_eq!(server.requests(), 1, "asked again before the server's time");
        assert!(error.is_rate_limited(), "{error:?}");
        assert_eq!(error.retry_after(), Some(Duration::from_secs(86_400)));
        assert_eq!(error.attempts().made, 1);
        assert_eq!(error.attempts().gave_up, Some(GaveUp::RetryAfterTooLong));
        let message = error.to_string();
        assert!(message.contains("longer wait"), "{message}");
        assert!(message.contains("86400"), "{message}");
    }
}
