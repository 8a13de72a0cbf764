//! The shapes Clerk gives keys, checked before anything is sent.
//!
//! Role keys are `org:` then lowercase letters, digits and `_`; role-set keys the same after
//! `role_set:`; permission keys `org:<feature>:<action>` with both parts in the same alphabet.
//! The `org:sys_` prefix belongs to Clerk's system permissions. The shapes themselves live in
//! `rules`, shared with the simulator.

use clerk_rbac::rules;

/// The prefix Clerk reserves for its own (system) permissions.
pub const SYSTEM_PERMISSION_PREFIX: &str = clerk_rbac::rules::SYSTEM_PERMISSION_PREFIX;

/// Which kind of object a key names; it decides the key's shape.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An organization permission, `org:<feature>:<action>`.
    Permission,
    /// An organization role, `org:<name>`.
    Role,
    /// A role set, `role_set:<name>`.
    RoleSet,
}

impl Kind {
    /// A lower-case noun for messages: "permission", "role", "role set".
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Permission => "permission",
            Kind::Role => "role",
            Kind::RoleSet => "role set",
        }
    }

    /// The shape a key of this kind must have, for messages.
    pub fn key_shape(self) -> &'static str {
        match self {
            Kind::Permission => "`org:<feature>:<action>`",
            Kind::Role => "`org:<name>`",
            Kind::RoleSet => "`role_set:<name>`",
        }
    }
}

/// Whether `key` is a system permission key (`org:sys_...`).
pub fn is_system_permission(key: &str) -> bool {
    rules::is_system_permission(key)
}

/// Checks that `key` has the shape keys of `kind` must have; the error says what is wrong.
pub fn check(kind: Kind, key: &str) -> Result<(), String> {
    let ok = match kind {
        Kind::Permission => rules::is_permission_key(key),
        Kind::Role => rules::is_role_key(key),
        Kind::RoleSet => rules::is_role_set_key(key),
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{key}` is not a valid {} key: it must look like {}, using only lowercase letters, \
             digits and `_` after the prefix",
            kind.noun(),
            kind.key_shape()
        ))
    }
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Allow about one edit in three characters, at least one.
    let budget = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|candidate| *candidate != word)
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, candidate)| (*distance, *candidate))
        .map(|(_, candidate)| candidate)
}

/// Edit distance where inserting, deleting or replacing a character, or swapping two
/// neighbours (the commonest typo), each cost one (optimal string alignment).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between the first i characters of a and the first j of b.
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_shapes() {
        assert!(check(Kind::Permission, "org:invoices:read").is_ok());
        assert!(check(Kind::Permission, "org:sys_memberships:read").is_ok());
        assert!(check(Kind::Role, "org:billing_admin2").is_ok());
        assert!(check(Kind::RoleSet, "role_set:default").is_ok());
    }

    #[test]
    fn refuses_wrong_prefixes_characters_and_empty_parts() {
        for key in [
            "invoices:read",
            "org:invoices",
            "org:invoices:",
            "org::read",
            "org:Invoices:read",
            "org:invoices:read:all",
            "org:in voices:read",
            "org:invoices-x:read",
        ] {
            assert!(check(Kind::Permission, key).is_err(), "{key}");
        }
        for key in [
            "org:",
            "admin",
            "org:Admin",
            "org:a:b",
            "role_set:x",
            "org:é",
        ] {
            assert!(check(Kind::Role, key).is_err(), "{key}");
        }
        for key in ["role_set:", "org:default", "role_set:a:b", "role_set:A"] {
            assert!(check(Kind::RoleSet, key).is_err(), "{key}");
        }
    }

    #[test]
    fn the_message_names_the_key_and_its_shape() {
        let message = check(Kind::Role, "admin").unwrap_err();
        assert!(message.contains("`admin`") && message.contains("`org:<name>`"));
    }

    #[test]
    fn system_permissions_are_recognised_by_prefix() {
        assert!(is_system_permission("org:sys_profile:delete"));
        assert!(!is_system_permission("org:system:read"));
    }

    #[test]
    fn suggests_only_close_candidates() {
        let fields = ["name", "description", "permissions", "renamed_from"];
        assert_eq!(closest("nmae", fields), Some("name"));
        assert_eq!(closest("descripton", fields), Some("description"));
        assert_eq!(closest("permission", fields), Some("permissions"));
        assert_eq!(closest("colour", fields), None);
        assert_eq!(
            closest("name", fields),
            None,
            "an exact match is not a suggestion"
        );
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("nmae", "name"), 1, "a swap is one edit");
    }
}
