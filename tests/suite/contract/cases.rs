//! One contract case per operation of the fragment: how the facade calls it, with the fewest
//! arguments and with every optional one.

use clerk_rbac::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, CreateRoleSetType, MAX_PAGE_SIZE,
    ReplaceRole, ReplaceRoleSet, RoleSetTypeUpdate, UpdatePermission, UpdateRole, UpdateRoleSet,
};
use futures::future::LocalBoxFuture;
use serde::Serialize;
use serde_json::Value;

/// A facade call's outcome, its success value serialized to JSON.
pub type Outcome = Result<Value, clerk_rbac::Error>;
/// One way of calling the facade for an operation.
pub type Call = fn(Clerk) -> LocalBoxFuture<'static, Outcome>;

pub struct Case {
    /// The fragment's `operationId`.
    pub operation_id: &'static str,
    /// The value each path parameter is given in the calls.
    pub path: &'static [(&'static str, &'static str)],
    /// Only the required arguments.
    pub minimal: Call,
    /// Every optional argument set (to a value).
    pub full: Call,
    /// For updates: every field that can be cleared, cleared (sent as `null`).
    pub clearing: Option<Call>,
}

impl Case {
    /// The calls to make, named for failure messages.
    pub fn calls(&self) -> Vec<(&'static str, Call)> {
        let mut calls = vec![("minimal", self.minimal), ("full", self.full)];
        calls.extend(self.clearing.map(|call| ("clearing", call)));
        calls
    }
}

// IDs with characters that must be percent-encoded to stay inside one path segment.
const PERMISSION: &str = "perm_2x/9 a";
const ROLE: &str = "role_7?q=1#f";
const ROLE_SET: &str = "role_set:support%2Fteam";

/// `call!(|clerk| <facade future>)`: a [`Call`] whose success value is serialized to JSON.
macro_rules! call {
    (|$clerk:ident| $facade:expr) => {
        |$clerk: Clerk| -> LocalBoxFuture<'static, Outcome> {
            Box::pin(async move { to_json($facade.await) })
        }
    };
}

fn to_json<T: Serialize>(outcome: clerk_rbac::Result<T>) -> Outcome {
    outcome.map(|value| serde_json::to_value(value).expect("facade values serialize"))
}

fn strings<const N: usize>(values: [&str; N]) -> Vec<String> {
    values.map(str::to_owned).to_vec()
}

pub const CASES: &[Case] = &[
    // ---- organization permissions ----
    Case {
        operation_id: "ListOrganizationPermissions",
        path: &[],
        minimal: call!(|clerk| clerk.organization_permissions().list().send()),
        full: call!(|clerk| clerk
            .organization_permissions()
            .list()
            .query("org:invoices")
            .order_by("-name")
            .limit(MAX_PAGE_SIZE)
            .offset(40)
            .send()),
        clearing: None,
    },
    Case {
        operation_id: "CreateOrganizationPermission",
        path: &[],
        minimal: call!(|clerk| clerk
            .organization_permissions()
            .create(CreatePermission::new("Read invoices", "org:invoices:read"))),
        full: call!(|clerk| clerk.organization_permissions().create(
            CreatePermission::new("Read invoices", "org:invoices:read")
                .description("See every invoice")
        )),
        clearing: None,
    },
    Case {
        operation_id: "GetOrganizationPermission",
        path: &[("permission_id", PERMISSION)],
        minimal: call!(|clerk| clerk.organization_permissions().get(PERMISSION)),
        full: call!(|clerk| clerk.organization_permissions().get(PERMISSION)),
        clearing: None,
    },
    Case {
        operation_id: "UpdateOrganizationPermission",
        path: &[("permission_id", PERMISSION)],
        minimal: call!(|clerk| clerk
            .organization_permissions()
            .update(PERMISSION, UpdatePermission::new())),
        full: call!(|clerk| clerk.organization_permissions().update(
            PERMISSION,
            UpdatePermission::new()
                .name("List invoices")
                .key("org:invoices:list")
                .description("See the list"),
        )),
        clearing: None,
    },
    Case {
        operation_id: "DeleteOrganizationPermission",
        path: &[("permission_id", PERMISSION)],
        minimal: call!(|clerk| clerk.organization_permissions().delete(PERMISSION)),
        full: call!(|clerk| clerk.organization_permissions().delete(PERMISSION)),
        clearing: None,
    },
    // ---- organization roles ----
    Case {
        operation_id: "ListOrganizationRoles",
        path: &[],
        minimal: call!(|clerk| clerk.organization_roles().list().send()),
        full: call!(|clerk| clerk
            .organization_roles()
            .list()
            .query("admin")
            .order_by("+key")
            .limit(1)
            .offset(0)
            .send()),
        clearing: None,
    },
    Case {
        operation_id: "CreateOrganizationRole",
        path: &[],
        minimal: call!(|clerk| clerk
            .organization_roles()
            .create(CreateRole::new("Billing", "org:billing"))),
        full: call!(|clerk| clerk.organization_roles().create(
            CreateRole::new("Billing", "org:billing")
                .description("Pays the bills")
                .permissions(strings(["perm_1", "perm_2"]))
                .include_in_initial_role_set(true),
        )),
        clearing: None,
    },
    Case {
        operation_id: "GetOrganizationRole",
        path: &[("organization_role_id", ROLE)],
        minimal: call!(|clerk| clerk.organization_roles().get(ROLE)),
        full: call!(|clerk| clerk.organization_roles().get(ROLE)),
        clearing: None,
    },
    Case {
        operation_id: "UpdateOrganizationRole",
        path: &[("organization_role_id", ROLE)],
        minimal: call!(|clerk| clerk.organization_roles().update(ROLE, UpdateRole::new())),
        full: call!(|clerk| clerk.organization_roles().update(
            ROLE,
            UpdateRole::new()
                .name("Billing admins")
                .key("org:billing_admin")
                .description("Pays and approves")
                .permissions(strings(["perm_1"])),
        )),
        clearing: Some(call!(|clerk| clerk.organization_roles().update(
            ROLE,
            UpdateRole::new()
                .clear_name()
                .clear_key()
                .clear_description()
                .clear_permissions(),
        ))),
    },
    Case {
        operation_id: "DeleteOrganizationRole",
        path: &[("organization_role_id", ROLE)],
        minimal: call!(|clerk| clerk.organization_roles().delete(ROLE)),
        full: call!(|clerk| clerk.organization_roles().delete(ROLE)),
        clearing: None,
    },
    Case {
        operation_id: "AssignPermissionToOrganizationRole",
        path: &[
            ("organization_role_id", ROLE),
            ("permission_id", PERMISSION),
        ],
        minimal: call!(|clerk| clerk
            .organization_roles()
            .assign_permission(ROLE, PERMISSION)),
        full: call!(|clerk| clerk
            .organization_roles()
            .assign_permission(ROLE, PERMISSION)),
        clearing: None,
    },
    Case {
        operation_id: "RemovePermissionFromOrganizationRole",
        path: &[
            ("organization_role_id", ROLE),
            ("permission_id", PERMISSION),
        ],
        minimal: call!(|clerk| clerk
            .organization_roles()
            .remove_permission(ROLE, PERMISSION)),
        full: call!(|clerk| clerk
            .organization_roles()
            .remove_permission(ROLE, PERMISSION)),
        clearing: None,
    },
    // ---- role sets ----
    Case {
        operation_id: "ListRoleSets",
        path: &[],
        minimal: call!(|clerk| clerk.role_sets().list().send()),
        full: call!(|clerk| clerk
            .role_sets()
            .list()
            .query("support")
            .order_by("created_at")
            .limit(25)
            .offset(500)
            .send()),
        clearing: None,
    },
    Case {
        operation_id: "CreateRoleSet",
        path: &[],
        minimal: call!(|clerk| clerk.role_sets().create(CreateRoleSet::new(
            "Support",
            strings(["org:agent", "org:lead"]),
            "org:agent",
            "org:lead",
        ))),
        full: call!(|clerk| clerk.role_sets().create(
            CreateRoleSet::new(
                "Support",
                strings(["org:agent", "org:lead"]),
                "org:agent",
                "org:lead"
            )
            .key("role_set:support")
            .description("Support teams")
            .type_(CreateRoleSetType::Initial),
        )),
        clearing: None,
    },
    Case {
        operation_id: "GetRoleSet",
        path: &[("role_set_key_or_id", ROLE_SET)],
        minimal: call!(|clerk| clerk.role_sets().get(ROLE_SET)),
        full: call!(|clerk| clerk.role_sets().get(ROLE_SET)),
        clearing: None,
    },
    Case {
        operation_id: "UpdateRoleSet",
        path: &[("role_set_key_or_id", ROLE_SET)],
        minimal: call!(|clerk| clerk.role_sets().update(ROLE_SET, UpdateRoleSet::new())),
        full: call!(|clerk| clerk.role_sets().update(
            ROLE_SET,
            UpdateRoleSet::new()
                .name("Support")
                .key("role_set:support")
                .description("Support teams")
                .type_(RoleSetTypeUpdate::Initial)
                .default_role_key("org:agent")
                .creator_role_key("org:lead"),
        )),
        clearing: Some(call!(|clerk| clerk.role_sets().update(
            ROLE_SET,
            UpdateRoleSet::new()
                .clear_name()
                .clear_key()
                .clear_description()
                .clear_type()
                .clear_default_role_key()
                .clear_creator_role_key(),
        ))),
    },
    Case {
        operation_id: "AddRolesToRoleSet",
        path: &[("role_set_key_or_id", ROLE_SET)],
        minimal: call!(|clerk| clerk
            .role_sets()
            .add_roles(ROLE_SET, AddRoles::new(strings(["org:auditor"])))),
        full: call!(|clerk| clerk.role_sets().add_roles(
            ROLE_SET,
            AddRoles::new(strings(["org:auditor", "org:lead"]))
                .default_role_key("org:auditor")
                .creator_role_key("org:lead"),
        )),
        clearing: None,
    },
    Case {
        operation_id: "ReplaceRoleInRoleSet",
        path: &[("role_set_key_or_id", ROLE_SET)],
        minimal: call!(|clerk| clerk
            .role_sets()
            .replace_role(ROLE_SET, ReplaceRole::new("org:viewer", "org:member"))),
        full: call!(|clerk| clerk
            .role_sets()
            .replace_role(ROLE_SET, ReplaceRole::new("org:viewer", "org:member"))),
        clearing: None,
    },
    Case {
        operation_id: "ReplaceRoleSet",
        path: &[("role_set_key_or_id", ROLE_SET)],
        minimal: call!(|clerk| clerk
            .role_sets()
            .replace(ROLE_SET, ReplaceRoleSet::new("role_set:default"))),
        full: call!(|clerk| clerk.role_sets().replace(
            ROLE_SET,
            ReplaceRoleSet::new("role_set:default")
                .reassign("org:viewer", "org:member")
                .reassign("org:lead", "org:admin"),
        )),
        clearing: None,
    },
    // ---- the instance ----
    Case {
        operation_id: "GetInstanceOrganizationSettings",
        path: &[],
        minimal: call!(|clerk| clerk.instance().organization_settings()),
        full: call!(|clerk| clerk.instance().organization_settings()),
        clearing: None,
    },
];

/// The case for `operation_id`, if there is one.
pub fn case_for(operation_id: &str) -> Option<&'static Case> {
    CASES.iter().find(|case| case.operation_id == operation_id)
}
