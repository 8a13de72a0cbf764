//! Who may call: any `sk_test_`/`sk_live_` key, refused with 401 otherwise; how often: Clerk's
//! per-key rate limits, answered with 429 and `Retry-After`.

use std::time::Duration;

use clerk_rbac::{Clerk, RetryPolicy};
use clerk_rbac_simulator::RateLimits;

use super::support::{builder, refused, start_with};

async fn raw_get(
    sim: &clerk_rbac_simulator::Simulator,
    authorization: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut request = reqwest::Client::new().get(format!("{}/v1/role_sets", sim.base_url()));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_missing_or_malformed_key_is_refused_with_401() {
    let (sim, _) = start_with(builder()).await;
    for (header, code) in [
        (None, "authorization_header_format_invalid"),
        (Some("sk_test_abc"), "authorization_header_format_invalid"),
        (
            Some("Basic c2tfdGVzdF9hYmM="),
            "authorization_header_format_invalid",
        ),
        (Some("Bearer "), "authorization_header_format_invalid"),
        (Some("Bearer pk_test_abc"), "clerk_key_invalid"),
        (Some("Bearer sk_test_"), "clerk_key_invalid"),
        (Some("Bearer sk_prod_abc"), "clerk_key_invalid"),
    ] {
        let (status, body) = raw_get(&sim, header).await;
        assert_eq!(status, 401, "{header:?}");
        assert_eq!(body["errors"][0]["code"], code, "{header:?}");
        assert!(body["clerk_trace_id"].is_string());
    }
    // Through the facade too.
    let stranger = Clerk::builder()
        .secret_key("not_a_clerk_key")
        .base_url(sim.base_url())
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    refused(
        stranger.role_sets().list().send().await,
        401,
        "clerk_key_invalid",
    );
}

#[tokio::test]
async fn any_development_or_production_key_is_accepted() {
    let (sim, _) = start_with(builder()).await;
    for key in ["sk_test_anything", "sk_live_whatever123", sim.secret_key()] {
        let (status, body) = raw_get(&sim, Some(&format!("Bearer {key}"))).await;
        assert_eq!(status, 200, "{key}");
        assert_eq!(body["total_count"], 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_development_key_gets_100_requests_per_10_seconds() {
    let (sim, _) = start_with(builder().rate_limits(RateLimits::clerk())).await;
    let clerk = sim
        .client_builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for i in 0..100 {
        clerk
            .role_sets()
            .get("role_set:default")
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
    }
    let err = refused(
        clerk.role_sets().get("role_set:default").await,
        429,
        "too_many_requests",
    );
    let wait = err.retry_after().expect("Retry-After");
    assert!(
        wait >= Duration::from_secs(1) && wait <= Duration::from_secs(10),
        "{wait:?}"
    );
    // Other keys have windows of their own; a production key a tenfold limit.
    let other = sim
        .client_builder()
        .secret_key("sk_test_other")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    other.role_sets().get("role_set:default").await.unwrap();
    let live = sim
        .client_builder()
        .secret_key("sk_live_prod")
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for _ in 0..1_000 {
        live.role_sets().get("role_set:default").await.unwrap();
    }
    refused(
        live.role_sets().get("role_set:default").await,
        429,
        "too_many_requests",
    );
    // Once the window has passed, the first key may call again.
    tokio::time::advance(wait).await;
    clerk.role_sets().get("role_set:default").await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn refused_requests_do_not_count_and_the_facade_waits_out_retry_after() {
    let limits = RateLimits::new(3, 30, Duration::from_secs(2));
    let (sim, _) = start_with(builder().rate_limits(limits)).await;
    let strict = sim
        .client_builder()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    for _ in 0..3 {
        strict.role_sets().get("role_set:default").await.unwrap();
    }
    for _ in 0..5 {
        refused(
            strict.role_sets().get("role_set:default").await,
            429,
            "too_many_requests",
        );
    }
    // The default client honours Retry-After and gets through.
    let patient = sim.client();
    let started = tokio::time::Instant::now();
    patient.role_sets().get("role_set:default").await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let log = sim.requests();
    assert_eq!(log.iter().filter(|r| r.status == Some(429)).count(), 6);
}

#[tokio::test]
async fn rate_limits_off_admits_everything() {
    let (sim, clerk) = start_with(builder().rate_limits(RateLimits::off())).await;
    for _ in 0..150 {
        clerk.role_sets().get("role_set:default").await.unwrap();
    }
    assert!(sim.requests().iter().all(|r| r.status == Some(200)));
}
