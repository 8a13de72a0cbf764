//! Lists: `limit` (1–500, default 10), `offset`, `query` (exact ID, partial name or key),
//! `order_by` on `created_at`, `name` and `key` with `+`/`-`, `total_count`, newest first by
//! default with ties in creation order.

use clerk_rbac::{CreatePermission, Permission};
use futures::TryStreamExt;

use super::support::{builder, refused, start, start_with};

/// Permissions `org:list:p000` ... with names counting down, so that name order and key
/// order differ.
async fn numbered(clerk: &clerk_rbac::Clerk, n: usize) -> Vec<Permission> {
    let mut made = Vec::new();
    for i in 0..n {
        let p = clerk
            .organization_permissions()
            .create(CreatePermission::new(
                format!("Perm {:03}", n - i),
                format!("org:list:p{i:03}"),
            ))
            .await
            .unwrap();
        made.push(p);
    }
    made
}

#[tokio::test]
async fn the_default_page_is_ten_newest_first_with_ties_in_creation_order() {
    // A seeded simulator with a paused-free real clock: several creations share a millisecond,
    // so the order must come from creation order, newest first.
    let (_sim, clerk) = start_with(builder().seed(3)).await;
    let made = numbered(&clerk, 25).await;
    let page = clerk
        .organization_permissions()
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(page.total_count, 34);
    assert_eq!(page.data.len(), 10);
    let expected: Vec<&str> = made.iter().rev().take(10).map(|p| p.key.as_str()).collect();
    assert_eq!(
        page.data.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        expected
    );
    // The seeded system permissions (all created at the same instant) come last, newest first.
    let tail = clerk
        .organization_permissions()
        .list()
        .offset(25)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tail.data.first().map(|p| p.key.as_str()),
        Some("org:sys_entconns:manage")
    );
    assert_eq!(
        tail.data.last().map(|p| p.key.as_str()),
        Some("org:sys_profile:manage")
    );
}

#[tokio::test]
async fn order_by_sorts_on_each_documented_field_both_ways() {
    let (_sim, clerk) = start().await;
    numbered(&clerk, 5).await;
    let keys = |order: &'static str| {
        let clerk = clerk.clone();
        async move {
            clerk
                .organization_permissions()
                .list()
                .query("org:list")
                .order_by(order)
                .send()
                .await
                .unwrap()
                .data
                .into_iter()
                .map(|p| p.key)
                .collect::<Vec<_>>()
        }
    };
    let ascending = [
        "org:list:p000",
        "org:list:p001",
        "org:list:p002",
        "org:list:p003",
        "org:list:p004",
    ];
    let descending: Vec<&str> = ascending.iter().rev().copied().collect();
    assert_eq!(keys("key").await, ascending);
    assert_eq!(keys("+key").await, ascending);
    assert_eq!(keys("-key").await, descending);
    // Names count down as keys count up.
    assert_eq!(keys("+name").await, descending);
    assert_eq!(keys("-name").await, ascending);
    assert_eq!(keys("+created_at").await, ascending);
    assert_eq!(keys("-created_at").await, descending);
    for bad in ["id", "-updated_at", "name desc", "++key"] {
        let err = refused(
            clerk
                .organization_permissions()
                .list()
                .order_by(bad)
                .send()
                .await,
            422,
            "form_param_value_invalid",
        );
        assert_eq!(err.clerk_errors()[0].meta["param_name"], "order_by");
        refused(
            clerk.organization_roles().list().order_by(bad).send().await,
            422,
            "form_param_value_invalid",
        );
        refused(
            clerk.role_sets().list().order_by(bad).send().await,
            422,
            "form_param_value_invalid",
        );
    }
}

#[tokio::test]
async fn query_matches_an_exact_id_or_part_of_a_name_or_key() {
    let (_sim, clerk) = start().await;
    let made = numbered(&clerk, 3).await;
    let count = |q: String| {
        let clerk = clerk.clone();
        async move {
            clerk
                .organization_permissions()
                .list()
                .query(q)
                .send()
                .await
                .unwrap()
                .total_count
        }
    };
    assert_eq!(count(made[1].id.clone()).await, 1);
    // Part of an ID is not a match.
    assert_eq!(count(made[1].id[..10].to_owned()).await, 0);
    assert_eq!(count("p00".into()).await, 3);
    assert_eq!(
        count("PERM 00".into()).await,
        3,
        "partial matches ignore case"
    );
    assert_eq!(count("sys_memberships".into()).await, 2);
    assert_eq!(count("nothing like it".into()).await, 0);
    let roles = clerk
        .organization_roles()
        .list()
        .query("adm")
        .send()
        .await
        .unwrap();
    assert_eq!(
        roles
            .data
            .iter()
            .map(|r| r.key.as_str())
            .collect::<Vec<_>>(),
        ["org:admin"]
    );
    let sets = clerk
        .role_sets()
        .list()
        .query("Primary")
        .send()
        .await
        .unwrap();
    assert_eq!(sets.total_count, 1);
}

#[tokio::test]
async fn limit_and_offset_window_the_list_and_total_count_counts_all_matches() {
    let (_sim, clerk) = start().await;
    numbered(&clerk, 12).await;
    let list = || {
        clerk
            .organization_permissions()
            .list()
            .query("org:list")
            .order_by("key")
    };
    let page = list().limit(5).offset(10).send().await.unwrap();
    assert_eq!(page.total_count, 12);
    assert_eq!(
        page.data.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        ["org:list:p010", "org:list:p011"]
    );
    assert!(list().offset(50).send().await.unwrap().data.is_empty());
    assert_eq!(list().limit(500).send().await.unwrap().data.len(), 12);
    assert_eq!(list().limit(1).send().await.unwrap().data.len(), 1);
}

#[tokio::test]
async fn out_of_range_limits_and_offsets_are_refused() {
    // The facade refuses limit 0 and 501 before sending, so send them by hand.
    let (sim, _) = start().await;
    let http = reqwest::Client::new();
    for (query, code) in [
        ("limit=0", "form_param_value_invalid"),
        ("limit=501", "form_param_value_too_large"),
        ("limit=-1", "form_param_value_invalid"),
        ("limit=ten", "form_param_value_invalid"),
        ("offset=-5", "form_param_value_invalid"),
        ("offset=1e3", "form_param_value_invalid"),
    ] {
        for path in [
            "organization_permissions",
            "organization_roles",
            "role_sets",
        ] {
            let response = http
                .get(format!("{}/v1/{path}?{query}", sim.base_url()))
                .bearer_auth(sim.secret_key())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 422, "{path}?{query}");
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["errors"][0]["code"], code, "{path}?{query}");
        }
    }
}

#[tokio::test]
async fn thousands_of_permissions_stream_without_loss_or_repeats() {
    let (sim, clerk) = start().await;
    // Build the instance directly: 2,500 creations through HTTP would only slow the test.
    let mut snapshot = sim.snapshot();
    let template = snapshot.permissions[0].clone();
    for i in 0..2_500 {
        let mut p = template.clone();
        p.id = format!("perm_bulk{i:05}");
        p.key = format!("org:bulk:p{i:05}");
        p.system = false;
        p.created_at += i64::from(i % 7 == 0);
        snapshot.permissions.push(p);
    }
    sim.restore(&snapshot).unwrap();
    let all: Vec<Permission> = clerk
        .organization_permissions()
        .list()
        .stream()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2_509);
    let mut ids: Vec<&str> = all.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2_509);
    let page = clerk
        .organization_permissions()
        .list()
        .query("bulk")
        .limit(500)
        .offset(2_400)
        .send()
        .await
        .unwrap();
    assert_eq!((page.total_count, page.data.len()), (2_500, 100));
}
