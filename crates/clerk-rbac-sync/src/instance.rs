//! What an instance holds, as the sync engine sees it ([`Instance`]), how it is read (every
//! page of the three lists, concurrently), and what `export` writes from it.

use std::{collections::BTreeMap, fmt};

use futures::FutureExt;
use serde::{Deserialize, Serialize};

use clerk_rbac::{Clerk, Permission, Role, RoleSet, RoleSetType};

use super::{
    file::{DesiredState, PermissionSpec, RoleSetKind, RoleSetSpec, RoleSpec},
    keys::is_system_permission,
};

/// The organization RBAC of one instance: every permission, role and role set, sorted by key.
///
/// Built by [`read`](super::read) or, for tests and tools, by hand. Only what the sync engine
/// compares is kept (no timestamps).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Every permission, system ones included.
    pub permissions: Vec<ObservedPermission>,
    /// Every role.
    pub roles: Vec<ObservedRole>,
    /// Every role set, those being retired included.
    pub role_sets: Vec<ObservedRoleSet>,
}

/// A permission as the instance has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPermission {
    /// Clerk's ID on this instance.
    pub id: String,
    /// The key, `org:<feature>:<action>`.
    pub key: String,
    /// The name.
    pub name: String,
    /// The description; empty when there is none.
    pub description: String,
    /// Whether Clerk owns it (`type` "system" or an `org:sys_` key): never changed by sync.
    pub system: bool,
}

/// A role as the instance has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRole {
    /// Clerk's ID on this instance.
    pub id: String,
    /// The key, `org:<name>`.
    pub key: String,
    /// The name.
    pub name: String,
    /// The description, if any.
    pub description: Option<String>,
    /// The keys of the permissions it holds, sorted.
    pub permissions: Vec<String>,
}

/// A role set as the instance has it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRoleSet {
    /// Clerk's ID on this instance.
    pub id: String,
    /// The key, `role_set:<name>`.
    pub key: String,
    /// The name.
    pub name: String,
    /// The description, if any.
    pub description: Option<String>,
    /// Whether it is the initial set (the one new organizations get).
    pub initial: bool,
    /// The key of the role new members get.
    pub default_role: Option<String>,
    /// The key of the role organization creators get.
    pub creator_role: Option<String>,
    /// The keys of its roles, in the order Clerk lists them.
    pub roles: Vec<String>,
    /// Members per role key, where Clerk says (zero or absent roles are left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub members: BTreeMap<String, i64>,
    /// The status of the migration retiring this set, when it is being replaced.
    pub migration: Option<MigrationStatus>,
    /// The ID of the set its organizations are moving to, when it is being replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrating_into: Option<String>,
}

impl ObservedRoleSet {
    /// Whether the set has been replaced and is on its way out (its migration has started).
    pub fn is_retiring(&self) -> bool {
        self.migration.is_some()
    }

    /// Whether the set is still in play: not replaced, or replaced with its migration not yet
    /// completed (a completed one only waits for Clerk to remove the set).
    pub fn is_live(&self) -> bool {
        !self
            .migration
            .as_ref()
            .is_some_and(MigrationStatus::is_completed)
    }
}

/// Where the migration of a replaced role set stands, as Clerk reports it.
///
/// Clerk's values are `enqueued`, `in_progress`, `completed` and `failed`; any other value is
/// kept as written ([`Other`](Self::Other)) so that a new status reads back unchanged. In JSON
/// it is that string.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MigrationStatus {
    /// Waiting to start.
    Enqueued,
    /// Moving organizations and members.
    InProgress,
    /// Done: every organization moved; the set goes away.
    Completed,
    /// Clerk gave up; the set stays replaced but its organizations did not all move.
    Failed,
    /// A status this version does not know, as Clerk wrote it.
    Other(String),
}

impl MigrationStatus {
    /// The status as Clerk writes it.
    pub fn as_str(&self) -> &str {
        match self {
            MigrationStatus::Enqueued => "enqueued",
            MigrationStatus::InProgress => "in_progress",
            MigrationStatus::Completed => "completed",
            MigrationStatus::Failed => "failed",
            MigrationStatus::Other(other) => other,
        }
    }

    /// Whether the migration completed.
    pub fn is_completed(&self) -> bool {
        *self == MigrationStatus::Completed
    }
}

impl From<&str> for MigrationStatus {
    fn from(status: &str) -> Self {
        match status {
            "enqueued" => MigrationStatus::Enqueued,
            "in_progress" => MigrationStatus::InProgress,
            "completed" => MigrationStatus::Completed,
            "failed" => MigrationStatus::Failed,
            other => MigrationStatus::Other(other.to_owned()),
        }
    }
}

impl From<String> for MigrationStatus {
    fn from(status: String) -> Self {
        match MigrationStatus::from(status.as_str()) {
            MigrationStatus::Other(_) => MigrationStatus::Other(status),
            known => known,
        }
    }
}

impl fmt::Display for MigrationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for MigrationStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MigrationStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(MigrationStatus::from)
    }
}

impl Instance {
    /// Builds the view from what the three list endpoints returned. Duplicates (the same ID
    /// seen twice while reading pages of a list that changed) are dropped.
    pub fn from_api(
        permissions: Vec<Permission>,
        roles: Vec<Role>,
        role_sets: Vec<RoleSet>,
    ) -> Self {
        let mut permissions: Vec<ObservedPermission> = permissions
            .into_iter()
            .map(|p| ObservedPermission {
                system: p.type_.as_deref() == Some("system") || is_system_permission(&p.key),
                id: p.id,
                key: p.key,
                name: p.name,
                description: p.description,
            })
            .collect();
        let mut roles: Vec<ObservedRole> = roles
            .into_iter()
            .map(|r| {
                let mut held: Vec<String> = r.permissions.into_iter().map(|p| p.key).collect();
                held.sort();
                held.dedup();
                ObservedRole {
                    id: r.id,
                    key: r.key,
                    name: r.name,
                    description: r.description,
                    permissions: held,
                }
            })
            .collect();
        let mut role_sets: Vec<ObservedRoleSet> = role_sets
            .into_iter()
            .map(|s| ObservedRoleSet {
                initial: s.type_ == RoleSetType::Initial,
                default_role: s.default_role.map(|r| r.key),
                creator_role: s.creator_role.map(|r| r.key),
                members: s
                    .roles
                    .iter()
                    .filter_map(|r| {
                        r.members_count
                            .filter(|n| *n > 0)
                            .map(|n| (r.key.clone(), n))
                    })
                    .collect(),
                roles: s.roles.into_iter().map(|r| r.key).collect(),
                migrating_into: s
                    .role_set_migration
                    .as_ref()
                    .and_then(|m| m.dest_role_set_id.clone()),
                migration: s
                    .role_set_migration
                    .map(|m| MigrationStatus::from(m.status)),
                id: s.id,
                key: s.key,
                name: s.name,
                description: s.description,
            })
            .collect();
        sort_dedup(&mut permissions, |p| (&p.key, &p.id));
        sort_dedup(&mut roles, |r| (&r.key, &r.id));
        sort_dedup(&mut role_sets, |s| (&s.key, &s.id));
        Instance {
            permissions,
            roles,
            role_sets,
        }
    }

    /// The desired state that describes this instance exactly: every custom permission, every
    /// role and every role set not being retired. Planning it against the same instance finds
    /// nothing to do.
    pub fn to_desired(&self) -> DesiredState {
        let mut state = DesiredState::new();
        for p in self.permissions.iter().filter(|p| !p.system) {
            state.permissions.insert(
                p.key.clone(),
                PermissionSpec {
                    name: p.name.clone(),
                    description: non_empty(Some(&p.description)),
                    renamed_from: None,
                },
            );
        }
        for r in &self.roles {
            state.roles.insert(
                r.key.clone(),
                RoleSpec {
                    name: r.name.clone(),
                    description: non_empty(r.description.as_ref()),
                    permissions: r.permissions.clone(),
                    renamed_from: None,
                },
            );
        }
        for s in self.role_sets.iter().filter(|s| !s.is_retiring()) {
            let mut roles = s.roles.clone();
            roles.sort();
            state.role_sets.insert(
                s.key.clone(),
                RoleSetSpec {
                    name: s.name.clone(),
                    description: non_empty(s.description.as_ref()),
                    type_: if s.initial {
                        RoleSetKind::Initial
                    } else {
                        RoleSetKind::Custom
                    },
                    default_role: s.default_role.clone().unwrap_or_default(),
                    creator_role: s.creator_role.clone().unwrap_or_default(),
                    roles,
                    move_members: BTreeMap::new(),
                    renamed_from: None,
                },
            );
        }
        state
    }
}

fn non_empty(text: Option<&String>) -> Option<String> {
    text.filter(|t| !t.is_empty()).cloned()
}

fn sort_dedup<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> (&K, &K)) {
    items.sort_by(|a, b| key(a).cmp(&key(b)));
    items.dedup_by(|a, b| key(a).1 == key(b).1);
}

/// Reads every permission, role and role set of the instance: the three lists at once, each
/// page by page with several pages in flight.
pub fn read<'a>(
    clerk: &'a Clerk,
) -> impl Future<Output = clerk_rbac::Result<Instance>> + Send + 'a {
    async move {
        let (permissions, roles, role_sets) = futures::future::try_join3(
            clerk.organization_permissions().list().collect_all(),
            clerk.organization_roles().list().collect_all(),
            clerk.role_sets().list().collect_all(),
        )
        .await?;
        Ok(Instance::from_api(permissions, roles, role_sets))
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Instance {
        Instance {
            permissions: vec![ObservedPermission {
                id: "perm_1".into(),
                key: "org:a:b".into(),
                name: "A".into(),
                description: String::new(),
                system: false,
            }],
            roles: vec![ObservedRole {
                id: "role_1".into(),
                key: "org:r".into(),
                name: "R".into(),
                description: None,
                permissions: vec!["org:a:b".into()],
            }],
            role_sets: vec![],
        }
    }

    #[test]
    fn export_leaves_out_system_permissions_and_retiring_sets() {
        let mut instance = sample();
        instance.permissions.push(ObservedPermission {
            id: "perm_s".into(),
            key: "org:sys_profile:delete".into(),
            name: "Delete".into(),
            description: "d".into(),
            system: true,
        });
        instance.role_sets.push(ObservedRoleSet {
            id: "rs_1".into(),
            key: "role_set:old".into(),
            name: "Old".into(),
            roles: vec!["org:r".into()],
            default_role: Some("org:r".into()),
            creator_role: Some("org:r".into()),
            migration: Some("in_progress".into()),
            ..Default::default()
        });
        let state = instance.to_desired();
        assert_eq!(state.permissions.keys().collect::<Vec<_>>(), ["org:a:b"]);
        assert!(state.role_sets.is_empty());
        assert_eq!(state.permissions["org:a:b"].description, None);
    }
}
