//! Path IDs: each fills exactly one URL segment, or the call is refused before sending.

use clerk_rbac::Error;
use wiremock::{Mock, ResponseTemplate, matchers::any};

use crate::support::{self, mock_clerk};

/// The raw path of the single request the server received.
async fn raw_path(server: &wiremock::MockServer) -> String {
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    requests[0].url.path().to_owned()
}

#[tokio::test]
async fn ids_that_would_leave_their_segment_are_percent_encoded() {
    let cases = [
        ("a/b", "a%2Fb"),
        ("x?limit=500", "x%3Flimit=500"),
        ("x#frag", "x%23frag"),
        ("%2e%2e", "%252e%252e"),
        ("with space", "with%20space"),
        ("line\nbreak", "line%0Abreak"),
        ("tab\there", "tab%09here"),
        ("nul\0", "nul%00"),
        ("rôle", "r%C3%B4le"),
        ("role_set:default", "role_set:default"),
    ];
    for (id, encoded) in cases {
        let (server, clerk) = mock_clerk().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(support::role_set("rs_1", "k")))
            .mount(&server)
            .await;
        clerk
            .role_sets()
            .get(id)
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
        assert_eq!(
            raw_path(&server).await,
            format!("/v1/role_sets/{encoded}"),
            "id {id:?}"
        );
    }
}

#[tokio::test]
async fn both_ids_of_a_two_id_path_stay_in_their_segments() {
    let (server, clerk) = mock_clerk().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(support::role("r", "org:r", vec![])))
        .mount(&server)
        .await;
    clerk
        .organization_roles()
        .assign_permission("r/1", "p?2")
        .await
        .unwrap();
    assert_eq!(
        raw_path(&server).await,
        "/v1/organization_roles/r%2F1/permissions/p%3F2"
    );
}

#[tokio::test]
async fn empty_and_dot_ids_are_refused_before_sending() {
    let (server, clerk) = mock_clerk().await;
    for id in ["", ".", ".."] {
        let outcomes = [
            clerk.organization_permissions().get(id).await.map(drop),
            clerk.organization_roles().delete(id).await.map(drop),
            clerk
                .organization_roles()
                .assign_permission("role_1", id)
                .await
                .map(drop),
            clerk
                .organization_roles()
                .remove_permission(id, "perm_1")
                .await
                .map(drop),
            clerk.role_sets().get(id).await.map(drop),
        ];
        for outcome in outcomes {
            let err = outcome.expect_err("must be refused");
            assert!(matches!(err, Error::InvalidRequest(_)), "{id:?}: {err:?}");
            assert!(err.to_string().contains("nothing was sent"), "{err}");
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_out_of_range_limit_is_refused_before_sending() {
    let (server, clerk) = mock_clerk().await;
    for limit in [0, 501] {
        let err = clerk
            .organization_roles()
            .list()
            .limit(limit)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest(ref m) if m.contains("limit")),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn every_byte_that_is_not_a_path_character_is_encoded() {
    let cases = [
        ("a[0]", "a%5B0%5D"),
        ("x^y|z", "x%5Ey%7Cz"),
        ("back\\slash", "back%5Cslash"),
        ("\\..", "%5C.."),
        ("quote\"<tag>`{}", "quote%22%3Ctag%3E%60%7B%7D"),
        // RFC 3986 allows these in a segment as they are.
        ("sub!$&'()*+,;=", "sub!$&'()*+,;="),
        ("user@host:1", "user@host:1"),
        ("tilde~dash-dot.", "tilde~dash-dot."),
    ];
    for (id, encoded) in cases {
        let (server, clerk) = mock_clerk().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(support::role(
                "r",
                "org:r",
                vec![],
            )))
            .mount(&server)
            .await;
        clerk
            .organization_roles()
            .get(id)
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
        assert_eq!(
            raw_path(&server).await,
            format!("/v1/organization_roles/{encoded}"),
            "id {id:?}"
        );
    }
}

#[tokio::test]
async fn an_id_too_long_for_a_url_is_refused_as_input_with_a_short_message() {
    let (server, clerk) = mock_clerk().await;
    let huge = "r".repeat(40 * 1024);
    let outcomes = [
        clerk.organization_permissions().get(&huge).await.map(drop),
        clerk.organization_roles().delete(&huge).await.map(drop),
        clerk
            .organization_roles()
            .assign_permission("role_1", &huge)
            .await
            .map(drop),
        clerk.role_sets().get(&huge).await.map(drop),
    ];
    for outcome in outcomes {
        let err = outcome.expect_err("must be refused");
        assert!(matches!(err, Error::InvalidRequest(_)), "{err:?}");
        assert_eq!(err.attempts().made, 0);
        let message = err.to_string();
        assert!(message.len() < 300, "a {}-byte message", message.len());
        assert!(format!("{err:?}").len() < 300);
        assert!(
            message.contains(&clerk_rbac::MAX_ID_BYTES.to_string()),
            "{message}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
