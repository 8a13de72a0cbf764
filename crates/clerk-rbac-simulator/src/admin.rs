//! The admin API under `/_simulator/`: what a test in any language needs beyond Clerk's API
//! (reset, snapshots, the request log, faults, members and invitations, settings, migrations),
//! described by its own OpenAPI document, [`ADMIN_OPENAPI`].
//!
//! Its calls need no Clerk key. Peers on loopback may always call it; other peers (with the
//! server bound beyond loopback) must send the admin token given at start as
//! `Authorization: Bearer <token>`, and are refused when none was given. Admin calls are not
//! written to the request log and never meet a scripted fault.

use std::{net::IpAddr, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{
    Instance, RateLimits, RecordedRequest, Shared, SimulatorError, Snapshot,
    auth::authenticate,
    faults::Fault,
    routes::{ApiPath, Route, query_pairs, route_in},
    wire::{Failure, parse_body},
};

/// The admin API's OpenAPI document (3.1), served at `GET /_simulator/openapi.json`.
pub const ADMIN_OPENAPI: &str = include_str!("../admin-openapi.json");

/// The path prefix of the admin API.
pub(crate) const ADMIN_PREFIX: &str = "/_simulator";

/// The header that names an instance (by its secret key) with `--instance-per-key`.
pub const INSTANCE_HEADER: &str = "x-simulator-instance";

/// What an admin handler gets.
pub(crate) struct AdminCall<'a> {
    shared: &'a Shared,
    /// The instance addressed; `None` only with one instance per key and no header.
    instance: Option<Arc<Instance>>,
    query: Vec<(String, String)>,
    body: &'a [u8],
}

impl AdminCall<'_> {
    /// The instance addressed, or 400 when one instance per key needs the header.
    fn instance(&self) -> Result<&Instance, Failure> {
        self.instance.as_deref().ok_or_else(|| {
            Failure::new(
                400,
                "instance_required",
                "instance required",
                format!(
                    "This simulator keeps one instance per secret key: name one with the {INSTANCE_HEADER} header."
                ),
            )
        })
    }

    fn body<T: serde::de::DeserializeOwned>(&self) -> Result<T, Failure> {
        parse_body(self.body)
    }
}

/// Runs an admin operation: the answer's JSON body (status 200).
pub(crate) type AdminHandler = fn(&AdminCall<'_>) -> Result<Value, Failure>;

/// The admin routing table; a test checks it against [`ADMIN_OPENAPI`].
pub(crate) const ADMIN_ROUTES: &[Route<AdminHandler>] = &[
    Route {
        operation_id: "GetAdminOpenApi",
        method: "GET",
        template: "/_simulator/openapi.json",
        takes_body: false,
        handler: |_| serde_json::from_str(ADMIN_OPENAPI).map_err(|_| Failure::internal()),
    },
    Route {
        operation_id: "Reset",
        method: "POST",
        template: "/_simulator/reset",
        takes_body: false,
        handler: |c| match &c.instance {
            Some(instance) => {
                instance.reset(&c.shared.start);
                Ok(json!({"reset": "instance"}))
            }
            None => {
                c.shared.reset_all();
                Ok(json!({"reset": "all"}))
            }
        },
    },
    Route {
        operation_id: "GetSnapshot",
        method: "GET",
        template: "/_simulator/snapshot",
        takes_body: false,
        handler: |c| to_value(&c.instance()?.snapshot()),
    },
    Route {
        operation_id: "PutSnapshot",
        method: "PUT",
        template: "/_simulator/snapshot",
        takes_body: true,
        handler: |c| {
            let instance = c.instance()?;
            let snapshot: Snapshot = c.body()?;
            instance.restore(&snapshot).map_err(|e| match e {
                SimulatorError::InvalidSnapshot(reason) => Failure::new(
                    422,
                    "invalid_snapshot",
                    "invalid snapshot",
                    format!(
                        "The snapshot describes no instance the API could have produced: {reason}."
                    ),
                ),
                _ => Failure::internal(),
            })?;
            to_value(&instance.snapshot())
        },
    },
    Route {
        operation_id: "ListRequests",
        method: "GET",
        template: "/_simulator/requests",
        takes_body: false,
        handler: list_requests,
    },
    Route {
        operation_id: "ClearRequests",
        method: "DELETE",
        template: "/_simulator/requests",
        takes_body: false,
        handler: |c| Ok(json!({"cleared": c.instance()?.clear_requests()})),
    },
    Route {
        operation_id: "InjectFault",
        method: "POST",
        template: "/_simulator/faults",
        takes_body: true,
        handler: |c| {
            let instance = c.instance()?;
            let fault = c.body::<FaultSpec>()?.into_fault()?;
            Ok(json!({"faults": instance.inject(fault)}))
        },
    },
    Route {
        operation_id: "ClearFaults",
        method: "DELETE",
        template: "/_simulator/faults",
        takes_body: false,
        handler: |c| Ok(json!({"cleared": c.instance()?.clear_faults()})),
    },
    Route {
        operation_id: "SetMembers",
        method: "PUT",
        template: "/_simulator/members",
        takes_body: true,
        handler: |c| {
            let instance = c.instance()?;
            let members: Members = c.body()?;
            instance
                .state()
                .set_members(&members.role_set, &members.role, members.count)
                .map_err(not_in_instance)?;
            to_value(&members)
        },
    },
    Route {
        operation_id: "SetInvitations",
        method: "PUT",
        template: "/_simulator/invitations",
        takes_body: true,
        handler: |c| {
            let instance = c.instance()?;
            let invitations: Invitations = c.body()?;
            instance
                .state()
                .set_invitations(&invitations.role, invitations.count)
                .map_err(not_in_instance)?;
            to_value(&invitations)
        },
    },
    Route {
        operation_id: "GetSettings",
        method: "GET",
        template: "/_simulator/settings",
        takes_body: false,
        handler: |c| to_value(&Settings::of(c.instance()?)),
    },
    Route {
        operation_id: "UpdateSettings",
        method: "PATCH",
        template: "/_simulator/settings",
        takes_body: true,
        handler: |c| {
            let instance = c.instance()?;
            let update: SettingsUpdate = c.body()?;
            update.apply(instance);
            to_value(&Settings::of(instance))
        },
    },
    Route {
        operation_id: "FinishMigrations",
        method: "POST",
        template: "/_simulator/migrations/finish",
        takes_body: false,
        handler: |c| Ok(json!({"finished": c.instance()?.finish_migrations()})),
    },
];

fn to_value<T: Serialize>(value: &T) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|_| Failure::internal())
}

fn not_in_instance(reason: String) -> Failure {
    Failure::new(404, "not_in_instance", "not found", reason)
}

fn unknown_admin_route() -> Failure {
    Failure::new(
        404,
        "resource_not_found",
        "not found",
        "The admin API has no such path; GET /_simulator/openapi.json describes it.",
    )
}

/// Whether `peer` may call the admin API: loopback always; another peer only with the admin
/// token (401 when it is missing or wrong, 403 when the simulator has none).
pub(crate) fn check_access(
    peer: IpAddr,
    authorization: Option<&[u8]>,
    token: Option<&str>,
) -> Result<(), Failure> {
    if peer.is_loopback() || peer.to_canonical().is_loopback() {
        return Ok(());
    }
    let Some(token) = token else {
        return Err(Failure::new(
            403,
            "admin_forbidden",
            "forbidden",
            "The admin API answers loopback only; start the simulator with --admin-token to reach it from elsewhere.",
        ));
    };
    let presented = authorization
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim);
    if presented.is_some_and(|p| same(p.as_bytes(), token.as_bytes())) {
        Ok(())
    } else {
        Err(Failure::new(
            401,
            "admin_token_invalid",
            "admin token missing or wrong",
            "Send the admin token given at start as `Authorization: Bearer <token>`.",
        ))
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Splits an admin path into decoded segments (from the root, `_simulator` first).
pub(crate) fn split_admin_path(raw: &str) -> ApiPath {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
    };
    let display = percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned();
    let segments = raw.strip_prefix('/').and_then(|rest| {
        rest.split('/')
            .map(decode)
            .collect::<Result<Vec<_>, _>>()
            .ok()
    });
    ApiPath { display, segments }
}

/// Answers one admin request: access, route, instance, handler. `body` is read only for
/// operations that take one (the caller passes a reader).
pub(crate) fn answer(
    shared: &Shared,
    peer: IpAddr,
    method: &str,
    raw_path: &str,
    raw_query: Option<&str>,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<Value, Failure> {
    check_access(
        peer,
        headers
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes),
        shared.admin_token.as_deref(),
    )?;
    let path = split_admin_path(raw_path);
    let (route, _) = route_in(ADMIN_ROUTES, method, &path, unknown_admin_route)?;
    let instance = match headers.get(INSTANCE_HEADER) {
        None => shared.default_instance_for_admin(),
        Some(value) => {
            let header = format!("Bearer {}", String::from_utf8_lossy(value.as_bytes()));
            let (key, _) = authenticate(Some(header.as_bytes())).map_err(|_| {
                Failure::new(
                    400,
                    "instance_invalid",
                    "instance header invalid",
                    format!("{INSTANCE_HEADER} must be a secret key, sk_test_... or sk_live_...."),
                )
            })?;
            Some(shared.instance_for(Some(&key))?)
        }
    };
    let call = AdminCall {
        shared,
        instance,
        query: query_pairs(raw_query),
        body,
    };
    (route.handler)(&call)
}

/// Whether this admin request takes a body (read before [`answer`]).
pub(crate) fn takes_body(method: &str, raw_path: &str) -> bool {
    route_in(
        ADMIN_ROUTES,
        method,
        &split_admin_path(raw_path),
        unknown_admin_route,
    )
    .is_ok_and(|(route, _)| route.takes_body)
}

/// `GET /_simulator/requests`, filtered by `method`, `path` (a prefix) and `status`.
fn list_requests(c: &AdminCall<'_>) -> Result<Value, Failure> {
    let instance = c.instance()?;
    let get = |name: &str| {
        c.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let method = get("method").map(str::to_ascii_uppercase);
    let path = get("path").map(|p| p.strip_prefix("/v1").unwrap_or(p).to_owned());
    let status = match get("status") {
        None => None,
        Some(raw) => Some(raw.trim().parse::<u16>().map_err(|_| {
            Failure::value(
                "status",
                format!("`status` must be an HTTP status, got `{raw}`."),
            )
        })?),
    };
    let data: Vec<Value> = instance
        .requests()
        .iter()
        .filter(|r| method.as_ref().is_none_or(|m| r.method == *m))
        .filter(|r| path.as_ref().is_none_or(|p| r.path.starts_with(p.as_str())))
        .filter(|r| status.is_none_or(|s| r.status == Some(s)))
        .map(logged)
        .collect();
    Ok(json!({"total_count": data.len(), "data": data}))
}

/// A logged request as the admin API shows it, with secret keys redacted.
fn logged(r: &RecordedRequest) -> Value {
    json!({
        "method": r.method,
        "path": redact_keys(&r.path),
        "query": r
            .query
            .iter()
            .map(|(k, v)| [redact_keys(k), redact_keys(v)])
            .collect::<Vec<_>>(),
        "status": r.status,
        "answered": r.answered,
        "injected": r.injected,
        "request_body": r.request_body.as_deref().map(redact_keys),
        "response_body": r.response_body.as_deref().map(redact_keys),
    })
}

/// Replaces what follows `sk_test_` or `sk_live_` (letters, digits, `_`) by `[redacted]`.
pub(crate) fn redact_keys(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next = ["sk_test_", "sk_live_"]
            .iter()
            .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
            .min();
        let Some((at, len)) = next else {
            out.push_str(rest);
            return out;
        };
        out.push_str(&rest[..at + len]);
        let tail = &rest[at + len..];
        let secret = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if secret > 0 {
            out.push_str("[redacted]");
        }
        rest = &tail[secret..];
    }
}

/// A fault as the admin API takes it (see the `Fault` schema of [`ADMIN_OPENAPI`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    method: Option<String>,
    path: Option<String>,
    action: Option<FaultAction>,
    status: Option<u16>,
    delay_ms: Option<u64>,
    retry_after_s: Option<u64>,
    after: Option<u64>,
    times: Option<u64>,
    share: Option<f64>,
    seed: Option<u64>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum FaultAction {
    Status,
    Delay,
    Drop,
    ActThenDrop,
}

impl FaultSpec {
    fn into_fault(self) -> Result<Fault, Failure> {
        let method = self.method.as_deref().unwrap_or("*");
        let mut fault = match &self.path {
            Some(path) => Fault::on(method, path),
            None if method == "*" => Fault::any(),
            None => Fault::on(method, ""),
        };
        if self
            .status
            .is_some_and(|status| !(400..=599).contains(&status))
        {
            return Err(Failure::value(
                "status",
                "`status` must be from 400 to 599.",
            ));
        }
        if let Some(share) = self.share {
            if !(0.0..=1.0).contains(&share) {
                return Err(Failure::value("share", "`share` must be from 0 to 1."));
            }
            fault = fault.share(share).seed(self.seed.unwrap_or(0));
        }
        fault = match self.action.unwrap_or(FaultAction::Status) {
            FaultAction::Status => match self.status {
                Some(status) => fault.status(status),
                None if self.share.is_some() => fault,
                None => fault.status(500),
            },
            FaultAction::Delay => {
                let wait = self.delay_ms.ok_or_else(|| Failure::missing("delay_ms"))?;
                fault.delay(Duration::from_millis(wait))
            }
            FaultAction::Drop => fault.drop_connection(),
            FaultAction::ActThenDrop => fault.act_then_drop(),
        };
        if let Some(seconds) = self.retry_after_s {
            fault = fault.retry_after(Duration::from_secs(seconds));
        }
        if let Some(n) = self.after {
            fault = fault.after(n);
        }
        if let Some(k) = self.times {
            fault = fault.times(k);
        }
        Ok(fault)
    }
}

/// Members holding a role in a role set.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Members {
    role_set: String,
    role: String,
    count: u64,
}

/// Pending invitations offering a role.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Invitations {
    role: String,
    count: u64,
}

/// Rate limits on the wire.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
struct Limits {
    development: u32,
    production: u32,
    window_ms: u64,
}

impl Limits {
    fn of(limits: RateLimits) -> Option<Limits> {
        limits.enabled().then(|| Limits {
            development: limits.development,
            production: limits.production,
            window_ms: u64::try_from(limits.window.as_millis()).unwrap_or(u64::MAX),
        })
    }

    fn into_limits(self) -> RateLimits {
        RateLimits::new(
            self.development,
            self.production,
            Duration::from_millis(self.window_ms),
        )
    }
}

/// An instance's settings (the `Settings` schema).
#[derive(Debug, Serialize)]
struct Settings {
    custom_roles: bool,
    migration_ms: i64,
    latency_ms: u64,
    rate_limits: Option<Limits>,
    max_custom_roles: u32,
    max_role_sets: u32,
    stale_reads_ms: i64,
}

impl Settings {
    fn of(instance: &Instance) -> Settings {
        let rules = instance.state().rules;
        Settings {
            custom_roles: rules.custom_roles,
            migration_ms: rules.migration_ms,
            latency_ms: u64::try_from(instance.latency().as_millis()).unwrap_or(u64::MAX),
            rate_limits: Limits::of(instance.rate_limits()),
            max_custom_roles: rules.quotas.max_custom_roles,
            max_role_sets: rules.quotas.max_role_sets,
            stale_reads_ms: instance.stale().window_ms(),
        }
    }
}

/// A change of settings (the `SettingsUpdate` schema): absent fields stay; `rate_limits: null`
/// turns limiting off.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsUpdate {
    custom_roles: Option<bool>,
    migration_ms: Option<u64>,
    latency_ms: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    rate_limits: Option<Option<Limits>>,
    max_custom_roles: Option<u32>,
    max_role_sets: Option<u32>,
    stale_reads_ms: Option<u64>,
}

/// A field that is present, even as `null`, is `Some`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl SettingsUpdate {
    fn apply(self, instance: &Instance) {
        {
            let mut state = instance.state();
            if let Some(allowed) = self.custom_roles {
                state.rules.custom_roles = allowed;
            }
            if let Some(ms) = self.migration_ms {
                state.rules.migration_ms = i64::try_from(ms).unwrap_or(i64::MAX);
            }
            if let Some(max) = self.max_custom_roles {
                state.rules.quotas.max_custom_roles = max;
            }
            if let Some(max) = self.max_role_sets {
                state.rules.quotas.max_role_sets = max;
            }
            if let Some(ms) = self.stale_reads_ms {
                state.rules.stale_reads_ms = i64::try_from(ms).unwrap_or(i64::MAX);
            }
        }
        // The window itself lives beside the state, under a lock of its own: taken only once
        // the state's is released.
        if let Some(ms) = self.stale_reads_ms {
            instance
                .stale()
                .set_window(i64::try_from(ms).unwrap_or(i64::MAX));
        }
        if let Some(ms) = self.latency_ms {
            instance.set_latency(Duration::from_millis(ms));
        }
        if let Some(limits) = self.rate_limits {
            instance.set_rate_limits(limits.map_or_else(RateLimits::off, Limits::into_limits));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn loopback_needs_no_token_and_others_need_the_right_one() {
        let lo = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let lo6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let mapped = IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        let far = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        for peer in [lo, lo6, mapped] {
            assert!(check_access(peer, None, None).is_ok(), "{peer}");
            assert!(check_access(peer, None, Some("t0ken")).is_ok(), "{peer}");
        }
        let refused = check_access(far, Some(b"Bearer t0ken"), None).unwrap_err();
        assert_eq!((refused.status, refused.code), (403, "admin_forbidden"));
        assert!(check_access(far, Some(b"Bearer t0ken"), Some("t0ken")).is_ok());
        for wrong in [
            None,
            Some(&b"Bearer t0ke"[..]),
            Some(b"t0ken"),
            Some(b"Bearer t0ken2"),
        ] {
            let err = check_access(far, wrong, Some("t0ken")).unwrap_err();
            assert_eq!(
                (err.status, err.code),
                (401, "admin_token_invalid"),
                "{wrong:?}"
            );
            // The token is never quoted back.
            assert!(!err.long_message.contains("t0ken"));
        }
    }

    #[test]
    fn the_table_holds_each_operation_of_the_document_once() {
        let doc: Value = serde_json::from_str(ADMIN_OPENAPI).expect("the document is JSON");
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                documented.insert((
                    operation["operationId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    method.to_uppercase(),
                    path.clone(),
                    operation.get("requestBody").is_some(),
                ));
            }
        }
        let served: std::collections::BTreeSet<_> = ADMIN_ROUTES
            .iter()
            .map(|r| {
                (
                    r.operation_id.to_owned(),
                    r.method.to_owned(),
                    r.template.to_owned(),
                    r.takes_body,
                )
            })
            .collect();
        assert_eq!(
            served.len(),
            ADMIN_ROUTES.len(),
            "an operation is listed twice"
        );
        assert_eq!(served, documented);
        // Under the reserved prefix, apart from Clerk's /v1.
        assert!(
            ADMIN_ROUTES
                .iter()
                .all(|r| r.template.starts_with("/_simulator/"))
        );
    }

    #[test]
    fn secret_keys_are_redacted_wherever_they_appear() {
        assert_eq!(
            redact_keys(r#"{"k":"sk_test_abc123","l":"sk_live_X_9"} sk_test_ sk_test"#),
            r#"{"k":"sk_test_[redacted]","l":"sk_live_[redacted]"} sk_test_ sk_test"#
        );
        assert_eq!(redact_keys("/organization_roles"), "/organization_roles");
    }

    #[test]
    fn faults_from_json_are_checked() {
        let spec = |json: &str| {
            serde_json::from_str::<FaultSpec>(json)
                .unwrap()
                .into_fault()
        };
        assert_eq!(
            spec(r#"{"method":"post","path":"/v1/organization_roles","status":503,"times":2,"after":1}"#)
                .unwrap(),
            Fault::on("POST", "/organization_roles").status(503).times(2).after(1)
        );
        assert_eq!(
            spec(r#"{"action":"drop"}"#).unwrap(),
            Fault::any().drop_connection()
        );
        assert_eq!(
            spec(r#"{"action":"delay","delay_ms":20}"#).unwrap(),
            Fault::any().delay(Duration::from_millis(20))
        );
        assert_eq!(
            spec(r#"{"status":200}"#).unwrap_err().code,
            "form_param_value_invalid"
        );
        assert_eq!(
            spec(r#"{"share":2}"#).unwrap_err().code,
            "form_param_value_invalid"
        );
        assert_eq!(
            spec(r#"{"action":"delay"}"#).unwrap_err().code,
            "form_param_missing"
        );
    }
}
