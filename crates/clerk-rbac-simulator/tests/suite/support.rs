//! Helpers for the simulator tests.

#![allow(dead_code)]

use clerk_rbac::{Clerk, CreatePermission, CreateRole, Permission, RetryPolicy, Role};
use clerk_rbac_simulator::{RateLimits, Simulator, SimulatorBuilder};

/// Options most tests use: no rate limit (tests send many requests quickly), instant
/// migrations unless a test says otherwise.
pub fn builder() -> SimulatorBuilder {
    Simulator::builder()
        .rate_limits(RateLimits::off())
        .migration_duration(std::time::Duration::ZERO)
}

/// A simulator with [`builder`]'s options and a client that never retries, so that every call
/// is exactly one request.
pub async fn start() -> (Simulator, Clerk) {
    start_with(builder()).await
}

pub async fn start_with(builder: SimulatorBuilder) -> (Simulator, Clerk) {
    let sim = builder
        .start()
        .await
        .expect("the simulator starts on loopback");
    let clerk = no_retries(&sim);
    (sim, clerk)
}

pub fn no_retries(sim: &Simulator) -> Clerk {
    sim.client_builder()
        .retry(RetryPolicy::none())
        .build()
        .expect("the simulator's client configuration is valid")
}

/// Asserts that `result` failed with Clerk's `status` and error `code`, and returns the error.
#[track_caller]
pub fn refused<T: std::fmt::Debug>(
    result: clerk_rbac::Result<T>,
    status: u16,
    code: &str,
) -> clerk_rbac::Error {
    let err = result.expect_err("the simulator should refuse this");
    assert_eq!(
        err.status().map(|s| s.as_u16()),
        Some(status),
        "status of {err}"
    );
    assert_eq!(err.code(), Some(code), "code of {err}");
    err
}

pub async fn permission(clerk: &Clerk, key: &str) -> Permission {
    clerk
        .organization_permissions()
        .create(CreatePermission::new(format!("Name of {key}"), key))
        .await
        .unwrap_or_else(|e| panic!("creating permission {key}: {e}"))
}

pub async fn role(clerk: &Clerk, key: &str, permission_ids: &[&str]) -> Role {
    clerk
        .organization_roles()
        .create(
            CreateRole::new(format!("Name of {key}"), key)
                .permissions(permission_ids.iter().copied()),
        )
        .await
        .unwrap_or_else(|e| panic!("creating role {key}: {e}"))
}

/// The IDs of the system permissions a creator role needs.
pub async fn creator_permission_ids(clerk: &Clerk) -> Vec<String> {
    let all = clerk
        .organization_permissions()
        .list()
        .query("org:sys_")
        .limit(100)
        .send()
        .await
        .expect("listing system permissions");
    [
        "org:sys_memberships:manage",
        "org:sys_memberships:read",
        "org:sys_profile:delete",
    ]
    .iter()
    .map(|key| {
        all.data
            .iter()
            .find(|p| p.key == *key)
            .unwrap_or_else(|| panic!("{key} is seeded"))
            .id
            .clone()
    })
    .collect()
}

/// A role that may be a creator role: it holds the three required system permissions.
pub async fn creator_role(clerk: &Clerk, key: &str) -> Role {
    let ids = creator_permission_ids(clerk).await;
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    role(clerk, key, &ids).await
}

/// The ID of a permission or role by key, through the API.
pub async fn role_id(clerk: &Clerk, key: &str) -> String {
    let page = clerk
        .organization_roles()
        .list()
        .query(key)
        .limit(500)
        .send()
        .await
        .expect("listing roles");
    page.data
        .into_iter()
        .find(|r| r.key == key)
        .unwrap_or_else(|| panic!("role {key} exists"))
        .id
}

pub async fn permission_id(clerk: &Clerk, key: &str) -> String {
    let page = clerk
        .organization_permissions()
        .list()
        .query(key)
        .limit(500)
        .send()
        .await
        .expect("listing permissions");
    page.data
        .into_iter()
        .find(|p| p.key == key)
        .unwrap_or_else(|| panic!("permission {key} exists"))
        .id
}
