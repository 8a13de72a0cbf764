//! The admin API under `/_simulator/`, over plain HTTP as another language would call it.
//! Every answer (and every body sent) is validated against the admin OpenAPI document the
//! simulator serves, and every answer must be one the document lists for its operation.

use std::collections::{BTreeSet, HashMap};

use clerk_rbac::CreateRole;
use clerk_rbac_simulator::{ADMIN_OPENAPI, INSTANCE_HEADER, RateLimits, Simulator};
use serde_json::{Value, json};

use super::support::{builder, no_retries, refused};

/// An admin client that checks each exchange against the admin document.
struct Admin {
    http: reqwest::Client,
    base: String,
    instance: Option<String>,
    validator: Validator,
}

impl Admin {
    fn new(sim: &Simulator) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: sim.base_url().to_owned(),
            instance: None,
            validator: Validator::new(),
        }
    }

    /// The same client, addressing the instance of `key`.
    fn for_key(&self, key: &str) -> Admin {
        Admin {
            http: self.http.clone(),
            base: self.base.clone(),
            instance: Some(key.to_owned()),
            validator: Validator::new(),
        }
    }

    /// Calls `path` (under `/_simulator`, e.g. `/reset?x=1`) and returns the status and body.
    async fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/_simulator{path}", self.base);
        let mut request = self
            .http
            .request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
        if let Some(key) = &self.instance {
            request = request.header(INSTANCE_HEADER, key);
        }
        let template = format!("/_simulator{}", path.split('?').next().unwrap());
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the admin API answers");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path}: not JSON ({e}): {text}"));
        self.validator
            .check_response(&template, method, status, &value)
            .unwrap_or_else(|e| panic!("{method} {path} -> {status}: {e}\n{value:#}"));
        (status, value)
    }

    async fn ok(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method, path, body).await;
        assert_eq!(status, 200, "{method} {path}: {value}");
        value
    }
}

/// boon, loaded with the admin document (OpenAPI 3.1: its schemas are JSON Schema 2020-12).
struct Validator {
    doc: Value,
    compiler: boon::Compiler,
    schemas: boon::Schemas,
    compiled: HashMap<String, boon::SchemaIndex>,
}

const DOC_URL: &str = "urn:clerk-rbac-simulator:admin";

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

impl Validator {
    fn new() -> Validator {
        let doc: Value = serde_json::from_str(ADMIN_OPENAPI).expect("the admin document is JSON");
        let mut compiler = boon::Compiler::new();
        compiler.set_default_draft(boon::Draft::V2020_12);
        compiler
            .add_resource(DOC_URL, doc.clone())
            .expect("the admin document loads");
        Validator {
            doc,
            compiler,
            schemas: boon::Schemas::new(),
            compiled: HashMap::new(),
        }
    }

    fn operation(&self, template: &str, method: &str) -> Option<&Value> {
        self.doc["paths"]
            .get(template)
            .and_then(|item| item.get(method.to_ascii_lowercase()))
    }

    fn validate_at(&mut self, pointer: &str, instance: &Value) -> Result<(), String> {
        let location = format!("{DOC_URL}#{pointer}");
        let index = match self.compiled.get(&location) {
            Some(index) => *index,
            None => {
                let index = self
                    .compiler
                    .compile(&location, &mut self.schemas)
                    .map_err(|e| format!("{location} does not compile: {e:#}"))?;
                self.compiled.insert(location, index);
                index
            }
        };
        self.schemas
            .validate(instance, index)
            .map_err(|e| format!("{e:#}"))
    }

    /// The answer must be documented for the operation and status, and fit its schema.
    fn check_response(
        &mut self,
        template: &str,
        method: &str,
        status: u16,
        body: &Value,
    ) -> Result<(), String> {
        let Some(operation) = self.operation(template, method) else {
            // Not an operation: only Clerk's error shape, 404 or 405.
            if ![404, 405].contains(&status) {
                return Err(format!("{status} for a path and method the document lacks"));
            }
            return self.validate_at("/components/schemas/Errors", body);
        };
        if operation["responses"].get(status.to_string()).is_none() {
            return Err(format!("status {status} is not documented"));
        }
        let pointer = format!(
            "/paths/{}/{}/responses/{status}/content/application~1json/schema",
            escape(template),
            method.to_ascii_lowercase()
        );
        self.validate_at(&pointer, body)
    }

    fn check_request(&mut self, template: &str, method: &str, body: &Value) -> Result<(), String> {
        let pointer = format!(
            "/paths/{}/{}/requestBody/content/application~1json/schema",
            escape(template),
            method.to_ascii_lowercase()
        );
        self.validate_at(&pointer, body)
    }
}

async fn started() -> (Simulator, Admin) {
    let sim = builder()
        .seed(11)
        .record_exchanges(true)
        .start()
        .await
        .unwrap();
    let admin = Admin::new(&sim);
    (sim, admin)
}

#[tokio::test]
async fn the_admin_document_is_served_and_lists_every_endpoint() {
    let (_sim, mut admin) = started().await;
    let doc = admin.ok("GET", "/openapi.json", None).await;
    assert_eq!(doc, serde_json::from_str::<Value>(ADMIN_OPENAPI).unwrap());
    assert_eq!(doc["openapi"], "3.1.0");
    let operations: BTreeSet<String> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_uppercase()))
        })
        .collect();
    for expected in [
        "POST /_simulator/reset",
        "GET /_simulator/snapshot",
        "PUT /_simulator/snapshot",
        "GET /_simulator/requests",
        "DELETE /_simulator/requests",
        "POST /_simulator/faults",
        "DELETE /_simulator/faults",
        "PUT /_simulator/members",
        "PUT /_simulator/invitations",
        "GET /_simulator/settings",
        "PATCH /_simulator/settings",
        "POST /_simulator/migrations/finish",
        "GET /_simulator/openapi.json",
    ] {
        assert!(
            operations.contains(expected),
            "{expected} is not documented"
        );
    }
    // Every request body the document describes is a schema that compiles and takes an
    // example of what the tests below send.
    let mut validator = Validator::new();
    for (template, method, example) in [
        (
            "/_simulator/faults",
            "POST",
            json!({"method": "POST", "path": "/role_sets", "status": 503, "times": 2}),
        ),
        (
            "/_simulator/members",
            "PUT",
            json!({"role_set": "role_set:default", "role": "org:admin", "count": 3}),
        ),
        (
            "/_simulator/invitations",
            "PUT",
            json!({"role": "org:member", "count": 1}),
        ),
        (
            "/_simulator/settings",
            "PATCH",
            json!({"custom_roles": false, "rate_limits": null}),
        ),
    ] {
        validator
            .check_request(template, method, &example)
            .unwrap_or_else(|e| panic!("{method} {template}: {e}"));
    }
    assert!(
        validator
            .check_request("/_simulator/faults", "POST", &json!({"bogus": 1}))
            .is_err()
    );
}

#[tokio::test]
async fn reset_brings_back_the_start_state_with_the_same_ids_and_clears_the_rest() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    let at_start = admin.ok("GET", "/snapshot", None).await;
    clerk
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor"))
        .await
        .unwrap();
    admin
        .ok(
            "POST",
            "/faults",
            Some(json!({"method": "GET", "status": 503, "times": 5})),
        )
        .await;
    admin
        .ok("PATCH", "/settings", Some(json!({"custom_roles": false})))
        .await;

    let answer = admin.ok("POST", "/reset", None).await;
    assert_eq!(answer, json!({"reset": "instance"}));
    let after = admin.ok("GET", "/snapshot", None).await;
    // As at start: the same objects with the same IDs (timestamps are taken anew).
    assert_eq!(after["instance_id"], at_start["instance_id"]);
    for part in ["permissions", "roles", "role_sets"] {
        let ids = |snapshot: &Value| {
            snapshot[part]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| (o["id"].clone(), o["key"].clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&after), ids(&at_start), "{part}");
    }
    assert_eq!(after["migrations"], json!([]));
    // Faults, the log and the settings went too: this GET is answered, first in the log.
    let roles = clerk.organization_roles().list().send().await.unwrap();
    assert_eq!(roles.total_count, 2);
    assert_eq!(sim.requests().len(), 1);
    assert_eq!(
        admin.ok("GET", "/settings", None).await["custom_roles"],
        true
    );
}

#[tokio::test]
async fn snapshots_go_out_and_come_back_in_and_bad_ones_are_refused() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    let before = admin.ok("GET", "/snapshot", None).await;
    assert_eq!(before["version"], 1);
    clerk
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor"))
        .await
        .unwrap();
    let put = admin.ok("PUT", "/snapshot", Some(before.clone())).await;
    assert_eq!(put["roles"], before["roles"]);
    assert_eq!(sim.snapshot().roles.len(), 2);

    let mut broken = before.clone();
    broken["role_sets"][0]["default_role"] = json!("org:nobody");
    let (status, error) = admin.call("PUT", "/snapshot", Some(broken)).await;
    assert_eq!(
        (status, error["errors"][0]["code"].as_str()),
        (422, Some("invalid_snapshot"))
    );
    let (status, error) = admin
        .call("PUT", "/snapshot", Some(json!({"version": 1})))
        .await;
    assert_eq!(
        (status, error["errors"][0]["code"].as_str()),
        (422, Some("form_param_missing"))
    );
    assert_eq!(
        sim.snapshot().roles.len(),
        2,
        "refused snapshots change nothing"
    );
}

#[tokio::test]
async fn the_request_log_is_filtered_and_shows_no_secret_key() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    clerk.organization_roles().list().send().await.unwrap();
    let refused_role = clerk
        .organization_roles()
        .create(CreateRole::new("Bad", "not-a-key"))
        .await;
    refused(refused_role, 422, "form_param_format_invalid");
    // A key sent where it does not belong is redacted too.
    let leaked = format!("org:{}", sim.secret_key());
    let _ = clerk
        .organization_roles()
        .create(CreateRole::new("Leak", leaked.as_str()))
        .await;

    let all = admin.ok("GET", "/requests", None).await;
    assert_eq!(all["total_count"], 3);
    let text = all.to_string();
    let tail = sim.secret_key().trim_start_matches("sk_test_");
    assert!(
        !text.contains(tail),
        "the secret key shows in the log: {text}"
    );
    assert!(text.contains("sk_test_[redacted]"), "{text}");

    let posts = admin
        .ok("GET", "/requests?method=post&status=422", None)
        .await;
    assert_eq!(posts["total_count"], 2);
    assert!(
        posts["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["method"] == "POST")
    );
    let gets = admin
        .ok(
            "GET",
            "/requests?path=/v1/organization_roles&method=GET",
            None,
        )
        .await;
    assert_eq!(gets["total_count"], 1);
    assert_eq!(gets["data"][0]["status"], 200);
    assert!(gets["data"][0]["response_body"].is_string());
    let none = admin.ok("GET", "/requests?path=/role_sets", None).await;
    assert_eq!(none["total_count"], 0);
    let (status, _) = admin.call("GET", "/requests?status=abc", None).await;
    assert_eq!(status, 422);

    assert_eq!(
        admin.ok("DELETE", "/requests", None).await,
        json!({"cleared": 3})
    );
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn faults_from_the_admin_api_hit_the_next_matching_requests() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    let armed = admin
        .ok(
            "POST",
            "/faults",
            Some(json!({"method": "GET", "path": "/organization_roles", "status": 503, "after": 1, "times": 2, "retry_after_s": 1})),
        )
        .await;
    assert_eq!(armed, json!({"faults": 1}));
    let list = || async { clerk.organization_roles().list().send().await };
    assert!(list().await.is_ok());
    refused(list().await, 503, "maintenance_mode");
    refused(list().await, 503, "maintenance_mode");
    assert!(list().await.is_ok());
    // The other path was never touched.
    assert!(clerk.role_sets().list().send().await.is_ok());

    // act_then_drop: the role exists, but its creation was never answered.
    admin
        .ok(
            "POST",
            "/faults",
            Some(json!({"method": "POST", "action": "act_then_drop"})),
        )
        .await;
    assert!(
        clerk
            .organization_roles()
            .create(CreateRole::new("Ghost", "org:ghost"))
            .await
            .is_err()
    );
    assert!(sim.snapshot().roles.iter().any(|r| r.key == "org:ghost"));
    // drop: nothing done, nothing answered.
    admin
        .ok(
            "POST",
            "/faults",
            Some(json!({"method": "POST", "action": "drop"})),
        )
        .await;
    assert!(
        clerk
            .organization_roles()
            .create(CreateRole::new("Never", "org:never"))
            .await
            .is_err()
    );
    assert!(!sim.snapshot().roles.iter().any(|r| r.key == "org:never"));
    // delay: answered normally, marked as shaped by a fault.
    admin
        .ok(
            "POST",
            "/faults",
            Some(json!({"action": "delay", "delay_ms": 5})),
        )
        .await;
    assert!(list().await.is_ok());
    assert!(sim.requests().last().unwrap().injected);

    let (status, error) = admin
        .call("POST", "/faults", Some(json!({"status": 200})))
        .await;
    assert_eq!(
        (status, error["errors"][0]["meta"]["param_name"].as_str()),
        (422, Some("status"))
    );
    let (status, _) = admin
        .call("POST", "/faults", Some(json!({"when": "now"})))
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        admin.ok("DELETE", "/faults", None).await,
        json!({"cleared": 4})
    );
}

#[tokio::test]
async fn members_and_invitations_keep_roles_from_being_deleted() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    let role = clerk
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor").include_in_initial_role_set(true))
        .await
        .unwrap();
    let body = json!({"role_set": "role_set:default", "role": "org:auditor", "count": 4});
    assert_eq!(admin.ok("PUT", "/members", Some(body.clone())).await, body);
    let set = clerk.role_sets().get("role_set:default").await.unwrap();
    let auditor = set.roles.iter().find(|r| r.key == "org:auditor").unwrap();
    assert_eq!(auditor.members_count, Some(4));
    refused(
        clerk.organization_roles().delete(&role.id).await,
        422,
        "organization_role_in_use",
    );

    admin
        .ok(
            "PUT",
            "/members",
            Some(json!({"role_set": "role_set:default", "role": "org:auditor", "count": 0})),
        )
        .await;
    admin
        .ok(
            "PUT",
            "/invitations",
            Some(json!({"role": "org:auditor", "count": 2})),
        )
        .await;
    let err = refused(
        clerk.organization_roles().delete(&role.id).await,
        422,
        "organization_role_in_use",
    );
    assert!(err.to_string().contains("invitations"), "{err}");
    admin
        .ok(
            "PUT",
            "/invitations",
            Some(json!({"role": "org:auditor", "count": 0})),
        )
        .await;
    assert!(clerk.organization_roles().delete(&role.id).await.is_ok());

    let (status, error) = admin
        .call(
            "PUT",
            "/members",
            Some(json!({"role_set": "role_set:nope", "role": "org:admin", "count": 1})),
        )
        .await;
    assert_eq!(
        (status, error["errors"][0]["code"].as_str()),
        (404, Some("not_in_instance"))
    );
    let (status, _) = admin
        .call(
            "PUT",
            "/invitations",
            Some(json!({"role": "org:ghost", "count": 1})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = admin
        .call(
            "PUT",
            "/invitations",
            Some(json!({"role": "org:admin", "count": -1})),
        )
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn settings_change_the_quotas_and_the_stale_read_window() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    let changed = admin
        .ok(
            "PATCH",
            "/settings",
            Some(json!({"max_custom_roles": 1, "max_role_sets": 1})),
        )
        .await;
    assert_eq!(
        (&changed["max_custom_roles"], &changed["max_role_sets"]),
        (&json!(1), &json!(1))
    );
    clerk
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor"))
        .await
        .unwrap();
    refused(
        clerk
            .organization_roles()
            .create(CreateRole::new("Viewer", "org:viewer"))
            .await,
        422,
        "organization_role_quota_exceeded",
    );
    let settings = clerk.instance().organization_settings().await.unwrap();
    assert_eq!(
        settings.max_allowed_roles, 1,
        "Clerk's own settings say the same"
    );

    // A long window: a role created now is not seen by a list right after.
    admin
        .ok(
            "PATCH",
            "/settings",
            Some(json!({"stale_reads_ms": 600000, "max_custom_roles": 5})),
        )
        .await;
    clerk
        .organization_roles()
        .create(CreateRole::new("Viewer", "org:viewer"))
        .await
        .unwrap();
    let keys = |page: clerk_rbac::Page<clerk_rbac::Role>| -> Vec<String> {
        page.data.into_iter().map(|role| role.key).collect()
    };
    let stale = keys(clerk.organization_roles().list().send().await.unwrap());
    assert!(!stale.contains(&"org:viewer".to_owned()), "{stale:?}");
    // Turned off, reads see the instance as it is at once.
    let off = admin
        .ok("PATCH", "/settings", Some(json!({"stale_reads_ms": 0})))
        .await;
    assert_eq!(off["stale_reads_ms"], 0);
    let fresh = keys(clerk.organization_roles().list().send().await.unwrap());
    assert!(fresh.contains(&"org:viewer".to_owned()), "{fresh:?}");
}

#[tokio::test]
async fn settings_change_the_plan_gate_rate_limits_and_migration_time() {
    let (sim, mut admin) = started().await;
    let clerk = no_retries(&sim);
    let settings = admin.ok("GET", "/settings", None).await;
    assert_eq!(
        settings,
        json!({
            "custom_roles": true,
            "migration_ms": 0,
            "latency_ms": 0,
            "rate_limits": null,
            "max_custom_roles": 10,
            "max_role_sets": 10,
            "stale_reads_ms": 0
        })
    );

    let changed = admin
        .ok(
            "PATCH",
            "/settings",
            Some(json!({"custom_roles": false, "rate_limits": {"development": 2, "production": 5, "window_ms": 60000}})),
        )
        .await;
    assert_eq!(changed["custom_roles"], false);
    assert_eq!(changed["rate_limits"]["development"], 2);
    assert_eq!(changed["migration_ms"], 0, "fields not given stay");
    refused(
        clerk
            .organization_roles()
            .create(CreateRole::new("Auditor", "org:auditor"))
            .await,
        402,
        "unsupported_subscription_plan_features",
    );
    clerk.organization_roles().list().send().await.unwrap();
    refused(
        clerk.organization_roles().list().send().await,
        429,
        "too_many_requests",
    );

    let changed = admin
        .ok(
            "PATCH",
            "/settings",
            Some(json!({"rate_limits": null, "custom_roles": true, "migration_ms": 600000})),
        )
        .await;
    assert_eq!(changed["rate_limits"], Value::Null);
    assert!(clerk.organization_roles().list().send().await.is_ok());
    let (status, _) = admin
        .call("PATCH", "/settings", Some(json!({"quota": 3})))
        .await;
    assert_eq!(status, 422, "unknown settings are refused, not ignored");

    // A replacement now takes ten minutes, unless finished at once.
    let finance = super::support::creator_role(&clerk, "org:owner").await;
    clerk
        .role_sets()
        .create(
            clerk_rbac::CreateRoleSet::new(
                "Finance",
                [finance.key.as_str()],
                &finance.key,
                &finance.key,
            )
            .key("role_set:finance"),
        )
        .await
        .unwrap();
    clerk
        .role_sets()
        .replace(
            "role_set:finance",
            clerk_rbac::ReplaceRoleSet::new("role_set:default"),
        )
        .await
        .unwrap();
    let pending = clerk.role_sets().get("role_set:finance").await.unwrap();
    assert!(pending.role_set_migration.is_some());
    assert_eq!(
        admin.ok("POST", "/migrations/finish", None).await,
        json!({"finished": 1})
    );
    refused(
        clerk.role_sets().get("role_set:finance").await,
        404,
        "resource_not_found",
    );
    assert_eq!(
        admin.ok("POST", "/migrations/finish", None).await,
        json!({"finished": 0})
    );
}

#[tokio::test]
async fn unknown_admin_paths_and_methods_answer_clerks_error_shape() {
    let (sim, mut admin) = started().await;
    let (status, _) = admin.call("GET", "/nothing", None).await;
    assert_eq!(status, 404);
    let (status, error) = admin.call("DELETE", "/snapshot", None).await;
    assert_eq!(status, 405);
    assert_eq!(error["errors"][0]["meta"]["allowed_methods"], "GET, PUT");
    // Admin calls are not logged; they need no key.
    assert!(sim.requests().is_empty());
}

#[tokio::test]
async fn with_one_instance_per_key_each_key_has_its_own_state_limits_and_log() {
    let sim = builder()
        .seed(4)
        .instance_per_key(true)
        .rate_limits(RateLimits::new(3, 3, std::time::Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    let client = |key: &str| {
        sim.client_builder()
            .secret_key(key)
            .retry(clerk_rbac::RetryPolicy::none())
            .build()
            .unwrap()
    };
    let (alice_key, bob_key) = ("sk_test_alice0000000000", "sk_test_bob00000000000");
    let (alice, bob) = (client(alice_key), client(bob_key));
    let mut admin = Admin::new(&sim);
    let mut for_alice = admin.for_key(alice_key);
    let mut for_bob = admin.for_key(bob_key);

    // Seeded before the first API call: the admin call creates the instance.
    for_alice
        .ok(
            "PUT",
            "/invitations",
            Some(json!({"role": "org:member", "count": 1})),
        )
        .await;
    alice
        .organization_roles()
        .create(CreateRole::new("Auditor", "org:auditor"))
        .await
        .unwrap();
    let bobs = bob.organization_roles().list().send().await.unwrap();
    assert_eq!(bobs.total_count, 2, "bob does not see alice's role");
    let alices = alice.organization_roles().list().send().await.unwrap();
    assert_eq!(alices.total_count, 3);
    assert_ne!(
        for_alice.ok("GET", "/snapshot", None).await["instance_id"],
        for_bob.ok("GET", "/snapshot", None).await["instance_id"]
    );
    let alice_member = for_alice.ok("GET", "/snapshot", None).await;
    let bob_member = for_bob.ok("GET", "/snapshot", None).await;
    let invitations = |s: &Value| {
        s["roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["invitations"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        (invitations(&alice_member), invitations(&bob_member)),
        (1, 0)
    );

    alice.role_sets().list().send().await.unwrap();
    // Own rate limit: alice has spent 3 of 3, bob 1 of 3.
    refused(
        alice.organization_roles().list().send().await,
        429,
        "too_many_requests",
    );
    assert!(bob.organization_roles().list().send().await.is_ok());
    // Own log and own faults.
    assert_eq!(for_bob.ok("GET", "/requests", None).await["total_count"], 2);
    assert_eq!(
        for_alice.ok("GET", "/requests", None).await["total_count"],
        4
    );
    for_bob
        .ok("POST", "/faults", Some(json!({"status": 500})))
        .await;
    refused(
        bob.role_sets().list().send().await,
        500,
        "internal_clerk_error",
    );
    // The handle's own key is an instance of its own as well.
    assert!(sim.requests().is_empty());
    assert_eq!(sim.snapshot().roles.len(), 2);

    // Without the header, only reset is allowed; it drops every instance.
    let (status, error) = admin.call("GET", "/snapshot", None).await;
    assert_eq!(
        (status, error["errors"][0]["code"].as_str()),
        (400, Some("instance_required"))
    );
    let (status, _) = admin
        .for_key("not-a-key")
        .call("GET", "/snapshot", None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(
        admin.ok("POST", "/reset", None).await,
        json!({"reset": "all"})
    );
    assert_eq!(
        bob.organization_roles()
            .list()
            .send()
            .await
            .unwrap()
            .total_count,
        2
    );
    assert_eq!(
        alice
            .organization_roles()
            .list()
            .send()
            .await
            .unwrap()
            .total_count,
        2
    );
}
