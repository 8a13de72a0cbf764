//! The one shape of each object the simulator keeps. The instance holds these records in its
//! tables, and a [`Snapshot`](super::Snapshot) is a list of them: a snapshot is the records,
//! serialized.
//!
//! Records refer to each other by key (a role's permissions, a role set's roles, a migration's
//! sets), as Clerk's request bodies do, so a snapshot reads like the instance it describes.
//! When a key changes, the instance rewrites every reference to it in the same step.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::table::Record;

/// A permission as the simulator keeps it; one entry of [`Snapshot::permissions`](super::Snapshot::permissions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PermissionSnapshot {
    /// The permission's ID (`perm_...`).
    pub id: String,
    /// Its key, `org:<feature>:<action>` (`org:sys_...` for system permissions).
    pub key: String,
    /// Its display name.
    pub name: String,
    /// Its description (empty when none was given).
    pub description: String,
    /// Whether it is one of Clerk's system permissions, which cannot change.
    pub system: bool,
    /// When it was created, in Unix milliseconds.
    pub created_at: i64,
    /// When it last changed, in Unix milliseconds.
    pub updated_at: i64,
}

/// A role as the simulator keeps it; one entry of [`Snapshot::roles`](super::Snapshot::roles).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleSnapshot {
    /// The role's ID (`role_...`).
    pub id: String,
    /// Its key, `org:<name>`.
    pub key: String,
    /// Its display name.
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<String>,
    /// The keys of the permissions it holds, in the permissions' creation order.
    pub permissions: Vec<String>,
    /// How many pending invitations offer this role.
    pub invitations: u64,
    /// When it was created, in Unix milliseconds.
    pub created_at: i64,
    /// When it last changed, in Unix milliseconds.
    pub updated_at: i64,
}

/// A role set as the simulator keeps it; one entry of [`Snapshot::role_sets`](super::Snapshot::role_sets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleSetSnapshot {
    /// The role set's ID (`rs_...`).
    pub id: String,
    /// Its key, `role_set:<name>`.
    pub key: String,
    /// Its display name.
    pub name: String,
    /// Its description, if it has one.
    pub description: Option<String>,
    /// Whether it is the `initial` set new organizations get (else `custom`).
    pub initial: bool,
    /// Its roles in the order they joined, with their members.
    pub roles: Vec<RoleSetMemberSnapshot>,
    /// The key of the role new members get.
    pub default_role: String,
    /// The key of the role organization creators get.
    pub creator_role: String,
    /// When it was created, in Unix milliseconds.
    pub created_at: i64,
    /// When it last changed, in Unix milliseconds.
    pub updated_at: i64,
}

/// One role of a role set, with its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleSetMemberSnapshot {
    /// The role's key.
    pub role: String,
    /// How many members hold the role in organizations using the set.
    pub members: u64,
}

/// A role set replacement under way; one entry of [`Snapshot::migrations`](super::Snapshot::migrations).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MigrationSnapshot {
    /// The migration's ID.
    pub id: String,
    /// The key of the set being replaced.
    pub source: String,
    /// The key of the set its organizations move to.
    pub dest: String,
    /// The reassignments the caller gave: source role key to destination role key.
    pub mappings: Option<BTreeMap<String, String>>,
    /// When it started, in Unix milliseconds.
    pub created_at: i64,
    /// How long it takes from start to completion, in milliseconds.
    pub duration_ms: i64,
    /// Members of the source set when it started.
    pub total_members: u64,
}

impl RoleSetSnapshot {
    /// Whether `role` (a key) is one of the set's roles.
    pub(crate) fn holds(&self, role: &str) -> bool {
        self.roles.iter().any(|m| m.role == role)
    }

    /// How many members hold `role` (a key) in the set.
    pub(crate) fn members_of(&self, role: &str) -> u64 {
        self.roles
            .iter()
            .find(|m| m.role == role)
            .map_or(0, |m| m.members)
    }

    /// Adds `count` members to `role`, which must be one of the set's roles.
    pub(crate) fn add_members(&mut self, role: &str, count: u64) {
        if let Some(m) = self.roles.iter_mut().find(|m| m.role == role) {
            m.members = m.members.saturating_add(count);
        }
    }

    /// The keys of the set's roles, in the order they joined.
    pub(crate) fn role_keys(&self) -> Vec<String> {
        self.roles.iter().map(|m| m.role.clone()).collect()
    }
}

impl RoleSetMemberSnapshot {
    /// A role joining a set, without members yet.
    pub(crate) fn new(role: String) -> Self {
        RoleSetMemberSnapshot { role, members: 0 }
    }
}

/// Permissions, roles and role sets are table rows alike.
macro_rules! record {
    ($($record:ty),+) => {$(
        impl Record for $record {
            fn id(&self) -> &str {
                &self.id
            }
            fn key(&self) -> &str {
                &self.key
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn created_at(&self) -> i64 {
                self.created_at
            }
        }
    )+};
}

record!(PermissionSnapshot, RoleSnapshot, RoleSetSnapshot);
