//! Contract tests driven by `openapi/clerk-rbac.json` itself.
//!
//! Each operation of the fragment has a case in [`cases::CASES`]: a few lines saying how the
//! facade calls it. The tests below run every case against a mock Clerk and hold what was sent
//! and what came back to what the fragment says about that operation: method, path template,
//! query parameters and request body (checked by a JSON Schema validator against the
//! fragment's schemas), the Clerk headers, success responses generated from the schemas, and
//! every documented error status. The facade's own request types are compared with the
//! fragment's body schemas through `schemars`.

mod cases;
mod descriptions;
pub(crate) mod fragment;
mod instances;
mod schemas;
mod wire;

use std::collections::BTreeSet;

use clerk_rbac::{
    Clerk, OrganizationSettings, OrganizationSettingsDomainsEnrollmentModesItem, RoleSet,
    RoleSetType,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

use self::{
    cases::{CASES, Call, Case, Outcome, case_for},
    fragment::{Direction, Fragment, Operation, Validator},
    instances::{Shape, generate, lost_values},
};
use crate::support::client_for;

/// A mock Clerk, a client for it, and the fragment with a validator for its schemas.
struct Harness {
    fragment: Fragment,
    validator: Validator,
    server: MockServer,
    clerk: Clerk,
}

impl Harness {
    async fn new() -> Self {
        let fragment = Fragment::load();
        let validator = Validator::new(&fragment);
        let server = MockServer::start().await;
        let clerk = client_for(&server);
        Harness {
            fragment,
            validator,
            server,
            clerk,
        }
    }

    /// Every case with the operation it stands for.
    fn cases(&self) -> Vec<(&'static Case, Operation)> {
        CASES
            .iter()
            .map(|case| (case, self.fragment.operation(case.operation_id)))
            .collect()
    }

    /// Makes `call` against a server that answers anything with `status` and the JSON `body`;
    /// returns the outcome and the requests the server received.
    async fn exchange(&self, call: Call, status: u16, body: &Value) -> (Outcome, Vec<Request>) {
        self.server.reset().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.server)
            .await;
        let outcome = call(self.clerk.clone()).await;
        let requests = self
            .server
            .received_requests()
            .await
            .expect("request recording is on");
        (outcome, requests)
    }

    /// Makes `call` against a server answering 200 with a full instance of the success schema,
    /// and returns the one request sent.
    async fn request_of(&self, operation: &Operation, call: Call) -> Result<Request, String> {
        let answer = generate(
            &self.fragment,
            operation.success_schema(),
            Shape::EveryField,
        );
        let (outcome, mut requests) = self.exchange(call, 200, &answer).await;
        if let Err(e) = outcome {
            return Err(format!("the call failed: {e}"));
        }
        match requests.len() {
            1 => Ok(requests.remove(0)),
            n => Err(format!("{n} requests were sent instead of one")),
        }
    }
}

/// Fails naming every problem, one per line, if there are any.
fn assert_none(problems: &[String], what: &str) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

// ---- coverage ----

#[test]
fn every_operation_in_the_fragment_has_a_contract_case() {
    let fragment = Fragment::load();
    let operations = fragment.operations();
    assert!(!operations.is_empty(), "the fragment lists no operations");
    let missing: Vec<&str> = operations
        .iter()
        .map(|op| op.id.as_str())
        .filter(|id| case_for(id).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "operations of openapi/clerk-rbac.json without a contract case in \
         tests/suite/contract/cases.rs: {}",
        missing.join(", ")
    );
}

#[test]
fn every_case_stands_for_its_own_operation_of_the_fragment() {
    let fragment = Fragment::load();
    let ids: BTreeSet<String> = fragment.operations().into_iter().map(|op| op.id).collect();
    let unknown: Vec<&str> = CASES
        .iter()
        .map(|c| c.operation_id)
        .filter(|id| !ids.contains(*id))
        .collect();
    assert!(
        unknown.is_empty(),
        "cases for operations the fragment does not have: {}",
        unknown.join(", ")
    );
    let mut seen = BTreeSet::new();
    let repeated: Vec<&str> = CASES
        .iter()
        .map(|c| c.operation_id)
        .filter(|id| !seen.insert(*id))
        .collect();
    assert!(
        repeated.is_empty(),
        "operations with more than one case: {}",
        repeated.join(", ")
    );
}

// ---- requests ----

#[tokio::test]
async fn every_call_sends_the_request_its_operation_describes() {
    let mut harness = Harness::new().await;
    let mut problems = Vec::new();
    for (case, operation) in harness.cases() {
        for (variant, call) in case.calls() {
            match harness.request_of(&operation, call).await {
                Ok(request) => {
                    let found = wire::mismatches(
                        &harness.fragment,
                        &mut harness.validator,
                        &operation,
                        case.path,
                        &request,
                    );
                    problems.extend(
                        found
                            .into_iter()
                            .map(|p| format!("{} ({variant}): {p}", operation.id)),
                    );
                }
                Err(e) => problems.push(format!("{} ({variant}): {e}", operation.id)),
            }
        }
    }
    assert_none(
        &problems,
        "requests that do not match their operation in the fragment",
    );
}

#[tokio::test]
async fn minimal_calls_send_only_what_is_required() {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    for (case, operation) in harness.cases() {
        let request = match harness.request_of(&operation, case.minimal).await {
            Ok(request) => request,
            Err(e) => {
                problems.push(format!("{}: {e}", operation.id));
                continue;
            }
        };
        let (query, body) = wire::sent_names(&request);
        let required_query: BTreeSet<String> = operation
            .parameters_in("query")
            .filter(|p| p.required)
            .map(|p| p.name.clone())
            .collect();
        if query != required_query {
            problems.push(format!(
                "{}: query parameters {query:?}, required are {required_query:?}",
                operation.id
            ));
        }
        if let Some(schema) = &operation.request_body {
            let (_, required) = harness.fragment.object_properties(schema);
            let required: BTreeSet<String> = required.into_iter().map(str::to_owned).collect();
            if body != required {
                problems.push(format!(
                    "{}: body properties {body:?}, required are {required:?}",
                    operation.id
                ));
            }
        }
    }
    assert_none(
        &problems,
        "minimal calls that send more or less than what is required",
    );
}

#[tokio::test]
async fn full_calls_send_every_declared_parameter_and_property() {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    for (case, operation) in harness.cases() {
        let request = match harness.request_of(&operation, case.full).await {
            Ok(request) => request,
            Err(e) => {
                problems.push(format!("{}: {e}", operation.id));
                continue;
            }
        };
        let (query, body) = wire::sent_names(&request);
        let declared_query: BTreeSet<String> = operation
            .parameters_in("query")
            .map(|p| p.name.clone())
            .collect();
        if query != declared_query {
            problems.push(format!(
                "{}: query parameters {query:?}, declared are {declared_query:?}",
                operation.id
            ));
        }
        if let Some(schema) = &operation.request_body {
            let (properties, _) = harness.fragment.object_properties(schema);
            let declared: BTreeSet<String> =
                properties.keys().map(|name| (*name).to_owned()).collect();
            if body != declared {
                problems.push(format!(
                    "{}: body properties {body:?}, declared are {declared:?}",
                    operation.id
                ));
            }
        }
    }
    assert_none(
        &problems,
        "full calls that do not exercise every optional argument",
    );
}

#[tokio::test]
async fn every_nullable_body_property_can_be_sent_as_null() {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    for (case, operation) in harness.cases() {
        let Some(schema) = &operation.request_body else {
            continue;
        };
        let (properties, required) = harness.fragment.object_properties(schema);
        // Only optional properties: a create call has to give required ones a value.
        let nullable: BTreeSet<String> = properties
            .iter()
            .filter(|(_, p)| {
                p["nullable"] == true || harness.fragment.resolve(p)["nullable"] == true
            })
            .filter(|(name, _)| !required.contains(name))
            .map(|(name, _)| (*name).to_owned())
            .collect();
        // Create bodies never need to send null: leaving a field out has the same meaning.
        if nullable.is_empty() || operation.method != "PATCH" {
            continue;
        }
        let Some(clearing) = case.clearing else {
            problems.push(format!(
                "{}: no clearing call, yet {nullable:?} are nullable",
                operation.id
            ));
            continue;
        };
        match harness.request_of(&operation, clearing).await {
            Ok(request) => {
                let body: Value = serde_json::from_slice(&request.body).unwrap_or_default();
                let nulls: BTreeSet<String> = body
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(_, v)| v.is_null())
                    .map(|(k, _)| k.clone())
                    .collect();
                if nulls != nullable {
                    problems.push(format!(
                        "{}: sent null for {nulls:?}, nullable are {nullable:?}",
                        operation.id
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: {e}", operation.id)),
        }
    }
    assert_none(
        &problems,
        "updates that cannot clear what the fragment lets them clear",
    );
}

/// The request checks themselves: a request that gets everything wrong is reported on every
/// count.
#[tokio::test]
async fn a_request_that_breaks_the_contract_is_reported() {
    let mut harness = Harness::new().await;
    harness.server.reset().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&harness.server)
        .await;
    let operation = harness.fragment.operation("UpdateOrganizationPermission");
    reqwest::Client::new()
        .post(format!(
            "{}/v1/organization_permissions/perm_1/extra?limit=0",
            harness.server.uri()
        ))
        .header("api-version", "1.0.0")
        .header("content-type", "text/plain")
        .body(r#"{"name": null, "nmae": "typo"}"#)
        .send()
        .await
        .expect("the mock server answers");
    let request = harness.server.received_requests().await.unwrap().remove(0);

    let problems = wire::mismatches(
        &harness.fragment,
        &mut harness.validator,
        &operation,
        &[("permission_id", "perm_2")],
        &request,
    );

    let report = problems.join("\n");
    for expected in [
        "method POST instead of PATCH",
        "has 3 segments, template /organization_permissions/{permission_id} has 2",
        "query parameter `limit` is not declared",
        "Content-Type",
        "does not fit the request-body schema",
        "Authorization",
        "Clerk-API-Version",
        "User-Agent",
        "api-version: 1.0.0",
    ] {
        assert!(
            report.contains(expected),
            "`{expected}` is not reported in:\n{report}"
        );
    }
}

// ---- success responses ----

/// Answers every case's minimal call with a `shape` instance of its success schema; the facade
/// must decode it and keep every declared value.
async fn responses_decode_keeping_their_values(shape: Shape) {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    for (case, operation) in harness.cases() {
        let schema = operation.success_schema();
        let sent = generate(&harness.fragment, schema, shape);
        match harness.exchange(case.minimal, 200, &sent).await.0 {
            Ok(decoded) => {
                let lost = lost_values(&harness.fragment, schema, &sent, Some(&decoded));
                problems.extend(lost.into_iter().map(|p| format!("{}: {p}", operation.id)));
            }
            Err(e) => problems.push(format!("{}: {sent} did not decode: {e}", operation.id)),
        }
    }
    assert_none(&problems, &format!("{shape:?} responses that lose values"));
}

#[tokio::test]
async fn responses_with_only_the_required_fields_decode() {
    responses_decode_keeping_their_values(Shape::RequiredOnly).await;
}

#[tokio::test]
async fn responses_with_every_field_decode() {
    responses_decode_keeping_their_values(Shape::EveryField).await;
}

#[tokio::test]
async fn responses_with_null_in_every_nullable_field_decode() {
    responses_decode_keeping_their_values(Shape::NullWhereNullable).await;
}

#[tokio::test]
async fn responses_with_unknown_properties_and_enum_values_decode() {
    responses_decode_keeping_their_values(Shape::Surprising).await;
}

/// The generator's own check: what it makes fits the schema it was made from (surprising
/// instances aside, which carry undocumented enum values on purpose).
#[tokio::test]
async fn generated_responses_fit_their_schemas() {
    let mut harness = Harness::new().await;
    let mut problems = Vec::new();
    for (_, operation) in harness.cases() {
        let schemas = operation.responses.values();
        for schema in schemas {
            for shape in [
                Shape::RequiredOnly,
                Shape::EveryField,
                Shape::NullWhereNullable,
            ] {
                let instance = generate(&harness.fragment, schema, shape);
                if let Err(e) = harness
                    .validator
                    .validate(schema, Direction::Response, &instance)
                {
                    problems.push(format!("{} {shape:?}: {e}", operation.id));
                }
            }
        }
    }
    assert_none(
        &problems,
        "generated instances that do not fit their schema",
    );
}

#[tokio::test]
async fn instance_settings_keep_quotas_roles_and_unknown_enrollment_modes() {
    let harness = Harness::new().await;
    let case = case_for("GetInstanceOrganizationSettings").expect("the settings have a case");
    let schema = harness.fragment.schema("OrganizationSettings");

    let sent = generate(&harness.fragment, schema, Shape::Surprising);
    let decoded = harness
        .exchange(case.minimal, 200, &sent)
        .await
        .0
        .expect("decodes");
    let settings: OrganizationSettings = serde_json::from_value(decoded).expect("settings");

    assert_eq!(json!(settings.max_allowed_roles), sent["max_allowed_roles"]);
    assert_eq!(
        json!(settings.max_role_sets_allowed),
        sent["max_role_sets_allowed"]
    );
    assert_eq!(settings.creator_role, sent["creator_role"]);
    assert_eq!(settings.domains_default_role, sent["domains_default_role"]);
    assert_eq!(
        json!(settings.initial_role_set_key),
        sent["initial_role_set_key"]
    );
    let mode = sent["domains_enrollment_modes"][0]
        .as_str()
        .expect("a mode was sent");
    assert_eq!(
        settings.domains_enrollment_modes[0],
        OrganizationSettingsDomainsEnrollmentModesItem::Unknown(mode.to_owned())
    );
}

#[tokio::test]
async fn role_sets_keep_timestamps_nested_roles_and_unknown_types() {
    let harness = Harness::new().await;
    let case = case_for("GetRoleSet").expect("GetRoleSet has a case");
    let schema = harness.fragment.schema("RoleSet");

    let sent = generate(&harness.fragment, schema, Shape::Surprising);
    let decoded = harness
        .exchange(case.minimal, 200, &sent)
        .await
        .0
        .expect("decodes");
    let role_set: RoleSet = serde_json::from_value(decoded).expect("a role set");

    assert_eq!(json!(role_set.created_at), sent["created_at"]);
    assert!(
        role_set.created_at > i64::from(u32::MAX),
        "timestamps exceed 32 bits"
    );
    assert_eq!(
        json!(role_set.roles[1].updated_at),
        sent["roles"][1]["updated_at"]
    );
    assert_eq!(role_set.roles[1].key, sent["roles"][1]["key"]);
    let default_role = role_set.default_role.expect("default_role was sent");
    assert_eq!(default_role.id, sent["default_role"]["id"]);
    assert_eq!(
        role_set.type_,
        RoleSetType::Unknown(sent["type"].as_str().unwrap().to_owned())
    );
    let migration = role_set
        .role_set_migration
        .expect("role_set_migration was sent");
    assert_eq!(
        json!(migration.mappings.expect("mappings were sent")),
        sent["role_set_migration"]["mappings"]
    );
}

// ---- error responses ----

#[tokio::test]
async fn documented_error_statuses_come_back_as_clerk_api_errors() {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    let mut checked = 0;
    for (case, operation) in harness.cases() {
        for status in operation.error_statuses() {
            let code = format!("contract_code_{status}");
            let trace_id = format!("trace-{}-{status}", operation.id);
            let mut body = generate(
                &harness.fragment,
                &operation.responses[&status],
                Shape::EveryField,
            );
            body["errors"][0]["code"] = json!(code);
            body["clerk_trace_id"] = json!(trace_id);

            let outcome = harness.exchange(case.minimal, status, &body).await.0;
            let at = format!("{} {status}", operation.id);
            let Err(error) = outcome else {
                problems.push(format!("{at}: the call succeeded"));
                continue;
            };
            checked += 1;
            if !matches!(error, clerk_rbac::Error::Api(_)) {
                problems.push(format!("{at}: not an API error: {error:?}"));
            }
            if error.status() != StatusCode::from_u16(status).ok() {
                problems.push(format!("{at}: status {:?}", error.status()));
            }
            if error.code() != Some(code.as_str()) {
                problems.push(format!("{at}: code {:?}", error.code()));
            }
            if error.trace_id() != Some(trace_id.as_str()) {
                problems.push(format!("{at}: trace id {:?}", error.trace_id()));
            }
        }
    }
    assert_none(
        &problems,
        "documented errors that do not come back as they were sent",
    );
    assert!(
        checked > CASES.len(),
        "only {checked} error statuses were exercised"
    );
}

// ---- the facade's request types against the fragment's body schemas ----

#[test]
fn update_bodies_match_the_fragment() {
    assert_none(
        &schemas::update_body_drift(&Fragment::load()),
        "update bodies that drift from the fragment",
    );
}

#[test]
fn create_bodies_match_the_fragment() {
    assert_none(
        &schemas::create_body_drift(&Fragment::load()),
        "create bodies that drift from the fragment",
    );
}

#[test]
fn every_request_body_of_the_fragment_is_compared() {
    let fragment = Fragment::load();
    let compared = schemas::compared_bodies();
    let uncompared: Vec<String> = fragment
        .operations()
        .into_iter()
        .filter_map(|op| op.request_body)
        .filter_map(|body| {
            body["$ref"]
                .as_str()
                .map(|r| r.rsplit('/').next().unwrap_or(r).to_owned())
        })
        .filter(|name| !compared.contains(&name.as_str()))
        .collect();
    assert!(
        uncompared.is_empty(),
        "request bodies without a schemars comparison: {}",
        uncompared.join(", ")
    );
}

// ---- the schema translation the validator relies on ----

#[test]
fn the_validator_enforces_what_the_fragment_says() {
    let fragment = Fragment::load();
    let mut validator = Validator::new(&fragment);
    let mut check = |schema: &str, direction, instance: Value| {
        validator.validate(
            &json!({"$ref": format!("#/components/schemas/{schema}")}),
            direction,
            &instance,
        )
    };
    use Direction::{Request, Response};

    // nullable: true admits null; its absence does not.
    assert!(
        check(
            "UpdateOrganizationRoleBody",
            Request,
            json!({"description": null})
        )
        .is_ok()
    );
    assert!(
        check(
            "UpdateOrganizationPermissionBody",
            Request,
            json!({"description": null})
        )
        .is_err()
    );
    // A nullable enum admits null and its values, nothing else.
    assert!(check("UpdateRoleSetBody", Request, json!({"type": null})).is_ok());
    assert!(check("UpdateRoleSetBody", Request, json!({"type": "initial"})).is_ok());
    assert!(check("UpdateRoleSetBody", Request, json!({"type": "custom"})).is_err());
    // Required properties and types.
    assert!(
        check(
            "ReplaceRoleInRoleSetBody",
            Request,
            json!({"role_key": "org:a"})
        )
        .is_err()
    );
    assert!(
        check(
            "AddRolesToRoleSetBody",
            Request,
            json!({"role_keys": "org:a"})
        )
        .is_err()
    );
    // Requests are closed, responses open.
    assert!(
        check(
            "UpdateOrganizationPermissionBody",
            Request,
            json!({"nmae": "typo"})
        )
        .is_err()
    );
    let mut permission = generate(&fragment, fragment.schema("Permission"), Shape::EveryField);
    permission["added_later"] = json!(1);
    assert!(check("Permission", Response, permission).is_ok());
    // A nullable $ref (allOf) admits null and the referenced object, not another type.
    let role_set = generate(
        &fragment,
        fragment.schema("RoleSet"),
        Shape::NullWhereNullable,
    );
    assert!(role_set["default_role"].is_null());
    assert!(check("RoleSet", Response, role_set.clone()).is_ok());
    let mut wrong = role_set;
    wrong["default_role"] = json!("org:member");
    assert!(check("RoleSet", Response, wrong).is_err());
    // Query parameter bounds.
    let limit = json!({"$ref": "#/components/parameters/LimitParameter"});
    let limit = fragment.resolve(&limit)["schema"].clone();
    for (value, fits) in [(0, false), (1, true), (500, true), (501, false)] {
        let outcome = validator.validate(&limit, Request, &json!(value));
        assert_eq!(outcome.is_ok(), fits, "limit={value}");
    }
}
