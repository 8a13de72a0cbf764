//! Clerk's rules that more than one layer checks, in one place: the simulator refuses what
//! Clerk refuses, and the sync engine refuses a file before anything is sent.
//!
//! Key shapes. Source: the spec's create operations. A permission key is `org:<feature>:<action>`, a role
//! key `org:<name>`, a role-set key `role_set:<name>`, each part one or more lowercase letters,
//! digits or `_`. The `org:sys_` prefix belongs to Clerk's system permissions.

/// The prefix Clerk reserves for its own (system) permissions.
pub(crate) const SYSTEM_PERMISSION_PREFIX: &str = "org:sys_";

/// Whether `key` has the `org:<feature>:<action>` shape (reserved or not).
pub(crate) fn is_permission_key(key: &str) -> bool {
    key.strip_prefix("org:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(feature, action)| is_word(feature) && is_word(action))
}

/// Whether `key` has the `org:<name>` shape.
pub(crate) fn is_role_key(key: &str) -> bool {
    key.strip_prefix("org:").is_some_and(is_word)
}

/// Whether `key` has the `role_set:<name>` shape.
pub(crate) fn is_role_set_key(key: &str) -> bool {
    key.strip_prefix("role_set:").is_some_and(is_word)
}

/// Whether `key` is a system permission's (`org:sys_...`).
pub(crate) fn is_system_permission(key: &str) -> bool {
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
