//! The 20 operations of `openapi/clerk-rbac.json`: one routing table, matched from a request's
//! method and path.

use percent_encoding::percent_decode_str;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    lists::ListQuery,
    state::{State, Wire},
    wire::{Failure, parse_body},
};

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

/// What a handler gets from a request besides the instance.
pub(crate) struct Call<'a> {
    /// The path parameters, decoded, in the order the template names them.
    pub params: Vec<String>,
    /// The query parameters, decoded.
    pub query: &'a [(String, String)],
    /// The request body, read only for operations that take one.
    pub body: &'a [u8],
    /// The instance's clock, in Unix milliseconds.
    pub now: i64,
}

impl Call<'_> {
    /// The `i`th path parameter.
    fn param(&self, i: usize) -> &str {
        self.params.get(i).map_or("", String::as_str)
    }

    /// The body as the operation's request type, refused as Clerk refuses a bad body.
    fn body<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        parse_body(self.body)
    }

    /// The list parameters.
    fn list(&self) -> Result<ListQuery, Failure> {
        ListQuery::parse(self.query)
    }
}

/// Runs an operation on the locked instance: the typed answer, as JSON.
pub(crate) type Handler = fn(&mut State, &Call<'_>) -> Result<Value, Failure>;

/// One operation: how a request reaches it and what runs it (a [`Handler`] for Clerk's API,
/// another handler type for the admin API).
pub(crate) struct Route<H = Handler> {
    /// The fragment's `operationId`.
    pub operation_id: &'static str,
    /// The HTTP method, upper case.
    pub method: &'static str,
    /// The path under `/v1`, with `{name}` for each path parameter, as the fragment writes it.
    pub template: &'static str,
    /// Whether the operation takes a JSON body.
    pub takes_body: bool,
    /// What runs it.
    pub handler: H,
}

impl<H> std::fmt::Debug for Route<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} ({})",
            self.method, self.template, self.operation_id
        )
    }
}

/// A typed answer, as the JSON the simulator sends.
fn out<T: Wire>(answer: Result<T, Failure>) -> Result<Value, Failure> {
    answer.map(|model| model.wire())
}

/// The routing table: every operation of the fragment, once. A test checks it against
/// `clerk_rbac::OPENAPI_FRAGMENT` (same operations, methods, paths and bodies). Handlers
/// resolve the path's objects first (404), then read the body (400/422), then act.
pub(crate) const ROUTES: &[Route] = &[
    Route {
        operation_id: "ListOrganizationPermissions",
        method: "GET",
        template: "/organization_permissions",
        takes_body: false,
        handler: |s, c| out(s.list_permissions(&c.list()?)),
    },
    Route {
        operation_id: "CreateOrganizationPermission",
        method: "POST",
        template: "/organization_permissions",
        takes_body: true,
        handler: |s, c| out(s.create_permission(c.body()?, c.now)),
    },
    Route {
        operation_id: "GetOrganizationPermission",
        method: "GET",
        template: "/organization_permissions/{permission_id}",
        takes_body: false,
        handler: |s, c| out(s.get_permission(s.permission_seq(c.param(0))?)),
    },
    Route {
        operation_id: "UpdateOrganizationPermission",
        method: "PATCH",
        template: "/organization_permissions/{permission_id}",
        takes_body: true,
        handler: |s, c| {
            let seq = s.permission_seq(c.param(0))?;
            out(s.update_permission(seq, c.body()?, c.now))
        },
    },
    Route {
        operation_id: "DeleteOrganizationPermission",
        method: "DELETE",
        template: "/organization_permissions/{permission_id}",
        takes_body: false,
        handler: |s, c| {
            let seq = s.permission_seq(c.param(0))?;
            out(s.delete_permission(seq))
        },
    },
    Route {
        operation_id: "ListOrganizationRoles",
        method: "GET",
        template: "/organization_roles",
        takes_body: false,
        handler: |s, c| out(s.list_roles(&c.list()?)),
    },
    Route {
        operation_id: "CreateOrganizationRole",
        method: "POST",
        template: "/organization_roles",
        takes_body: true,
        handler: |s, c| out(s.create_role(c.body()?, c.now)),
    },
    Route {
        operation_id: "GetOrganizationRole",
        method: "GET",
        template: "/organization_roles/{organization_role_id}",
        takes_body: false,
        handler: |s, c| out(s.get_role(s.role_seq(c.param(0))?)),
    },
    Route {
        operation_id: "UpdateOrganizationRole",
        method: "PATCH",
        template: "/organization_roles/{organization_role_id}",
        takes_body: true,
        handler: |s, c| {
            let seq = s.role_seq(c.param(0))?;
            out(s.update_role(seq, c.body()?, c.now))
        },
    },
    Route {
        operation_id: "DeleteOrganizationRole",
        method: "DELETE",
        template: "/organization_roles/{organization_role_id}",
        takes_body: false,
        handler: |s, c| {
            let seq = s.role_seq(c.param(0))?;
            out(s.delete_role(seq))
        },
    },
    Route {
        operation_id: "AssignPermissionToOrganizationRole",
        method: "POST",
        template: "/organization_roles/{organization_role_id}/permissions/{permission_id}",
        takes_body: false,
        handler: |s, c| {
            let role = s.role_seq(c.param(0))?;
            let permission = s.permission_seq(c.param(1))?;
            out(s.assign_permission(role, permission, c.now))
        },
    },
    Route {
        operation_id: "RemovePermissionFromOrganizationRole",
        method: "DELETE",
        template: "/organization_roles/{organization_role_id}/permissions/{permission_id}",
        takes_body: false,
        handler: |s, c| {
            let role = s.role_seq(c.param(0))?;
            let permission = s.permission_seq(c.param(1))?;
            out(s.remove_permission(role, permission, c.now))
        },
    },
    Route {
        operation_id: "ListRoleSets",
        method: "GET",
        template: "/role_sets",
        takes_body: false,
        handler: |s, c| out(s.list_role_sets(&c.list()?, c.now)),
    },
    Route {
        operation_id: "CreateRoleSet",
        method: "POST",
        template: "/role_sets",
        takes_body: true,
        handler: |s, c| out(s.create_role_set(c.body()?, c.now)),
    },
    Route {
        operation_id: "GetRoleSet",
        method: "GET",
        template: "/role_sets/{role_set_key_or_id}",
        takes_body: false,
        handler: |s, c| out(s.get_role_set(s.set_seq(c.param(0))?, c.now)),
    },
    Route {
        operation_id: "UpdateRoleSet",
        method: "PATCH",
        template: "/role_sets/{role_set_key_or_id}",
        takes_body: true,
        handler: |s, c| {
            let seq = s.set_seq(c.param(0))?;
            out(s.update_role_set(seq, c.body()?, c.now))
        },
    },
    Route {
        operation_id: "ReplaceRoleSet",
        method: "POST",
        template: "/role_sets/{role_set_key_or_id}/replace",
        takes_body: true,
        handler: |s, c| {
            let seq = s.set_seq(c.param(0))?;
            out(s.replace_role_set(seq, c.body()?, c.now))
        },
    },
    Route {
        operation_id: "AddRolesToRoleSet",
        method: "POST",
        template: "/role_sets/{role_set_key_or_id}/roles",
        takes_body: true,
        handler: |s, c| {
            let seq = s.set_seq(c.param(0))?;
            out(s.add_roles(seq, c.body()?, c.now))
        },
    },
    Route {
        operation_id: "GetInstanceOrganizationSettings",
        method: "GET",
        template: "/instance/organization_settings",
        takes_body: false,
        handler: |s, _| s.organization_settings(),
    },
    Route {
        operation_id: "ReplaceRoleInRoleSet",
        method: "POST",
        template: "/role_sets/{role_set_key_or_id}/roles/replace",
        takes_body: true,
        handler: |s, c| {
            let seq = s.set_seq(c.param(0))?;
            out(s.replace_role(seq, c.body()?, c.now))
        },
    },
];

/// Operations the vendored fragment may hold that the simulator does not serve yet: the
/// instance's organization settings (read-only, outside organization RBAC's objects).
#[cfg(test)]
const NOT_SERVED: &[&str] = &[];

/// The order `Allow` lists methods in.
const METHOD_ORDER: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// The path parameters if `segments` fit `template`: literal segments equal, `{...}` any
/// non-empty segment.
fn fit(template: &str, segments: &[String]) -> Option<Vec<String>> {
    let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, segment) in parts.iter().zip(segments) {
        if part.starts_with('{') {
            if segment.is_empty() {
                return None;
            }
            params.push(segment.clone());
        } else if part != segment {
            return None;
        }
    }
    Some(params)
}

/// Matches a method and path to a route of `routes`, with the path parameters. A path that
/// no route has is 404 `resource_not_found` (Clerk's `ResourceNotFound`); a known path with
/// another method is 405 with the methods it takes (assumption: Clerk's answer to a wrong
/// method is not documented).
pub(crate) fn route_in<'r, H>(
    routes: &'r [Route<H>],
    method: &str,
    path: &ApiPath,
    not_found: fn() -> Failure,
) -> Result<(&'r Route<H>, Vec<String>), Failure> {
    let segments = path.segments.as_ref().ok_or_else(not_found)?;
    let mut allowed = Vec::new();
    for route in routes {
        if let Some(params) = fit(route.template, segments) {
            if route.method == method {
                return Ok((route, params));
            }
            allowed.push(route.method);
        }
    }
    if allowed.is_empty() {
        return Err(not_found());
    }
    allowed.sort_by_key(|m| METHOD_ORDER.iter().position(|o| o == m));
    allowed.dedup();
    let allowed = allowed.join(", ");
    Err(Failure::new(
        405,
        "method_not_allowed",
        "method not allowed",
        format!(
            "{method} is not allowed on {}; use {allowed}.",
            path.display
        ),
    )
    .meta("allowed_methods", serde_json::json!(allowed)))
}

/// [`route_in`] the API's [`ROUTES`].
pub(crate) fn route(
    method: &str,
    path: &ApiPath,
) -> Result<(&'static Route, Vec<String>), Failure> {
    route_in(ROUTES, method, path, unknown_route)
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
        let matched = |method: &str, path: &ApiPath| {
            route(method, path).map(|(route, params)| (route.operation_id, params))
        };
        assert_eq!(
            matched("GET", &path),
            Ok(("GetOrganizationRole", vec!["a/b".to_owned()]))
        );
        let dots = split_path("/v1/organization_roles/..");
        assert_eq!(
            matched("GET", &dots),
            Ok(("GetOrganizationRole", vec!["..".to_owned()]))
        );
        let colon = split_path("/v1/role_sets/role_set:default/roles/replace");
        assert_eq!(
            matched("POST", &colon),
            Ok(("ReplaceRoleInRoleSet", vec!["role_set:default".to_owned()]))
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
    fn the_table_holds_each_operation_of_the_fragment_once() {
        let fragment: Value =
            serde_json::from_str(clerk_rbac::OPENAPI_FRAGMENT).expect("the fragment is JSON");
        let mut documented = std::collections::BTreeSet::new();
        for (path, item) in fragment["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("a path item") {
                if !["get", "put", "post", "patch", "delete"].contains(&method.as_str()) {
                    continue;
                }
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
        let served: std::collections::BTreeSet<_> = ROUTES
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
        assert_eq!(served.len(), ROUTES.len(), "an operation is listed twice");
        // Operations of the fragment the simulator does not serve (they answer 404); the
        // contract test keeps its own list and fails once one is served.
        documented.retain(|(id, ..)| !NOT_SERVED.contains(&id.as_str()));
        assert_eq!(served, documented);
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
