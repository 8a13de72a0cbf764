//! Clerk's rules for organization RBAC, written once for every layer: the client's request
//! bodies, the simulator (which refuses what Clerk refuses) and the sync engine (which refuses a
//! file before anything is sent) all read them from here.
//!
//! Sources: Clerk's Backend API spec (2026-05-12) for key shapes and per-call limits, Clerk's
//! roles-and-permissions guide for the system and creator permissions, Clerk's rate-limit page
//! for the request rates.
//!
//! ```
//! use clerk_rbac::rules;
//!
//! assert!(rules::is_permission_key("org:invoices:read"));
//! assert!(rules::is_role_key("org:accountant"));
//! assert!(rules::is_system_permission("org:sys_memberships:read"));
//! assert!(rules::CREATOR_PERMISSIONS.iter().all(|key| rules::is_system_permission(key)));
//! ```
//!
//! # Key shapes
//! A permission key is `org:<feature>:<action>`, a role key `org:<name>`, a role-set key
//! `role_set:<name>`, each part one or more lowercase letters, digits or `_`. The `org:sys_`
//! prefix belongs to Clerk's system permissions.

use std::time::Duration;

/// The prefix Clerk reserves for its own (system) permissions.
pub const SYSTEM_PERMISSION_PREFIX: &str = "org:sys_";

/// Clerk's system permissions, as `(key, name)`: the ones the roles-and-permissions guide lists
/// and a new instance starts with. The names are ours. They cannot be created, changed or
/// deleted through the API. `org:sys_entconns:manage` (self-serve enterprise SSO connections)
/// joined the guide's list in June 2026; Clerk's docs say it ships with the default admin role.
pub const SYSTEM_PERMISSIONS: [(&str, &str); 9] = [
    ("org:sys_profile:manage", "Manage organization"),
    ("org:sys_profile:delete", "Delete organization"),
    ("org:sys_memberships:read", "Read members"),
    ("org:sys_memberships:manage", "Manage members"),
    ("org:sys_domains:read", "Read domains"),
    ("org:sys_domains:manage", "Manage domains"),
    ("org:sys_billing:read", "Read billing"),
    ("org:sys_billing:manage", "Manage billing"),
    ("org:sys_entconns:manage", "Manage enterprise connections"),
];

/// The system permissions a role must hold to be an organization's creator role (Clerk calls
/// such a role creator-eligible): manage members, read members, delete the organization.
pub const CREATOR_PERMISSIONS: [&str; 3] = [
    "org:sys_memberships:manage",
    "org:sys_memberships:read",
    "org:sys_profile:delete",
];

/// The most roles Clerk takes in one [`CreateRoleSet`](crate::CreateRoleSet) or
/// [`AddRoles`](crate::AddRoles) call (the spec's limit on `roles` and `role_keys`); create a
/// larger set with the first ten and add the rest in further calls.
pub const MAX_ROLES_PER_CALL: usize = 10;

/// Requests a development instance (`sk_test_` key) may make per [`RATE_LIMIT_WINDOW`].
pub const DEVELOPMENT_REQUESTS_PER_WINDOW: u32 = 100;
/// Requests a production instance (`sk_live_` key) may make per [`RATE_LIMIT_WINDOW`].
pub const PRODUCTION_REQUESTS_PER_WINDOW: u32 = 1_000;
/// The window Clerk counts requests in, per secret key.
pub const RATE_LIMIT_WINDOW: Duration = Duration::from_secs(10);

/// Whether `secret_key` is a production instance's (`sk_live_...`); anything else is paced
/// and treated as development, the stricter case.
pub fn is_live_key(secret_key: &str) -> bool {
    secret_key.trim_start().starts_with("sk_live_")
}

/// Whether `key` has the `org:<feature>:<action>` shape (reserved or not).
pub fn is_permission_key(key: &str) -> bool {
    key.strip_prefix("org:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(feature, action)| is_word(feature) && is_word(action))
}

/// Whether `key` has the `org:<name>` shape.
pub fn is_role_key(key: &str) -> bool {
    key.strip_prefix("org:").is_some_and(is_word)
}

/// Whether `key` has the `role_set:<name>` shape.
pub fn is_role_set_key(key: &str) -> bool {
    key.strip_prefix("role_set:").is_some_and(is_word)
}

/// Whether `key` is a system permission's (`org:sys_...`).
pub fn is_system_permission(key: &str) -> bool {
    key.starts_with(SYSTEM_PERMISSION_PREFIX)
}

/// One non-empty run of `[a-z0-9_]`.
fn is_word(part: &str) -> bool {
    !part.is_empty()
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for good in [
            "org:invoices:read",
            "org:in_v0ices:read_all",
            "org:sys_profile:read",
        ] {
            assert!(is_permission_key(good), "{good}");
        }
        for bad in [
            "org:invoices",
            "invoices:read",
            "org:Invoices:read",
            "org:invoices:read:x",
            "org::read",
            "org:a-b:read",
        ] {
            assert!(!is_permission_key(bad), "{bad}");
        }
        assert!(is_role_key("org:billing_2"));
        for bad in ["org:", "billing", "org:Billing", "org:a:b", "role:x"] {
            assert!(!is_role_key(bad), "{bad}");
        }
        assert!(is_role_set_key("role_set:support"));
        for bad in ["role_set:", "rs:x", "role_set:A", "role_set:a b"] {
            assert!(!is_role_set_key(bad), "{bad}");
        }
        assert!(is_system_permission("org:sys_x:y") && !is_system_permission("org:x:y"));
    }
}
