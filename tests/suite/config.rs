//! Building a client: base URLs, keys, custom HTTP clients, and keeping the key secret.

use clerk_rbac::{Clerk, Error};
use wiremock::{Mock, ResponseTemplate, matchers::any};

use crate::support::{self, SECRET_KEY};

#[tokio::test]
async fn a_trailing_slash_on_the_base_url_is_harmless() {
    let server = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(support::page(vec![], 0)))
        .mount(&server)
        .await;
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(format!("{}/", server.uri()))
        .build()
        .unwrap();
    clerk.role_sets().list().send().await.unwrap();
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].url.path(), "/v1/role_sets");
}

#[tokio::test]
async fn a_custom_http_client_still_gets_the_clerk_headers() {
    let server = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(support::page(vec![], 0)))
        .mount(&server)
        .await;
    let http = reqwest::Client::builder()
        .user_agent("their-agent/1")
        .build()
        .unwrap();
    let clerk = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url(server.uri())
        .http_client(http)
        .build()
        .unwrap();
    clerk.organization_roles().list().send().await.unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {SECRET_KEY}").as_str()
    );
    assert!(
        request.headers["user-agent"]
            .to_str()
            .unwrap()
            .starts_with("clerk-rbac/")
    );
}

#[test]
fn configuration_errors_are_typed_and_send_nothing() {
    let missing = Clerk::builder().build().unwrap_err();
    assert!(matches!(missing, Error::Config(_)), "{missing:?}");
    assert!(matches!(Clerk::new(""), Err(Error::Config(_))));
    let url = Clerk::builder()
        .secret_key(SECRET_KEY)
        .base_url("http://clerk.example.com")
        .build();
    assert!(matches!(url, Err(Error::Config(ref m)) if m.contains("cleartext")));
}

#[test]
fn from_env_needs_a_key() {
    // Tests never set the variable; they only read whatever the environment has.
    match std::env::var_os("CLERK_SECRET_KEY") {
        None => {
            let err = Clerk::from_env().unwrap_err();
            assert!(err.to_string().contains("CLERK_SECRET_KEY"), "{err}");
        }
        Some(_) => assert!(Clerk::from_env().is_ok()),
    }
}

#[test]
fn the_key_never_appears_in_debug_output() {
    let builder = Clerk::builder().secret_key(SECRET_KEY);
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains(SECRET_KEY) && shown.contains("redacted"),
        "{shown}"
    );

    let clerk = builder.base_url("http://127.0.0.1:9").build().unwrap();
    for shown in [
        format!("{clerk:?}"),
        format!("{clerk:#?}"),
        format!("{:?}", clerk.generated()),
    ] {
        assert!(!shown.contains("5uPer53cret"), "{shown}");
    }
}
