//! Keys and names: the formats the spec gives, checked before anything changes.

use crate::wire::Failure;
use clerk_rbac::rules::{
    SYSTEM_PERMISSION_PREFIX, is_permission_key, is_role_key, is_role_set_key, is_system_permission,
};

/// Assumption: a name must not be blank.
pub(super) fn check_name(name: &str) -> Result<(), Failure> {
    if name.trim().is_empty() {
        return Err(Failure::value("name", "`name` must not be blank."));
    }
    Ok(())
}

/// Spec: CreateOrganizationPermission `key`: `org:<feature>:<action>`, each segment lowercase
/// letters, digits or `_`; the `org:sys_` prefix is reserved for system permissions.
pub(crate) fn check_permission_key(key: &str) -> Result<(), Failure> {
    if is_system_permission(key) {
        return Err(Failure::format(
            "key",
            format!(
                "{key}: keys starting with {SYSTEM_PERMISSION_PREFIX} are reserved for system permissions."
            ),
        ));
    }
    if !is_permission_key(key) {
        return Err(Failure::format(
            "key",
            format!(
                "{key}: a permission key reads org:<feature>:<action>, in lowercase letters, digits and _."
            ),
        ));
    }
    Ok(())
}

/// Spec: CreateOrganizationRole `key`: `org:` then lowercase letters, digits and `_`.
pub(crate) fn check_role_key(key: &str) -> Result<(), Failure> {
    if !is_role_key(key) {
        return Err(Failure::format(
            "key",
            format!("{key}: a role key reads org:<name>, in lowercase letters, digits and _."),
        ));
    }
    Ok(())
}

/// Spec: CreateRoleSet `key`: `role_set:` then lowercase letters, digits and `_`.
pub(crate) fn check_role_set_key(key: &str) -> Result<(), Failure> {
    if !is_role_set_key(key) {
        return Err(Failure::format(
            "key",
            format!(
                "{key}: a role set key reads role_set:<name>, in lowercase letters, digits and _."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_formats() {
        assert!(check_permission_key("org:invoices:read").is_ok());
        assert!(check_permission_key("org:in_v0ices:read_all").is_ok());
        for bad in [
            "org:invoices",
            "invoices:read",
            "org:Invoices:read",
            "org:invoices:read:x",
            "org::read",
            "org:a-b:read",
            "org:sys_profile:read",
            "org:sys_x:y",
        ] {
            assert!(check_permission_key(bad).is_err(), "{bad}");
        }
        assert!(check_role_key("org:billing_2").is_ok());
        for bad in ["org:", "billing", "org:Billing", "org:a:b", "role:x"] {
            assert!(check_role_key(bad).is_err(), "{bad}");
        }
        assert!(check_role_set_key("role_set:support").is_ok());
        for bad in ["role_set:", "rs:x", "role_set:A", "role_set:a b"] {
            assert!(check_role_set_key(bad).is_err(), "{bad}");
        }
    }
}
