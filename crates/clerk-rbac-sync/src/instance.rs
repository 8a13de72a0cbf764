//! What an instance holds, as the sync engine sees it ([`Instance`]), how it is read (every
//! page of the three lists, concurrently), what `export` writes from it, and the
//! [`Fingerprint`] a plan keeps so that apply can tell whether the instance changed since.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use clerk_rbac::{Clerk, Permission, Role, RoleSet, RoleSetType};

use super::{
    file::{DesiredState, PermissionSpec, RoleSetKind, RoleSetSpec, RoleSpec},
    keys::{Kind, is_system_permission},
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
    /// The status of the migration retiring this set (`enqueued`, `in_progress`,
    /// `completed`, ...), when it is being replaced.
    pub migration: Option<String>,
    /// The ID of the set its organizations are moving to, when it is being replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrating_into: Option<String>,
}

impl ObservedRoleSet {
    /// Whether the set has been replaced and is on its way out (its migration has started).
    pub fn is_retiring(&self) -> bool {
        self.migration.is_some()
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
                migration: s.role_set_migration.map(|m| m.status),
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
pub async fn read(clerk: &Clerk) -> clerk_rbac::Result<Instance> {
    let (permissions, roles, role_sets) = futures::future::try_join3(
        clerk.organization_permissions().list().collect_all(),
        clerk.organization_roles().list().collect_all(),
        clerk.role_sets().list().collect_all(),
    )
    .await?;
    Ok(Instance::from_api(permissions, roles, role_sets))
}

/// What a plan saw of each object, in short: one digest per object key, for every kind.
///
/// Apply reads the instance again and compares fingerprints; any difference means the plan was
/// made for a state that no longer holds. The digests cover the ID and every compared field
/// (not timestamps, not member counts, not a migration's progress).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Permission key → digest.
    pub permissions: BTreeMap<String, String>,
    /// Role key → digest.
    pub roles: BTreeMap<String, String>,
    /// Role-set key → digest.
    pub role_sets: BTreeMap<String, String>,
}

impl Fingerprint {
    /// The fingerprint of an instance.
    pub fn of(instance: &Instance) -> Self {
        let mut print = Fingerprint::default();
        for p in &instance.permissions {
            let system = if p.system { "system" } else { "user" };
            print.permissions.insert(
                p.key.clone(),
                digest([p.id.as_str(), &p.name, &p.description, system]),
            );
        }
        for r in &instance.roles {
            let mut parts = vec![
                r.id.as_str(),
                &r.name,
                r.description.as_deref().unwrap_or(""),
            ];
            parts.extend(r.permissions.iter().map(String::as_str));
            print.roles.insert(r.key.clone(), digest(parts));
        }
        for s in &instance.role_sets {
            let mut roles: Vec<&str> = s.roles.iter().map(String::as_str).collect();
            roles.sort_unstable();
            let mut parts = vec![
                s.id.as_str(),
                &s.name,
                s.description.as_deref().unwrap_or(""),
                if s.initial { "initial" } else { "custom" },
                s.default_role.as_deref().unwrap_or(""),
                s.creator_role.as_deref().unwrap_or(""),
                if s.is_retiring() { "retiring" } else { "" },
            ];
            parts.extend(roles);
            print.role_sets.insert(s.key.clone(), digest(parts));
        }
        print
    }

    /// One digest of the whole instance, to show or compare at a glance.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for (tag, map) in [
            ("p", &self.permissions),
            ("r", &self.roles),
            ("s", &self.role_sets),
        ] {
            for (key, value) in map {
                parts.extend([tag, key.as_str(), value.as_str()]);
            }
        }
        digest(parts)
    }

    /// What changed from `self` (what the plan saw) to `now`; `None` when nothing did.
    pub fn drift(&self, now: &Fingerprint) -> Option<Drift> {
        let mut changes = Vec::new();
        for (kind, then, now) in [
            (Kind::Permission, &self.permissions, &now.permissions),
            (Kind::Role, &self.roles, &now.roles),
            (Kind::RoleSet, &self.role_sets, &now.role_sets),
        ] {
            for (key, digest) in then {
                match now.get(key) {
                    None => changes.push(DriftItem {
                        kind,
                        key: key.clone(),
                        change: DriftChange::Removed,
                    }),
                    Some(current) if current != digest => changes.push(DriftItem {
                        kind,
                        key: key.clone(),
                        change: DriftChange::Changed,
                    }),
                    Some(_) => {}
                }
            }
            for key in now.keys().filter(|key| !then.contains_key(*key)) {
                changes.push(DriftItem {
                    kind,
                    key: key.clone(),
                    change: DriftChange::Added,
                });
            }
        }
        changes.sort();
        (!changes.is_empty()).then_some(Drift { changes })
    }
}

/// FNV-1a (64 bit) over the parts, each preceded by its length so that no two different lists
/// of parts feed the same bytes. Stable across Rust versions and platforms, unlike std's hasher.
fn digest<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(PRIME);
        }
    };
    for part in parts {
        feed(&(part.len() as u64).to_le_bytes());
        feed(part.as_bytes());
    }
    format!("{hash:016x}")
}

/// How an instance differs from what a plan saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Each object that appeared, disappeared or changed, sorted by kind and key.
    pub changes: Vec<DriftItem>,
}

/// One object that differs from what the plan saw.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct DriftItem {
    /// Its kind.
    pub kind: Kind,
    /// Its key.
    pub key: String,
    /// What happened to it.
    pub change: DriftChange,
}

/// What happened to an object since the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftChange {
    /// It exists now but did not then.
    Added,
    /// It existed then but does not now.
    Removed,
    /// It exists in both, with a difference.
    Changed,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.changes.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            let what = match item.change {
                DriftChange::Added => "was created",
                DriftChange::Removed => "was deleted",
                DriftChange::Changed => "was changed",
            };
            write!(f, "  {} {} {what}", item.kind.noun(), item.key)?;
        }
        Ok(())
    }
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
    fn digests_are_stable_and_separate_their_parts() {
        assert_eq!(digest(["a", "bc"]), digest(["a", "bc"]));
        assert_ne!(digest(["a", "bc"]), digest(["ab", "c"]));
        // Fixed value: a change of algorithm would make saved plans look stale.
        assert_eq!(digest([]), "cbf29ce484222325");
    }

    #[test]
    fn the_same_instance_has_no_drift() {
        let print = Fingerprint::of(&sample());
        assert_eq!(print.drift(&Fingerprint::of(&sample())), None);
    }

    #[test]
    fn drift_names_what_was_added_removed_and_changed() {
        let then = Fingerprint::of(&sample());
        let mut changed = sample();
        changed.roles[0].permissions.clear();
        changed.permissions[0].key = "org:a:c".into();
        let drift = then.drift(&Fingerprint::of(&changed)).expect("drift");
        assert_eq!(
            drift.changes,
            vec![
                DriftItem {
                    kind: Kind::Permission,
                    key: "org:a:b".into(),
                    change: DriftChange::Removed
                },
                DriftItem {
                    kind: Kind::Permission,
                    key: "org:a:c".into(),
                    change: DriftChange::Added
                },
                DriftItem {
                    kind: Kind::Role,
                    key: "org:r".into(),
                    change: DriftChange::Changed
                },
            ]
        );
        assert_eq!(
            drift.to_string(),
            "  permission org:a:b was deleted\n  permission org:a:c was created\n  role org:r was changed"
        );
    }

    #[test]
    fn a_recreated_object_with_the_same_key_is_a_change() {
        let then = Fingerprint::of(&sample());
        let mut recreated = sample();
        recreated.roles[0].id = "role_2".into();
        assert!(then.drift(&Fingerprint::of(&recreated)).is_some());
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
