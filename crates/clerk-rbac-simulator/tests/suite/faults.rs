//! Scripted faults: statuses, dropped connections, the ambiguous act-then-drop, delays and
//! seeded random shares, deterministic and in injection order.

use std::time::Duration;

use clerk_rbac::{CreatePermission, CreateRole, RetryPolicy};
use clerk_rbac_simulator::Fault;

use super::support::{builder, no_retries, permission, start, start_with};

#[tokio::test]
async fn a_status_fault_answers_clerks_error_and_does_nothing() {
    let (sim, clerk) = start().await;
    sim.inject(
        Fault::on("POST", "/organization_permissions")
            .status(503)
            .retry_after(Duration::from_secs(2)),
    );
    let err = clerk
        .organization_permissions()
        .create(CreatePermission::new("Read", "org:faults:read"))
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
    assert_eq!(err.code(), Some("maintenance_mode"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
    assert!(err.trace_id().is_some());
    // Nothing was created; the fault is spent, so the same call now works.
    assert!(
        sim.snapshot()
            .permissions
            .iter()
            .all(|p| p.key != "org:faults:read")
    );
    permission(&clerk, "org:faults:read").await;
    let log = sim.requests();
    assert_eq!(
        (log[0].status, log[0].answered, log[0].injected),
        (Some(503), true, true)
    );
    assert_eq!((log[1].status, log[1].injected), (Some(200), false));
}

#[tokio::test]
async fn a_dropped_connection_does_nothing_and_answers_nothing() {
    let (sim, clerk) = start().await;
    sim.inject(Fault::on("POST", "/organization_roles").drop_connection());
    let err = clerk
        .organization_roles()
        .create(CreateRole::new("Dropped", "org:dropped"))
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "no answer arrived: {err}");
    assert!(sim.snapshot().roles.iter().all(|r| r.key != "org:dropped"));
    let log = sim.requests();
    assert_eq!(
        (log[0].status, log[0].answered, log[0].injected),
        (None, false, true)
    );
}

#[tokio::test]
async fn act_then_drop_carries_the_operation_out_but_the_answer_never_arrives() {
    let (sim, clerk) = start().await;
    sim.inject(Fault::on("POST", "/organization_roles").act_then_drop());
    let err = clerk
        .organization_roles()
        .create(CreateRole::new("Ambiguous", "org:ambiguous"))
        .await
        .unwrap_err();
    assert!(err.status().is_none(), "no answer arrived: {err}");
    // The role exists: a caller that retries blindly meets the duplicate.
    assert!(
        sim.snapshot()
            .roles
            .iter()
            .any(|r| r.key == "org:ambiguous")
    );
    let again = clerk
        .organization_roles()
        .create(CreateRole::new("Ambiguous", "org:ambiguous"))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("duplicate_record"));
    let log = sim.requests();
    assert_eq!(
        (log[0].status, log[0].answered, log[0].injected),
        (Some(200), false, true)
    );
}

#[tokio::test]
async fn the_facade_retries_a_dropped_get_but_never_a_dropped_post() {
    let sim = builder().start().await.unwrap();
    let clerk = sim
        .client_builder()
        .retry(RetryPolicy::default().max_delay(Duration::from_millis(5)))
        .build()
        .unwrap();
    sim.inject(Fault::on("GET", "/role_sets").drop_connection());
    clerk.role_sets().get("role_set:default").await.unwrap();
    sim.inject(Fault::on("POST", "/organization_permissions").act_then_drop());
    clerk
        .organization_permissions()
        .create(CreatePermission::new("Once", "org:once:only"))
        .await
        .unwrap_err();
    let posts = sim.requests().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "a POST that may have acted is not sent again");
    assert_eq!(
        sim.requests().iter().filter(|r| r.method == "GET").count(),
        2
    );
}

#[tokio::test]
async fn after_and_times_pick_exactly_which_requests_fail() {
    let (sim, clerk) = start().await;
    sim.inject(
        Fault::on("POST", "/organization_permissions")
            .after(2)
            .times(2)
            .status(500),
    );
    let mut outcomes = Vec::new();
    for i in 0..6 {
        let result = clerk
            .organization_permissions()
            .create(CreatePermission::new("P", format!("org:p:n{i}")))
            .await;
        outcomes.push(result.err().and_then(|e| e.status()).map(|s| s.as_u16()));
    }
    assert_eq!(outcomes, [None, None, Some(500), Some(500), None, None]);
    // GETs never matched the fault and were never counted.
    clerk.role_sets().get("role_set:default").await.unwrap();
}

#[tokio::test]
async fn faults_fire_in_the_order_injected_and_can_be_cleared() {
    let (sim, clerk) = start().await;
    sim.inject(Fault::any().status(502));
    sim.inject(Fault::any().status(504));
    let status = |r: clerk_rbac::Result<clerk_rbac::RoleSet>| {
        r.err().and_then(|e| e.status()).map(|s| s.as_u16())
    };
    assert_eq!(
        status(clerk.role_sets().get("role_set:default").await),
        Some(502)
    );
    assert_eq!(
        status(clerk.role_sets().get("role_set:default").await),
        Some(504)
    );
    assert_eq!(
        status(clerk.role_sets().get("role_set:default").await),
        None
    );
    sim.inject(Fault::any().times(100).status(500));
    sim.clear_faults();
    assert_eq!(
        status(clerk.role_sets().get("role_set:default").await),
        None
    );
}

#[tokio::test(start_paused = true)]
async fn a_delay_holds_the_answer_back() {
    let (sim, clerk) = start().await;
    sim.inject(Fault::on("GET", "/role_sets").delay(Duration::from_secs(5)));
    let started = tokio::time::Instant::now();
    clerk.role_sets().get("role_set:default").await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(sim.requests()[0].injected);
}

#[tokio::test(start_paused = true)]
async fn latency_is_added_to_every_answer() {
    let (_sim, clerk) = start_with(builder().latency(Duration::from_millis(250))).await;
    let started = tokio::time::Instant::now();
    for _ in 0..4 {
        clerk.role_sets().get("role_set:default").await.unwrap();
    }
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_seeded_share_fails_the_same_requests_on_every_run() {
    async fn run() -> Vec<Option<u16>> {
        let (sim, clerk) = start().await;
        sim.inject(Fault::any().share(0.25).seed(7));
        let mut statuses = Vec::new();
        for _ in 0..60 {
            let result = clerk.role_sets().get("role_set:default").await;
            statuses.push(result.err().and_then(|e| e.status()).map(|s| s.as_u16()));
        }
        statuses
    }
    let first = run().await;
    assert_eq!(first, run().await);
    let failures: Vec<u16> = first.iter().flatten().copied().collect();
    assert!(
        (5..30).contains(&failures.len()),
        "{} of 60 failed",
        failures.len()
    );
    assert!(
        failures.iter().all(|s| [429, 500, 502, 503].contains(s)),
        "{failures:?}"
    );
}

#[tokio::test]
async fn an_injected_429_carries_retry_after_and_the_facade_honours_it() {
    let sim = builder().start().await.unwrap();
    sim.inject(Fault::any().status(429).retry_after(Duration::from_secs(1)));
    let clerk = no_retries(&sim);
    let err = clerk.role_sets().get("role_set:default").await.unwrap_err();
    assert!(err.is_rate_limited());
    assert_eq!(err.code(), Some("too_many_requests"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(1)));
}
