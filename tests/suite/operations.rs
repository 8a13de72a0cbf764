//! Every one of the 20 operations through the facade, as a table: each row is one facade call,
//! the exact request it must send (method, raw path, query string, JSON body) and what must be
//! true of the value it decodes from a canned answer. The tests below run every row and name
//! each row that fails; a guard keeps one row or more per operation of the fragment.

use std::any::Any;
use std::collections::BTreeSet;
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};

use clerk_rbac::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, CreateRoleSetType, DeletedObject,
    OrganizationSettings, OrganizationSettingsDomainsEnrollmentModesItem as EnrollmentMode, Page,
    Permission, ReplaceRole, ReplaceRoleSet, Role, RoleSet, RoleSetType, RoleSetTypeUpdate,
    UpdatePermission, UpdateRole, UpdateRoleSet,
};
use futures::future::LocalBoxFuture;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::any};

use crate::support::{self, SECRET_KEY, client_for};

/// A facade call; its success value is boxed so that rows of every type fit one table.
type Call = fn(Clerk) -> LocalBoxFuture<'static, clerk_rbac::Result<Box<dyn Any>>>;
/// Checks a decoded value: `Err` says which expectation failed.
type Decodes = fn(&dyn Any) -> Result<(), String>;

/// One facade call and everything it must do on the wire and with the answer.
#[derive(Clone, Copy)]
struct Row {
    /// Names the row in failure messages; unique in the table.
    name: &'static str,
    /// The fragment's `operationId` this call stands for.
    operation_id: &'static str,
    call: Call,
    method: &'static str,
    /// The raw path, percent-encoding and all.
    path: &'static str,
    /// The raw query string, in the order sent; `None` when nothing follows the path.
    query: Option<&'static str>,
    /// The JSON body; `None` when the request has no body (and then no Content-Type).
    body: Option<fn() -> Value>,
    /// What the mock Clerk answers (status 200).
    answer: fn() -> Value,
    /// What must be true of the value the facade decoded from `answer`.
    decodes: Decodes,
}

/// `call!(|clerk| <facade future>)`: a [`Call`].
macro_rules! call {
    (|$clerk:ident| $facade:expr) => {
        |$clerk: Clerk| -> LocalBoxFuture<'static, clerk_rbac::Result<Box<dyn Any>>> {
            Box::pin(async move { $facade.await.map(|value| Box::new(value) as Box<dyn Any>) })
        }
    };
}

/// `decodes!(|value: Type| { same!(..); .. })`: a [`Decodes`] that sees the value as `&Type`.
macro_rules! decodes {
    (|$value:ident: $ty:ty| $checks:block) => {
        |decoded: &dyn Any| -> Result<(), String> {
            let Some($value) = decoded.downcast_ref::<$ty>() else {
                return Err(format!(
                    "the call did not return a {}",
                    std::any::type_name::<$ty>()
                ));
            };
            $checks
            Ok(())
        }
    };
}

/// Inside [`decodes!`]: returns the failure, naming the expression, unless both sides are equal.
macro_rules! same {
    ($actual:expr, $expected:expr) => {
        let (actual, expected) = (&$actual, &$expected);
        if actual != expected {
            return Err(format!(
                "`{}` is {actual:?}, expected {expected:?}",
                stringify!($actual)
            ));
        }
    };
}

fn permission_page() -> Value {
    support::page(
        vec![
            support::permission("perm_1", "org:a:read"),
            support::permission("perm_2", "org:a:write"),
        ],
        7,
    )
}

/// `set` with the `type` of the role set new organizations start from.
fn initial(mut set: Value) -> Value {
    set["type"] = json!("initial");
    set
}

const ROWS: &[Row] = &[
    // ---- organization permissions ----
    Row {
        name: "list permissions with every filter, offset(0) included",
        operation_id: "ListOrganizationPermissions",
        call: call!(|clerk| clerk
            .organization_permissions()
            .list()
            .query("org:a")
            .order_by("-name")
            .limit(2)
            .offset(0)
            .send()),
        method: "GET",
        path: "/v1/organization_permissions",
        query: Some("limit=2&offset=0&order_by=-name&query=org%3Aa"),
        body: None,
        answer: permission_page,
        decodes: decodes!(|page: Page<Permission>| {
            same!(page.total_count, 7);
            let keys: Vec<&str> = page.data.iter().map(|p| p.key.as_str()).collect();
            same!(keys, ["org:a:read", "org:a:write"]);
            same!(page.data[0].created_at, 1_700_000_000_000);
            same!(page.data[0].updated_at, 1_700_000_000_001);
        }),
    },
    Row {
        name: "list permissions without options sends no query",
        operation_id: "ListOrganizationPermissions",
        call: call!(|clerk| clerk.organization_permissions().list().send()),
        method: "GET",
        path: "/v1/organization_permissions",
        query: None,
        body: None,
        answer: || support::page(vec![], 0),
        decodes: decodes!(|page: Page<Permission>| {
            same!(page.data.len(), 0);
            same!(page.total_count, 0);
        }),
    },
    Row {
        name: "create a permission with its description",
        operation_id: "CreateOrganizationPermission",
        call: call!(|clerk| clerk.organization_permissions().create(
            CreatePermission::new("Read invoices", "org:inv:read").description("See invoices")
        )),
        method: "POST",
        path: "/v1/organization_permissions",
        query: None,
        body: Some(
            || json!({"name": "Read invoices", "key": "org:inv:read", "description": "See invoices"}),
        ),
        answer: || support::permission("perm_9", "org:inv:read"),
        decodes: decodes!(|created: Permission| {
            same!(created.id, "perm_9");
            same!(created.key, "org:inv:read");
            same!(created.type_.as_deref(), Some("user"));
        }),
    },
    Row {
        name: "create a permission with only its required fields",
        operation_id: "CreateOrganizationPermission",
        call: call!(|clerk| clerk
            .organization_permissions()
            .create(CreatePermission::new("Read invoices", "org:inv:read"))),
        method: "POST",
        path: "/v1/organization_permissions",
        query: None,
        body: Some(|| json!({"name": "Read invoices", "key": "org:inv:read"})),
        answer: || support::permission("perm_9", "org:inv:read"),
        decodes: decodes!(|created: Permission| {
            same!(created.id, "perm_9");
        }),
    },
    Row {
        name: "get a permission",
        operation_id: "GetOrganizationPermission",
        call: call!(|clerk| clerk.organization_permissions().get("perm_1")),
        method: "GET",
        path: "/v1/organization_permissions/perm_1",
        query: None,
        body: None,
        answer: || support::permission("perm_1", "org:a:read"),
        decodes: decodes!(|permission: Permission| {
            same!(permission.id, "perm_1");
            same!(permission.key, "org:a:read");
            same!(permission.name, "Name of org:a:read");
            same!(permission.description, "");
            same!(permission.object, "permission");
        }),
    },
    Row {
        name: "get a permission whose ID has a space, a slash and a question mark",
        operation_id: "GetOrganizationPermission",
        call: call!(|clerk| clerk.organization_permissions().get("perm 1/x?y")),
        method: "GET",
        path: "/v1/organization_permissions/perm%201%2Fx%3Fy",
        query: None,
        body: None,
        answer: || support::permission("perm 1/x?y", "org:a:read"),
        decodes: decodes!(|permission: Permission| {
            same!(permission.id, "perm 1/x?y");
        }),
    },
    Row {
        name: "update a permission sends only the touched field",
        operation_id: "UpdateOrganizationPermission",
        call: call!(|clerk| clerk
            .organization_permissions()
            .update("perm_1", UpdatePermission::new().key("org:a:list"))),
        method: "PATCH",
        path: "/v1/organization_permissions/perm_1",
        query: None,
        body: Some(|| json!({"key": "org:a:list"})),
        answer: || support::permission("perm_1", "org:a:list"),
        decodes: decodes!(|updated: Permission| {
            same!(updated.key, "org:a:list");
        }),
    },
    Row {
        name: "delete a permission",
        operation_id: "DeleteOrganizationPermission",
        call: call!(|clerk| clerk.organization_permissions().delete("perm_1")),
        method: "DELETE",
        path: "/v1/organization_permissions/perm_1",
        query: None,
        body: None,
        answer: || support::deleted("permission", "perm_1"),
        decodes: decodes!(|deleted: DeletedObject| {
            same!(deleted.deleted, true);
            same!(deleted.id.as_deref(), Some("perm_1"));
            same!(deleted.object, "permission");
        }),
    },
    // ---- organization roles ----
    Row {
        name: "list roles with a large limit and offset, nested permissions decoded",
        operation_id: "ListOrganizationRoles",
        call: call!(|clerk| clerk
            .organization_roles()
            .list()
            .limit(500)
            .offset(1000)
            .send()),
        method: "GET",
        path: "/v1/organization_roles",
        query: Some("limit=500&offset=1000"),
        body: None,
        answer: || {
            let admin = support::role(
                "role_1",
                "org:admin",
                vec![support::permission("perm_1", "org:a:read")],
            );
            support::page(vec![admin], 1)
        },
        decodes: decodes!(|page: Page<Role>| {
            same!(page.total_count, 1);
            same!(page.data[0].key, "org:admin");
            same!(page.data[0].permissions[0].id, "perm_1");
            same!(page.data[0].permissions[0].key, "org:a:read");
        }),
    },
    Row {
        name: "list roles with every filter, offset(0) included",
        operation_id: "ListOrganizationRoles",
        call: call!(|clerk| clerk
            .organization_roles()
            .list()
            .query("admin")
            .order_by("+key")
            .limit(1)
            .offset(0)
            .send()),
        method: "GET",
        path: "/v1/organization_roles",
        query: Some("limit=1&offset=0&order_by=%2Bkey&query=admin"),
        body: None,
        answer: || support::page(vec![], 0),
        decodes: decodes!(|page: Page<Role>| {
            same!(page.data.len(), 0);
        }),
    },
    Row {
        name: "create a role with every option",
        operation_id: "CreateOrganizationRole",
        call: call!(|clerk| clerk.organization_roles().create(
            CreateRole::new("Billing", "org:billing")
                .description("Pays")
                .permissions(["perm_1", "perm_2"])
                .include_in_initial_role_set(false),
        )),
        method: "POST",
        path: "/v1/organization_roles",
        query: None,
        body: Some(|| {
            json!({
                "name": "Billing", "key": "org:billing", "description": "Pays",
                "permissions": ["perm_1", "perm_2"], "include_in_initial_role_set": false
            })
        }),
        answer: || support::role("role_2", "org:billing", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.id, "role_2");
            same!(role.key, "org:billing");
        }),
    },
    Row {
        name: "create a role with include_in_initial_role_set(true)",
        operation_id: "CreateOrganizationRole",
        call: call!(|clerk| clerk
            .organization_roles()
            .create(CreateRole::new("Billing", "org:billing").include_in_initial_role_set(true))),
        method: "POST",
        path: "/v1/organization_roles",
        query: None,
        body: Some(
            || json!({"name": "Billing", "key": "org:billing", "include_in_initial_role_set": true}),
        ),
        answer: || support::role("role_2", "org:billing", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.id, "role_2");
        }),
    },
    Row {
        name: "create a role with only its required fields",
        operation_id: "CreateOrganizationRole",
        call: call!(|clerk| clerk
            .organization_roles()
            .create(CreateRole::new("Billing", "org:billing"))),
        method: "POST",
        path: "/v1/organization_roles",
        query: None,
        body: Some(|| json!({"name": "Billing", "key": "org:billing"})),
        answer: || support::role("role_2", "org:billing", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.key, "org:billing");
            same!(role.permissions.len(), 0);
        }),
    },
    Row {
        name: "get a role",
        operation_id: "GetOrganizationRole",
        call: call!(|clerk| clerk.organization_roles().get("role_1")),
        method: "GET",
        path: "/v1/organization_roles/role_1",
        query: None,
        body: None,
        answer: || support::role("role_1", "org:admin", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.id, "role_1");
            same!(role.is_creator_eligible, true);
            same!(role.description.as_deref(), Some("A role"));
            same!(role.created_at, 1_700_000_000_000);
        }),
    },
    Row {
        name: "update a role clears the description with an explicit null",
        operation_id: "UpdateOrganizationRole",
        call: call!(|clerk| clerk.organization_roles().update(
            "role_1",
            UpdateRole::new().name("Admins").clear_description()
        )),
        method: "PATCH",
        path: "/v1/organization_roles/role_1",
        query: None,
        // Exactly the touched fields: `description` as null, nothing for key or permissions.
        body: Some(|| json!({"name": "Admins", "description": null})),
        answer: || {
            let mut cleared = support::role("role_1", "org:admin", vec![]);
            cleared["description"] = Value::Null;
            cleared
        },
        decodes: decodes!(|role: Role| {
            same!(role.description, None::<String>);
        }),
    },
    Row {
        name: "update a role replaces its permissions with none",
        operation_id: "UpdateOrganizationRole",
        call: call!(|clerk| clerk.organization_roles().update(
            "role_1",
            UpdateRole::new()
                .permissions(Vec::<String>::new())
                .key("org:owner"),
        )),
        method: "PATCH",
        path: "/v1/organization_roles/role_1",
        query: None,
        body: Some(|| json!({"key": "org:owner", "permissions": []})),
        answer: || support::role("role_1", "org:owner", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.key, "org:owner");
            same!(role.permissions.len(), 0);
        }),
    },
    Row {
        name: "delete a role",
        operation_id: "DeleteOrganizationRole",
        call: call!(|clerk| clerk.organization_roles().delete("role_1")),
        method: "DELETE",
        path: "/v1/organization_roles/role_1",
        query: None,
        body: None,
        answer: || support::deleted("role", "role_1"),
        decodes: decodes!(|deleted: DeletedObject| {
            same!(deleted.deleted, true);
            same!(deleted.id.as_deref(), Some("role_1"));
            same!(deleted.object, "role");
        }),
    },
    Row {
        name: "assign a permission to a role",
        operation_id: "AssignPermissionToOrganizationRole",
        call: call!(|clerk| clerk
            .organization_roles()
            .assign_permission("role_1", "perm_7")),
        method: "POST",
        path: "/v1/organization_roles/role_1/permissions/perm_7",
        query: None,
        body: None,
        answer: || {
            support::role(
                "role_1",
                "org:admin",
                vec![support::permission("perm_7", "org:x:y")],
            )
        },
        decodes: decodes!(|role: Role| {
            same!(role.permissions.len(), 1);
            same!(role.permissions[0].id, "perm_7");
        }),
    },
    Row {
        name: "assign a permission, both IDs percent-encoded in their own segments",
        operation_id: "AssignPermissionToOrganizationRole",
        call: call!(|clerk| clerk
            .organization_roles()
            .assign_permission("role#1", "perm/7")),
        method: "POST",
        path: "/v1/organization_roles/role%231/permissions/perm%2F7",
        query: None,
        body: None,
        answer: || support::role("role#1", "org:admin", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.id, "role#1");
        }),
    },
    Row {
        name: "remove a permission from a role",
        operation_id: "RemovePermissionFromOrganizationRole",
        call: call!(|clerk| clerk
            .organization_roles()
            .remove_permission("role_1", "perm_7")),
        method: "DELETE",
        path: "/v1/organization_roles/role_1/permissions/perm_7",
        query: None,
        body: None,
        answer: || support::role("role_1", "org:admin", vec![]),
        decodes: decodes!(|role: Role| {
            same!(role.id, "role_1");
            same!(role.permissions.len(), 0);
        }),
    },
    // ---- role sets ----
    Row {
        name: "list role sets by query, nested roles decoded",
        operation_id: "ListRoleSets",
        call: call!(|clerk| clerk.role_sets().list().query("support").send()),
        method: "GET",
        path: "/v1/role_sets",
        query: Some("query=support"),
        body: None,
        answer: || support::page(vec![support::role_set("rs_1", "role_set:support")], 1),
        decodes: decodes!(|page: Page<RoleSet>| {
            same!(page.total_count, 1);
            let set = &page.data[0];
            same!(set.type_, RoleSetType::Custom);
            same!(set.roles.len(), 2);
            same!(
                set.default_role.as_ref().map(|r| r.key.as_str()),
                Some("org:agent")
            );
            same!(
                set.creator_role.as_ref().map(|r| r.key.as_str()),
                Some("org:lead")
            );
            same!(set.roles[0].members_count, Some(3));
            same!(set.roles[0].has_members, Some(true));
            same!(set.roles[1].key, "org:lead");
            same!(set.role_set_migration.is_none(), true);
        }),
    },
    Row {
        name: "create a role set with every option, type_ included",
        operation_id: "CreateRoleSet",
        call: call!(|clerk| clerk.role_sets().create(
            CreateRoleSet::new(
                "Support",
                ["org:agent", "org:lead"],
                "org:agent",
                "org:lead"
            )
            .key("role_set:support")
            .description("Support teams")
            .type_(CreateRoleSetType::Initial),
        )),
        method: "POST",
        path: "/v1/role_sets",
        query: None,
        body: Some(|| {
            json!({
                "name": "Support", "key": "role_set:support", "description": "Support teams",
                "type": "initial", "roles": ["org:agent", "org:lead"],
                "default_role_key": "org:agent", "creator_role_key": "org:lead"
            })
        }),
        answer: || initial(support::role_set("rs_2", "role_set:support")),
        decodes: decodes!(|set: RoleSet| {
            same!(set.id, "rs_2");
            same!(set.type_, RoleSetType::Initial);
        }),
    },
    Row {
        name: "create a role set with type_(Custom)",
        operation_id: "CreateRoleSet",
        call: call!(|clerk| clerk.role_sets().create(
            CreateRoleSet::new("Support", ["org:agent"], "org:agent", "org:agent")
                .type_(CreateRoleSetType::Custom),
        )),
        method: "POST",
        path: "/v1/role_sets",
        query: None,
        body: Some(|| {
            json!({
                "name": "Support", "type": "custom", "roles": ["org:agent"],
                "default_role_key": "org:agent", "creator_role_key": "org:agent"
            })
        }),
        answer: || support::role_set("rs_2", "role_set:support"),
        decodes: decodes!(|set: RoleSet| {
            same!(set.type_, RoleSetType::Custom);
        }),
    },
    Row {
        name: "create a role set with only its required fields",
        operation_id: "CreateRoleSet",
        call: call!(|clerk| clerk.role_sets().create(CreateRoleSet::new(
            "Support",
            ["org:agent", "org:lead"],
            "org:agent",
            "org:lead"
        ))),
        method: "POST",
        path: "/v1/role_sets",
        query: None,
        body: Some(|| {
            json!({
                "name": "Support", "roles": ["org:agent", "org:lead"],
                "default_role_key": "org:agent", "creator_role_key": "org:lead"
            })
        }),
        answer: || support::role_set("rs_2", "role_set:support"),
        decodes: decodes!(|set: RoleSet| {
            same!(set.id, "rs_2");
        }),
    },
    Row {
        name: "get a role set by key keeps the colon",
        operation_id: "GetRoleSet",
        call: call!(|clerk| clerk.role_sets().get("role_set:default")),
        method: "GET",
        path: "/v1/role_sets/role_set:default",
        query: None,
        body: None,
        answer: || support::role_set("rs_1", "role_set:default"),
        decodes: decodes!(|set: RoleSet| {
            same!(set.key, "role_set:default");
            same!(set.created_at, 1_700_000_000_000);
            same!(set.roles[0].updated_at, 1_700_000_000_001);
        }),
    },
    Row {
        name: "update a role set sends values and nulls as touched",
        operation_id: "UpdateRoleSet",
        call: call!(|clerk| clerk.role_sets().update(
            "rs_1",
            UpdateRoleSet::new()
                .type_(RoleSetTypeUpdate::Initial)
                .creator_role_key("org:lead")
                .clear_description(),
        )),
        method: "PATCH",
        path: "/v1/role_sets/rs_1",
        query: None,
        body: Some(
            || json!({"type": "initial", "creator_role_key": "org:lead", "description": null}),
        ),
        answer: || initial(support::role_set("rs_1", "role_set:support")),
        decodes: decodes!(|set: RoleSet| {
            same!(set.id, "rs_1");
            same!(set.type_, RoleSetType::Initial);
        }),
    },
    Row {
        name: "update a role set clears its type with an explicit null",
        operation_id: "UpdateRoleSet",
        call: call!(|clerk| clerk
            .role_sets()
            .update("rs_1", UpdateRoleSet::new().clear_type())),
        method: "PATCH",
        path: "/v1/role_sets/rs_1",
        query: None,
        body: Some(|| json!({"type": null})),
        answer: || support::role_set("rs_1", "role_set:support"),
        decodes: decodes!(|set: RoleSet| {
            same!(set.id, "rs_1");
        }),
    },
    Row {
        name: "add roles to a role set with its default and creator role",
        operation_id: "AddRolesToRoleSet",
        call: call!(|clerk| clerk.role_sets().add_roles(
            "rs_1",
            AddRoles::new(["org:auditor"])
                .default_role_key("org:auditor")
                .creator_role_key("org:lead"),
        )),
        method: "POST",
        path: "/v1/role_sets/rs_1/roles",
        query: None,
        body: Some(|| {
            json!({
                "role_keys": ["org:auditor"], "default_role_key": "org:auditor",
                "creator_role_key": "org:lead"
            })
        }),
        answer: || support::role_set("rs_1", "role_set:support"),
        decodes: decodes!(|set: RoleSet| {
            same!(set.id, "rs_1");
        }),
    },
    Row {
        name: "replace a role in a role set",
        operation_id: "ReplaceRoleInRoleSet",
        call: call!(|clerk| clerk
            .role_sets()
            .replace_role("rs_1", ReplaceRole::new("org:viewer", "org:member"))),
        method: "POST",
        path: "/v1/role_sets/rs_1/roles/replace",
        query: None,
        body: Some(|| json!({"role_key": "org:viewer", "to_role_key": "org:member"})),
        answer: || support::role_set("rs_1", "role_set:support"),
        decodes: decodes!(|set: RoleSet| {
            same!(set.key, "role_set:support");
        }),
    },
    Row {
        name: "replace a role set with reassignment mappings returns the deleted object",
        operation_id: "ReplaceRoleSet",
        call: call!(|clerk| clerk.role_sets().replace(
            "rs_1",
            ReplaceRoleSet::new("role_set:default")
                .reassign("org:viewer", "org:member")
                .reassign("org:lead", "org:admin"),
        )),
        method: "POST",
        path: "/v1/role_sets/rs_1/replace",
        query: None,
        body: Some(|| {
            json!({
                "dest_role_set_key": "role_set:default",
                "reassignment_mappings": {"org:lead": "org:admin", "org:viewer": "org:member"}
            })
        }),
        answer: || support::deleted("role_set", "rs_1"),
        decodes: decodes!(|deleted: DeletedObject| {
            same!(deleted.deleted, true);
            same!(deleted.id.as_deref(), Some("rs_1"));
            same!(deleted.object, "role_set");
        }),
    },
    Row {
        name: "replace a role set without mappings sends only the destination",
        operation_id: "ReplaceRoleSet",
        call: call!(|clerk| clerk
            .role_sets()
            .replace("role_set:old one", ReplaceRoleSet::new("role_set:default"))),
        method: "POST",
        path: "/v1/role_sets/role_set:old%20one/replace",
        query: None,
        body: Some(|| json!({"dest_role_set_key": "role_set:default"})),
        answer: || support::deleted("role_set", "rs_1"),
        decodes: decodes!(|deleted: DeletedObject| {
            same!(deleted.deleted, true);
        }),
    },
    // ---- the instance ----
    Row {
        name: "read the instance's organization settings",
        operation_id: "GetInstanceOrganizationSettings",
        call: call!(|clerk| clerk.instance().organization_settings()),
        method: "GET",
        path: "/v1/instance/organization_settings",
        query: None,
        body: None,
        answer: organization_settings,
        decodes: decodes!(|settings: OrganizationSettings| {
            same!(settings.max_allowed_roles, 10);
            same!(settings.max_role_sets_allowed, Some(3));
            same!(settings.creator_role, "org:admin");
            same!(settings.domains_default_role, "org:member");
            same!(
                settings.initial_role_set_key.as_deref(),
                Some("role_set:default")
            );
            same!(settings.max_allowed_permissions, None);
            same!(
                settings.domains_enrollment_modes,
                [
                    EnrollmentMode::AutomaticInvitation,
                    EnrollmentMode::Unknown("by_sso".to_owned())
                ]
            );
        }),
    },
    Row {
        name: "organization settings without the optional quotas and initial role set",
        operation_id: "GetInstanceOrganizationSettings",
        call: call!(|clerk| clerk.instance().organization_settings()),
        method: "GET",
        path: "/v1/instance/organization_settings",
        query: None,
        body: None,
        answer: || {
            let mut settings = organization_settings();
            settings["initial_role_set_key"] = Value::Null;
            let fields = settings.as_object_mut().expect("an object");
            fields.remove("max_role_sets_allowed");
            fields.remove("slug_disabled");
            settings
        },
        decodes: decodes!(|settings: OrganizationSettings| {
            same!(settings.max_role_sets_allowed, None);
            same!(settings.initial_role_set_key, None);
            same!(settings.slug_disabled, None);
        }),
    },
];

/// An instance's organization settings as Clerk sends them, with a field this crate does not
/// know (`max_allowed_invitations`) and an enrollment mode it does not know (`by_sso`).
fn organization_settings() -> Value {
    json!({
        "object": "organization_settings",
        "enabled": true,
        "max_allowed_memberships": 5,
        "max_allowed_roles": 10,
        "max_role_sets_allowed": 3,
        "max_allowed_domains": 10,
        "max_allowed_invitations": 100,
        "creator_role": "org:admin",
        "admin_delete_enabled": true,
        "domains_enabled": false,
        "slug_disabled": false,
        "domains_enrollment_modes": ["automatic_invitation", "by_sso"],
        "domains_default_role": "org:member",
        "initial_role_set_key": "role_set:default"
    })
}

// ---- running a row ----

/// A mock Clerk that answers the row being run, and a client for it.
struct Harness {
    server: MockServer,
    clerk: Clerk,
}

impl Harness {
    async fn new() -> Self {
        let server = MockServer::start().await;
        let clerk = client_for(&server);
        Harness { server, clerk }
    }

    /// Makes the row's call against a server that answers anything with the row's answer;
    /// returns the outcome and every request the server received.
    async fn run(&self, row: &Row) -> (clerk_rbac::Result<Box<dyn Any>>, Vec<Request>) {
        self.server.reset().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json((row.answer)()))
            .mount(&self.server)
            .await;
        let outcome = (row.call)(self.clerk.clone()).await;
        let requests = self
            .server
            .received_requests()
            .await
            .expect("request recording is on");
        (outcome, requests)
    }

    /// How what the row's call sent differs from what the row says it sends.
    async fn request_problems(&self, row: &Row) -> Vec<String> {
        let (outcome, requests) = self.run(row).await;
        let problems = match requests.as_slice() {
            [request] => wire_problems(row, request),
            _ => vec![format!(
                "{} requests were sent instead of one (the call gave {})",
                requests.len(),
                outcome.map_or_else(|e| format!("the error {e}"), |_| "a value".into())
            )],
        };
        named(row, problems)
    }

    /// How the value the row's call decoded differs from what the row says it decodes.
    async fn decode_problems(&self, row: &Row) -> Vec<String> {
        let problem = match self.run(row).await.0 {
            // A check that panics (an index past the end, say) still names its row.
            Ok(decoded) => panic::catch_unwind(AssertUnwindSafe(|| (row.decodes)(&*decoded)))
                .unwrap_or_else(|payload| {
                    Err(format!("the check panicked: {}", panic_text(&*payload)))
                })
                .err(),
            Err(e) => Some(format!("the call failed: {e}")),
        };
        named(row, problem.into_iter().collect())
    }
}

/// The message a panic carried.
fn panic_text(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// Prefixes each problem with the row's name and operation.
fn named(row: &Row, problems: Vec<String>) -> Vec<String> {
    problems
        .into_iter()
        .map(|p| format!("[{}] ({}): {p}", row.name, row.operation_id))
        .collect()
}

/// Compares one request with the row, and checks the headers every call carries.
fn wire_problems(row: &Row, request: &Request) -> Vec<String> {
    let header = |name: &str| {
        request
            .headers
            .get(name)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    };
    let has_body = !request.body.is_empty();
    let mut problems: Vec<String> = [
        differs(
            "the method",
            Some(request.method.as_str()),
            Some(row.method),
        ),
        differs("the path", Some(request.url.path()), Some(row.path)),
        differs("the query", request.url.query(), row.query),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Bodies are compared as JSON values, so the order of keys does not matter.
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(sent) => problems.extend(differs("the body", Some(sent), row.body.map(|b| b()))),
        Err(_) if !has_body => problems.extend(differs("the body", None, row.body.map(|b| b()))),
        Err(e) => problems.push(format!(
            "the body is not JSON ({e}): {}",
            String::from_utf8_lossy(&request.body)
        )),
    }
    for (name, expected) in [
        ("authorization", Some(format!("Bearer {SECRET_KEY}"))),
        ("clerk-api-version", Some("2026-05-12".to_owned())),
        (
            "user-agent",
            Some(format!("clerk-rbac/{}", env!("CARGO_PKG_VERSION"))),
        ),
        ("accept", Some("application/json".to_owned())),
        // progenitor's own header, which Clerk does not use.
        ("api-version", None),
        // Only a request with a body says what the body is.
        (
            "content-type",
            has_body.then(|| "application/json".to_owned()),
        ),
    ] {
        problems.extend(differs(&format!("header {name}"), header(name), expected));
    }
    problems
}

/// `what is <actual>, expected <expected>` when they differ; `(none)` stands for absent.
fn differs<T: PartialEq + Display>(
    what: &str,
    actual: Option<T>,
    expected: Option<T>,
) -> Option<String> {
    let show = |value: Option<T>| value.map_or_else(|| "(none)".to_owned(), |v| v.to_string());
    (actual != expected).then(|| format!("{what} is {}, expected {}", show(actual), show(expected)))
}

/// Fails naming every problem, one per line, if there are any.
fn assert_none(problems: &[String], what: &str) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

// ---- the table runs ----

#[tokio::test]
async fn every_row_sends_exactly_its_request() {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    for row in ROWS {
        problems.extend(harness.request_problems(row).await);
    }
    assert_none(&problems, "rows that did not send what they say");
}

#[tokio::test]
async fn every_row_decodes_its_answer_as_it_says() {
    let harness = Harness::new().await;
    let mut problems = Vec::new();
    for row in ROWS {
        problems.extend(harness.decode_problems(row).await);
    }
    assert_none(&problems, "rows that did not decode what they say");
}

/// The checks themselves: a row that expects the wrong method, path, query, body or decoded
/// value fails, and the failure names the row and what differs.
#[tokio::test]
async fn a_row_that_expects_something_else_is_reported_by_name() {
    let harness = Harness::new().await;
    let row = *ROWS
        .iter()
        .find(|row| row.operation_id == "UpdateOrganizationPermission")
        .expect("the table has an UpdateOrganizationPermission row");
    assert_none(&harness.request_problems(&row).await, "the row as written");
    assert_none(&harness.decode_problems(&row).await, "the row as written");

    let wrong_requests = [
        (
            Row {
                method: "PUT",
                ..row
            },
            "the method is PATCH, expected PUT",
        ),
        (
            Row {
                path: "/v1/organization_permissions/perm_2",
                ..row
            },
            "the path is /v1/organization_permissions/perm_1, expected /v1/organization_permissions/perm_2",
        ),
        (
            Row {
                query: Some("key=org%3Aa%3Alist"),
                ..row
            },
            "the query is (none), expected key=org%3Aa%3Alist",
        ),
        (
            Row {
                body: Some(|| json!({"key": "org:a:list", "name": null})),
                ..row
            },
            r#"the body is {"key":"org:a:list"}, expected {"key":"org:a:list","name":null}"#,
        ),
        (
            Row { body: None, ..row },
            r#"the body is {"key":"org:a:list"}, expected (none)"#,
        ),
    ];
    for (wrong, expected) in wrong_requests {
        let report = harness.request_problems(&wrong).await.join("\n");
        assert!(
            report.contains(&format!("[{}]", row.name)) && report.contains(expected),
            "`{expected}` is not reported for the row in:\n{report}"
        );
    }

    let wrong_decodes = [
        (
            Row {
                answer: || support::permission("perm_1", "org:a:read"),
                ..row
            },
            r#"`updated.key` is "org:a:read", expected "org:a:list""#,
        ),
        (
            Row {
                decodes: decodes!(|role: Role| {
                    same!(role.id, "perm_1");
                }),
                ..row
            },
            "the call did not return a ",
        ),
        (
            Row {
                decodes: decodes!(|updated: Permission| {
                    same!(updated.key.as_bytes()[99], b'x');
                }),
                ..row
            },
            "the check panicked: index out of bounds",
        ),
    ];
    for (wrong, expected) in wrong_decodes {
        let report = harness.decode_problems(&wrong).await.join("\n");
        assert!(
            report.contains(&format!("[{}]", row.name)) && report.contains(expected),
            "`{expected}` is not reported for the row in:\n{report}"
        );
    }
}

// ---- the table covers the fragment ----

/// `(operationId, method, path template)` of every operation of the vendored fragment.
fn fragment_operations() -> Vec<(String, String, String)> {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/clerk-rbac.json");
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("reading {file}: {e}"));
    let doc: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {file}: {e}"));
    let paths = doc["paths"].as_object().expect("paths is an object");
    let mut operations = Vec::new();
    for (template, item) in paths {
        for (method, operation) in item.as_object().expect("a path item is an object") {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                operations.push((id.to_owned(), method.to_uppercase(), template.clone()));
            }
        }
    }
    operations
}

/// Whether the raw `path` fills `/v1` + `template`, each `{parameter}` one non-empty segment.
fn fits_template(path: &str, template: &str) -> bool {
    let Some(path) = path.strip_prefix("/v1") else {
        return false;
    };
    let (segments, expected): (Vec<&str>, Vec<&str>) =
        (path.split('/').collect(), template.split('/').collect());
    segments.len() == expected.len()
        && segments.iter().zip(&expected).all(|(segment, expected)| {
            if expected.starts_with('{') && expected.ends_with('}') {
                !segment.is_empty()
            } else {
                segment == expected
            }
        })
}

#[test]
fn every_operation_of_the_fragment_has_a_row() {
    let operations = fragment_operations();
    let missing: Vec<&str> = operations
        .iter()
        .map(|(id, _, _)| id.as_str())
        .filter(|id| !ROWS.iter().any(|row| row.operation_id == *id))
        .collect();
    assert!(
        missing.is_empty(),
        "operations of openapi/clerk-rbac.json without a row in tests/suite/operations.rs: {}",
        missing.join(", ")
    );
    // The reading above found them all: the fragment vendors 20 operations.
    assert_eq!(operations.len(), 20, "operations read from the fragment");
}

#[test]
fn every_row_stands_for_its_operation_and_has_its_own_name() {
    let operations = fragment_operations();
    let mut problems = Vec::new();
    for row in ROWS {
        let problem = match operations.iter().find(|(id, _, _)| id == row.operation_id) {
            None => Some("the fragment has no such operation".to_owned()),
            Some((_, method, template)) => (row.method != method
                || !fits_template(row.path, template))
            .then(|| format!("{} {} is not {method} /v1{template}", row.method, row.path)),
        };
        problems.extend(named(row, problem.into_iter().collect()));
    }
    assert_none(&problems, "rows that do not stand for their operation");

    let mut names = BTreeSet::new();
    let repeated: Vec<&str> = ROWS
        .iter()
        .map(|row| row.name)
        .filter(|name| !names.insert(*name))
        .collect();
    assert!(
        repeated.is_empty(),
        "row names used twice: {}",
        repeated.join(", ")
    );
}
