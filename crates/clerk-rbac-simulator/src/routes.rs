//! The 20 operations of `openapi/clerk-rbac.json`, matched from a request's method and path.

use percent_encoding::percent_decode_str;

use super::{lists::ListQuery, state::State, wire::Failure};
use serde_json::Value;

/// The spec's server path (`servers[0].url` is `https://api.clerk.com/v1`).
pub(crate) const API_PREFIX: &str = "/v1";

/// A path within the API, split into percent-decoded segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiPath {
    /// The decoded path without `/v1`, for the request log and fault matching.
    pub display: String,
    /// Decoded segments after `/v1`; `None` when the path is not under `/v1` or a segment is
    /// not valid UTF-8 once decoded.
    pub segments: Option<Vec<String>>,
}

/// Splits a raw (still percent-encoded) path. Splitting happens before decoding, so an encoded
/// `/` (`%2F`) stays inside its segment, and `.` or `..` are plain IDs, never resolved.
pub(crate) fn split_path(raw: &str) -> ApiPath {
    let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
    let display = percent_decode_str(raw).decode_utf8_lossy().into_owned();
    let Some(rest) = raw.strip_prefix(API_PREFIX) else {
        return ApiPath {
            display,
            segments: None,
        };
    };
    let display = display
        .strip_prefix(API_PREFIX)
        .map_or(display.clone(), str::to_owned);
    let segments = match rest.strip_prefix('/') {
        Some(rest) => rest
            .split('/')
            .map(decode)
            .collect::<Result<Vec<_>, _>>()
            .ok(),
        // `/v1` alone, or `/v1x...`: not an API path.
        None => None,
    };
    ApiPath { display, segments }
}

/// The query string as decoded pairs (`+` is a space, as in forms).
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    raw.unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// One of the 20 operations, with its path parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    ListPermissions,
    CreatePermission,
    GetPermission(String),
    UpdatePermission(String),
    DeletePermission(String),
    ListRoles,
    CreateRole,
    GetRole(String),
    UpdateRole(String),
    DeleteRole(String),
    AssignPermission(String, String),
    RemovePermission(String, String),
    ListRoleSets,
    CreateRoleSet,
    GetRoleSet(String),
    UpdateRoleSet(String),
    ReplaceRoleSet(String),
    AddRoles(String),
    ReplaceRole(String),
    /// `GET /instance/organization_settings`.
    GetOrganizationSettings,
}

impl Operation {
    /// Whether the operation takes a JSON body.
    pub(crate) fn takes_body(&self) -> bool {
        use Operation::*;
        matches!(
            self,
            CreatePermission
                | UpdatePermission(_)
                | CreateRole
                | UpdateRole(_)
                | CreateRoleSet
                | UpdateRoleSet(_)
                | ReplaceRoleSet(_)
                | AddRoles(_)
                | ReplaceRole(_)
        )
    }

    /// Runs the operation on the instance.
    pub(crate) fn run(
        self,
        state: &mut State,
        query: &[(String, String)],
        body: &[u8],
        now: i64,
    ) -> Result<Value, Failure> {
        use Operation::*;
        match self {
            ListPermissions => state.list_permissions(&ListQuery::parse(query)?),
            CreatePermission => state.create_permission(body, now),
            GetPermission(id) => state.get_permission(&id),
            UpdatePermission(id) => state.update_permission(&id, body, now),
            DeletePermission(id) => state.delete_permission(&id),
            ListRoles => state.list_roles(&ListQuery::parse(query)?),
            CreateRole => state.create_role(body, now),
            GetRole(id) => state.get_role(&id),
            UpdateRole(id) => state.update_role(&id, body, now),
            DeleteRole(id) => state.delete_role(&id),
            AssignPermission(role, permission) => state.assign_permission(&role, &permission, now),
            RemovePermission(role, permission) => state.remove_permission(&role, &permission, now),
            ListRoleSets => state.list_role_sets(&ListQuery::parse(query)?, now),
            CreateRoleSet => state.create_role_set(body, now),
            GetRoleSet(key) => state.get_role_set(&key, now),
            UpdateRoleSet(key) => state.update_role_set(&key, body, now),
            ReplaceRoleSet(key) => state.replace_role_set(&key, body, now),
            AddRoles(key) => state.add_roles(&key, body, now),
            ReplaceRole(key) => state.replace_role(&key, body, now),
            GetOrganizationSettings => state.organization_settings(),
        }
    }
}

/// Matches a method and path to an operation. A path that no operation has is 404
/// `resource_not_found` (Clerk's `ResourceNotFound`); a known path with another method is
/// 405 with the methods it takes (assumption: Clerk's answer to a wrong method is not
/// documented).
pub(crate) fn route(method: &str, path: &ApiPath) -> Result<Operation, Failure> {
    use Operation::*;
    let segments = path.segments.as_ref().ok_or_else(unknown_route)?;
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    // An empty ID (`/organization_roles/`) names nothing.
    if s.len() > 1 && s[1..].iter().any(|part| part.is_empty()) {
        return Err(unknown_route());
    }
    let id = |i: usize| segments[i].clone();
    let (allowed, operation): (&str, Option<Operation>) = match (s.as_slice(), method) {
        (["instance", "organization_settings"], "GET") => ("", Some(GetOrganizationSettings)),
        (["instance", "organization_settings"], _) => ("GET", None),
        (["organization_permissions"], "GET") => ("", Some(ListPermissions)),
        (["organization_permissions"], "POST") => ("", Some(CreatePermission)),
        (["organization_permissions"], _) => ("GET, POST", None),
        (["organization_permissions", _], "GET") => ("", Some(GetPermission(id(1)))),
        (["organization_permissions", _], "PATCH") => ("", Some(UpdatePermission(id(1)))),
        (["organization_permissions", _], "DELETE") => ("", Some(DeletePermission(id(1)))),
        (["organization_permissions", _], _) => ("GET, PATCH, DELETE", None),
        (["organization_roles"], "GET") => ("", Some(ListRoles)),
        (["organization_roles"], "POST") => ("", Some(CreateRole)),
        (["organization_roles"], _) => ("GET, POST", None),
        (["organization_roles", _], "GET") => ("", Some(GetRole(id(1)))),
        (["organization_roles", _], "PATCH") => ("", Some(UpdateRole(id(1)))),
        (["organization_roles", _], "DELETE") => ("", Some(DeleteRole(id(1)))),
        (["organization_roles", _], _) => ("GET, PATCH, DELETE", None),
        (["organization_roles", _, "permissions", _], "POST") => {
            ("", Some(AssignPermission(id(1), id(3))))
        }
        (["organization_roles", _, "permissions", _], "DELETE") => {
            ("", Some(RemovePermission(id(1), id(3))))
        }
        (["organization_roles", _, "permissions", _], _) => ("POST, DELETE", None),
        (["role_sets"], "GET") => ("", Some(ListRoleSets)),
        (["role_sets"], "POST") => ("", Some(CreateRoleSet)),
        (["role_sets"], _) => ("GET, POST", None),
        (["role_sets", _], "GET") => ("", Some(GetRoleSet(id(1)))),
        (["role_sets", _], "PATCH") => ("", Some(UpdateRoleSet(id(1)))),
        (["role_sets", _], _) => ("GET, PATCH", None),
        (["role_sets", _, "replace"], "POST") => ("", Some(ReplaceRoleSet(id(1)))),
        (["role_sets", _, "roles"], "POST") => ("", Some(AddRoles(id(1)))),
        (["role_sets", _, "roles", "replace"], "POST") => ("", Some(ReplaceRole(id(1)))),
        (["role_sets", _, "replace"] | ["role_sets", _, "roles"], _)
        | (["role_sets", _, "roles", "replace"], _) => ("POST", None),
        _ => return Err(unknown_route()),
    };
    operation.ok_or_else(|| {
        Failure::new(
            405,
            "method_not_allowed",
            "method not allowed",
            format!(
                "{method} is not allowed on {}; use {allowed}.",
                path.display
            ),
        )
        .meta("allowed_methods", serde_json::json!(allowed))
    })
}

fn unknown_route() -> Failure {
    Failure::new(
        404,
        "resource_not_found",
        "not found",
        "The simulator serves no such path; organization RBAC paths start with /v1/organization_permissions, /v1/organization_roles or /v1/role_sets.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_slashes_and_dots_stay_inside_their_segment() {
        let path = split_path("/v1/organization_roles/a%2Fb");
        assert_eq!(
            path.segments.as_deref(),
            Some(&["organization_roles".to_owned(), "a/b".to_owned()][..])
        );
        assert_eq!(path.display, "/organization_roles/a/b");
        assert_eq!(route("GET", &path), Ok(Operation::GetRole("a/b".into())));
        let dots = split_path("/v1/organization_roles/..");
        assert_eq!(route("GET", &dots), Ok(Operation::GetRole("..".into())));
        let colon = split_path("/v1/role_sets/role_set:default/roles/replace");
        assert_eq!(
            route("POST", &colon),
            Ok(Operation::ReplaceRole("role_set:default".into()))
        );
    }

    #[test]
    fn unknown_paths_and_methods_are_refused() {
        for raw in [
            "/",
            "/v1",
            "/v1/",
            "/v2/role_sets",
            "/v1x/role_sets",
            "/v1/users",
            "/v1/organization_roles/",
            "/v1/organization_roles/x/permissions",
            "/v1/%FF",
        ] {
            let err = route("GET", &split_path(raw)).unwrap_err();
            assert_eq!((err.status, err.code), (404, "resource_not_found"), "{raw}");
        }
        let err = route("PUT", &split_path("/v1/role_sets/x")).unwrap_err();
        assert_eq!(err.status, 405);
        assert_eq!(err.meta["allowed_methods"], "GET, PATCH");
        assert_eq!(
            route("DELETE", &split_path("/v1/role_sets/x"))
                .unwrap_err()
                .status,
            405
        );
    }

    #[test]
    fn queries_decode_like_forms() {
        assert_eq!(
            query_pairs(Some("order_by=%2Bname&query=a+b&flag&limit=5")),
            vec![
                ("order_by".into(), "+name".into()),
                ("query".into(), "a b".into()),
                ("flag".into(), String::new()),
                ("limit".into(), "5".into()),
            ]
        );
        assert!(query_pairs(None).is_empty());
    }
}
