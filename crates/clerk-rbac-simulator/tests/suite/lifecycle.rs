//! Starting, using and stopping a simulator: the public API end to end.

use std::time::Duration;

use clerk_rbac::{
    AddRoles, CreateRoleSet, ReplaceRole, ReplaceRoleSet, UpdatePermission, UpdateRole,
    UpdateRoleSet,
};
use clerk_rbac_simulator::{Fault, Simulator};

use super::support::{builder, creator_role, permission, role, start, start_with};

#[tokio::test]
async fn every_operation_answers_through_the_facade() {
    let (sim, clerk) = start().await;
    let permissions = clerk.organization_permissions();
    let roles = clerk.organization_roles();
    let sets = clerk.role_sets();

    let read = permission(&clerk, "org:reports:read").await;
    let write = permission(&clerk, "org:reports:write").await;
    assert_eq!(permissions.get(&read.id).await.unwrap(), read);
    let renamed = permissions
        .update(&read.id, UpdatePermission::new().name("Read all reports"))
        .await
        .unwrap();
    assert_eq!(renamed.name, "Read all reports");
    assert_eq!(
        permissions
            .list()
            .query("reports")
            .send()
            .await
            .unwrap()
            .total_count,
        2
    );

    let analyst = role(&clerk, "org:analyst", &[&read.id]).await;
    creator_role(&clerk, "org:lead").await;
    assert_eq!(
        roles.get(&analyst.id).await.unwrap().permissions,
        std::slice::from_ref(&renamed)
    );
    let with_write = roles
        .assign_permission(&analyst.id, &write.id)
        .await
        .unwrap();
    assert_eq!(with_write.permissions.len(), 2);
    let without = roles
        .remove_permission(&analyst.id, &write.id)
        .await
        .unwrap();
    assert_eq!(without.permissions.len(), 1);
    let updated = roles
        .update(&analyst.id, UpdateRole::new().description("Reads reports"))
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("Reads reports"));
    assert_eq!(
        roles
            .list()
            .query("org:")
            .limit(50)
            .send()
            .await
            .unwrap()
            .total_count,
        4
    );

    let team = sets
        .create(
            CreateRoleSet::new("Team", ["org:analyst"], "org:analyst", "org:analyst")
                .key("role_set:team"),
        )
        .await;
    // The analyst cannot create organizations, so it cannot be the creator role.
    assert!(team.is_err());
    let team = sets
        .create(
            CreateRoleSet::new(
                "Team",
                ["org:analyst", "org:lead"],
                "org:analyst",
                "org:lead",
            )
            .key("role_set:team"),
        )
        .await
        .unwrap();
    let spare = sets
        .create(
            CreateRoleSet::new("Spare", ["org:lead"], "org:lead", "org:lead").key("role_set:spare"),
        )
        .await
        .unwrap();
    assert_eq!(
        sets.get(&team.id).await.unwrap(),
        sets.get("role_set:team").await.unwrap()
    );
    let described = sets
        .update(
            "role_set:team",
            UpdateRoleSet::new().description("Analysts and leads"),
        )
        .await
        .unwrap();
    assert_eq!(described.description.as_deref(), Some("Analysts and leads"));
    let grown = sets
        .add_roles("role_set:spare", AddRoles::new(["org:analyst"]))
        .await
        .unwrap();
    assert_eq!(grown.roles.len(), 2);
    let swapped = sets
        .replace_role(
            "role_set:spare",
            ReplaceRole::new("org:analyst", "org:lead"),
        )
        .await
        .unwrap();
    assert_eq!(
        swapped
            .roles
            .iter()
            .map(|r| r.key.as_str())
            .collect::<Vec<_>>(),
        ["org:lead"]
    );
    let replaced = sets
        .replace("role_set:spare", ReplaceRoleSet::new("role_set:team"))
        .await
        .unwrap();
    assert!(replaced.deleted);
    assert_eq!(replaced.id.as_deref(), Some(spare.id.as_str()));
    assert_eq!(sets.list().send().await.unwrap().total_count, 2);

    let deleted = permissions.delete(&write.id).await.unwrap();
    assert!(deleted.deleted);
    let extra = role(&clerk, "org:extra", &[]).await;
    assert!(roles.delete(&extra.id).await.unwrap().deleted);

    // Nineteen operations, every answer a success or the one expected refusal.
    let log = sim.requests();
    let operations: std::collections::BTreeSet<(String, String)> = log
        .iter()
        .map(|r| (r.method.clone(), operation_shape(&r.path)))
        .collect();
    assert_eq!(operations.len(), 19, "{operations:#?}");
    assert!(log.iter().all(|r| r.answered && !r.injected));
    assert_eq!(log.iter().filter(|r| r.status != Some(200)).count(), 1);
}

/// The path template an operation's path fits, for counting operations.
fn operation_shape(path: &str) -> String {
    path.split('/')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 0 && i > 0 && !matches!(part, "permissions" | "roles" | "replace") {
                "{id}"
            } else {
                part
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_request_log_keeps_what_was_asked_and_answered() {
    let (sim, clerk) = start_with(builder().record_exchanges(true)).await;
    let _ = clerk
        .organization_roles()
        .list()
        .query("adm")
        .limit(3)
        .send()
        .await
        .unwrap();
    let _ = clerk
        .organization_roles()
        .get("role_missing")
        .await
        .unwrap_err();
    let created = permission(&clerk, "org:logs:read").await;
    let log = sim.requests();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/organization_roles");
    assert!(
        log[0]
            .query
            .contains(&("query".to_owned(), "adm".to_owned()))
    );
    assert!(log[0].query.contains(&("limit".to_owned(), "3".to_owned())));
    assert_eq!(log[1].status, Some(404));
    assert!(
        log[1]
            .response_body
            .as_deref()
            .unwrap()
            .contains("resource_not_found")
    );
    assert_eq!(
        log[2]
            .request_body
            .as_deref()
            .map(|b| b.contains("org:logs:read")),
        Some(true)
    );
    assert!(
        log[2]
            .response_body
            .as_deref()
            .unwrap()
            .contains(&created.id)
    );

    sim.clear_requests();
    assert!(sim.requests().is_empty());

    // Without record_exchanges, bodies are not kept.
    let (plain, clerk) = start().await;
    permission(&clerk, "org:logs:read").await;
    let log = plain.requests();
    assert_eq!(
        (
            log[0].status,
            log[0].request_body.clone(),
            log[0].response_body.clone()
        ),
        (Some(200), None, None)
    );
}

#[tokio::test]
async fn two_simulators_never_share_ids_unless_seeded_alike() {
    let (a, _) = start().await;
    let (b, _) = start().await;
    let ids = |sim: &Simulator| {
        sim.snapshot()
            .permissions
            .into_iter()
            .map(|p| p.id)
            .collect::<Vec<_>>()
    };
    let (ids_a, ids_b) = (ids(&a), ids(&b));
    assert!(ids_a.iter().all(|id| !ids_b.contains(id)));
    assert_ne!(a.secret_key(), b.secret_key());

    let (c, clerk_c) = start_with(builder().seed(11)).await;
    let (d, clerk_d) = start_with(builder().seed(11)).await;
    let (snap_c, snap_d) = (c.snapshot(), d.snapshot());
    // Everything but the moment each snapshot was taken (the clock runs in real time here).
    assert_eq!(snap_c.instance_id, snap_d.instance_id);
    assert_eq!(snap_c.permissions, snap_d.permissions);
    assert_eq!(snap_c.roles, snap_d.roles);
    assert_eq!(snap_c.role_sets, snap_d.role_sets);
    assert_eq!(c.secret_key(), d.secret_key());
    assert_eq!(
        permission(&clerk_c, "org:a:b").await.id,
        permission(&clerk_d, "org:a:b").await.id
    );
    for id in ids(&c) {
        assert!(id.starts_with("perm_") && id.len() == 32, "{id}");
    }
}

#[tokio::test]
async fn the_client_uses_the_simulators_key_and_base_url() {
    let sim = builder().start().await.unwrap();
    assert!(sim.secret_key().starts_with("sk_test_"));
    // The key stays out of Debug output, the simulator's and its clients' alike.
    for shown in [
        format!("{sim:?}"),
        format!("{:?}", sim.client()),
        format!("{:?}", sim.client_builder()),
    ] {
        assert!(!shown.contains(sim.secret_key()), "{shown}");
    }
    assert_eq!(sim.base_url(), format!("http://{}", sim.addr()));
    assert!(sim.addr().ip().is_loopback());
    // `client()` has the default retry policy: a 503 on a GET is retried and succeeds.
    sim.inject(Fault::on("GET", "/role_sets").status(503));
    let set = sim
        .client()
        .role_sets()
        .get("role_set:default")
        .await
        .unwrap();
    assert_eq!(set.key, "role_set:default");
    assert_eq!(sim.requests().len(), 2);
}

#[tokio::test]
async fn dropping_the_simulator_stops_the_server_and_frees_the_port() {
    let sim = Simulator::start().await.unwrap();
    let addr = sim.addr();
    let clerk = super::support::no_retries(&sim);
    clerk.role_sets().get("role_set:default").await.unwrap();
    drop(sim);
    // The accept task is aborted on drop; give the runtime a moment to run the abort.
    let mut freed = false;
    for _ in 0..100 {
        if std::net::TcpListener::bind(addr).is_ok() {
            freed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(freed, "port {} still taken", addr.port());
    let err = clerk.role_sets().get("role_set:default").await.unwrap_err();
    assert!(err.status().is_none(), "{err}");
}

#[tokio::test]
async fn a_simulator_can_listen_on_a_chosen_port() {
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let sim = builder().port(port).start().await.unwrap();
    assert_eq!(sim.addr().port(), port);
    assert_eq!(sim.base_url(), format!("http://127.0.0.1:{port}"));
    // The same port twice is an I/O error, not a panic.
    let err = builder().port(port).start().await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
}

#[test]
fn the_handles_can_be_shared_across_tasks_and_snapshots_are_plain_data() {
    fn shareable<T: Send + Sync + 'static>() {}
    fn data<
        T: Clone + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
    >() {
    }
    shareable::<Simulator>();
    shareable::<clerk_rbac_simulator::Snapshot>();
    data::<clerk_rbac_simulator::Snapshot>();
    data::<clerk_rbac_simulator::PermissionSnapshot>();
}
