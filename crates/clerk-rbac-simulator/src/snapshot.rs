//! Whole-instance snapshots: what [`Simulator::snapshot`](super::Simulator::snapshot) returns
//! and [`Simulator::restore`](super::Simulator::restore) takes. They serialize to JSON and back
//! without loss, so a program can keep an instance between runs.
//!
//! Objects refer to each other by key (a role's permissions, a role set's roles), so a
//! snapshot reads like the instance it describes; lists are in creation order, which a restore
//! keeps (it breaks ties between equal timestamps in lists).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{
    SimulatorError,
    clock::Clock,
    ids::Ids,
    state::{
        MigrationRec, PermissionRec, RoleRec, Rules, SetRec, State, check_permission_key,
        check_role_key, check_role_set_key,
    },
};

/// The snapshot format this version writes and reads.
const FORMAT_VERSION: u32 = 1;

/// A whole simulated instance at one moment: permissions, roles, role sets, members,
/// invitations and migrations under way.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use clerk_rbac_simulator::{Simulator, Snapshot};
/// let sim = Simulator::start().await?;
/// let before = sim.snapshot();
/// let json = before.to_json();
/// // ... change the instance, then put it back:
/// sim.restore(&Snapshot::from_json(&json)?)?;
/// assert_eq!(sim.snapshot().roles, before.roles);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// The snapshot format (1).
    pub version: u32,
    /// The instance's ID (`ins_...`), which migrations carry.
    pub instance_id: String,
    /// The instance's clock when the snapshot was taken, in Unix milliseconds. A restored
    /// instance's clock never reads earlier than this.
    pub taken_at: i64,
    /// Every permission, system ones included, in creation order.
    pub permissions: Vec<PermissionSnapshot>,
    /// Every role, in creation order.
    pub roles: Vec<RoleSnapshot>,
    /// Every role set, in creation order (sets being replaced included).
    pub role_sets: Vec<RoleSetSnapshot>,
    /// Role set replacements not yet completed.
    pub migrations: Vec<MigrationSnapshot>,
}

/// One permission in a [`Snapshot`].
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

/// One role in a [`Snapshot`].
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

/// One role set in a [`Snapshot`].
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

/// One role of a role set in a [`Snapshot`], with its members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RoleSetMemberSnapshot {
    /// The role's key.
    pub role: String,
    /// How many members hold the role in organizations using the set.
    pub members: u64,
}

/// A role set replacement under way, in a [`Snapshot`].
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

impl Snapshot {
    /// The snapshot as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Only strings, integers, booleans, maps with string keys: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a snapshot written by [`to_json`](Snapshot::to_json). Checks only that it is
    /// well-formed JSON of the right shape; whether it describes a consistent instance is
    /// checked when it is restored.
    pub fn from_json(json: &str) -> Result<Snapshot, SimulatorError> {
        serde_json::from_str(json).map_err(|e| SimulatorError::InvalidSnapshot(e.to_string()))
    }
}

impl State {
    pub(crate) fn snapshot(&self, now: i64) -> Snapshot {
        let permission_key = |seq: &u64| self.permissions.get(seq).map(|p| p.key.clone());
        let role_key = |seq: &u64| {
            self.roles
                .get(seq)
                .map_or_else(String::new, |r| r.key.clone())
        };
        let set_key = |seq: &u64| {
            self.sets
                .get(seq)
                .map_or_else(String::new, |s| s.key.clone())
        };
        Snapshot {
            version: FORMAT_VERSION,
            instance_id: self.instance_id.clone(),
            taken_at: now,
            permissions: self
                .permissions
                .values()
                .map(|p| PermissionSnapshot {
                    id: p.id.clone(),
                    key: p.key.clone(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    system: p.system,
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                })
                .collect(),
            roles: self
                .roles
                .values()
                .map(|r| RoleSnapshot {
                    id: r.id.clone(),
                    key: r.key.clone(),
                    name: r.name.clone(),
                    description: r.description.clone(),
                    permissions: r.permissions.iter().filter_map(permission_key).collect(),
                    invitations: r.invitations,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                })
                .collect(),
            role_sets: self
                .sets
                .values()
                .map(|s| RoleSetSnapshot {
                    id: s.id.clone(),
                    key: s.key.clone(),
                    name: s.name.clone(),
                    description: s.description.clone(),
                    initial: s.initial,
                    roles: s
                        .roles
                        .iter()
                        .map(|r| RoleSetMemberSnapshot {
                            role: role_key(r),
                            members: s.members.get(r).copied().unwrap_or(0),
                        })
                        .collect(),
                    default_role: role_key(&s.default_role),
                    creator_role: role_key(&s.creator_role),
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                })
                .collect(),
            migrations: self
                .migrations
                .iter()
                .map(|m| MigrationSnapshot {
                    id: m.id.clone(),
                    source: set_key(&m.source),
                    dest: set_key(&m.dest),
                    mappings: m.mappings.as_ref().map(|map| {
                        map.iter()
                            .map(|(from, to)| (role_key(from), role_key(to)))
                            .collect()
                    }),
                    created_at: m.created_at,
                    duration_ms: m.duration_ms,
                    total_members: m.total_members,
                })
                .collect(),
        }
    }

    /// The instance a snapshot describes, after checking that it is one the API could have
    /// produced: well-formed and unique keys and IDs, references that resolve, role sets
    /// with their default and creator roles, at most one initial set.
    pub(crate) fn restore(
        snapshot: &Snapshot,
        ids: Ids,
        rules: Rules,
        clock: Clock,
    ) -> Result<State, String> {
        if snapshot.version != FORMAT_VERSION {
            return Err(format!(
                "snapshot format {} is not supported (this version reads {FORMAT_VERSION})",
                snapshot.version
            ));
        }
        let mut state = State::empty(ids, rules, clock.not_before(snapshot.taken_at));
        state.instance_id.clone_from(&snapshot.instance_id);
        let mut taken_ids = HashSet::new();
        let mut claim_id = |id: &str, what: &str| {
            if id.is_empty() || !taken_ids.insert(id.to_owned()) {
                Err(format!("{what} ID `{id}` is empty or used twice"))
            } else {
                Ok(())
            }
        };

        for p in &snapshot.permissions {
            claim_id(&p.id, "permission")?;
            let key_ok = if p.system {
                p.key.starts_with("org:sys_")
            } else {
                check_permission_key(&p.key).is_ok()
            };
            if !key_ok {
                return Err(format!("permission key `{}` is not valid", p.key));
            }
            if state.permission_keys.contains_key(&p.key) {
                return Err(format!("permission key `{}` is used twice", p.key));
            }
            let seq = state.take_seq();
            state.permission_ids.insert(p.id.clone(), seq);
            state.permission_keys.insert(p.key.clone(), seq);
            state.permissions.insert(
                seq,
                PermissionRec {
                    seq,
                    id: p.id.clone(),
                    key: p.key.clone(),
                    name: p.name.clone(),
                    description: p.description.clone(),
                    system: p.system,
                    created_at: p.created_at,
                    updated_at: p.updated_at,
                },
            );
        }

        for r in &snapshot.roles {
            claim_id(&r.id, "role")?;
            check_role_key(&r.key).map_err(|f| f.long_message)?;
            if state.role_keys.contains_key(&r.key) {
                return Err(format!("role key `{}` is used twice", r.key));
            }
            let permissions =
                r.permissions
                    .iter()
                    .map(|key| {
                        state.permission_keys.get(key).copied().ok_or_else(|| {
                            format!("role `{}` holds unknown permission `{key}`", r.key)
                        })
                    })
                    .collect::<Result<BTreeSet<u64>, String>>()?;
            let seq = state.take_seq();
            state.role_ids.insert(r.id.clone(), seq);
            state.role_keys.insert(r.key.clone(), seq);
            state.roles.insert(
                seq,
                RoleRec {
                    seq,
                    id: r.id.clone(),
                    key: r.key.clone(),
                    name: r.name.clone(),
                    description: r.description.clone(),
                    permissions,
                    invitations: r.invitations,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                },
            );
        }

        if snapshot.role_sets.iter().filter(|s| s.initial).count() > 1 {
            return Err("more than one role set is initial".into());
        }
        for s in &snapshot.role_sets {
            claim_id(&s.id, "role set")?;
            check_role_set_key(&s.key).map_err(|f| f.long_message)?;
            if state.set_keys.contains_key(&s.key) {
                return Err(format!("role set key `{}` is used twice", s.key));
            }
            let role = |key: &str| {
                state
                    .role_keys
                    .get(key)
                    .copied()
                    .ok_or_else(|| format!("role set `{}` names unknown role `{key}`", s.key))
            };
            let mut roles = Vec::new();
            let mut members = HashMap::new();
            for member in &s.roles {
                let seq = role(&member.role)?;
                if roles.contains(&seq) {
                    return Err(format!(
                        "role set `{}` lists `{}` twice",
                        s.key, member.role
                    ));
                }
                roles.push(seq);
                if member.members > 0 {
                    members.insert(seq, member.members);
                }
            }
            let default_role = role(&s.default_role)?;
            let creator_role = role(&s.creator_role)?;
            if roles.is_empty() || !roles.contains(&default_role) || !roles.contains(&creator_role)
            {
                return Err(format!(
                    "role set `{}` must hold at least one role, its default role and its creator role",
                    s.key
                ));
            }
            let seq = state.take_seq();
            state.set_ids.insert(s.id.clone(), seq);
            state.set_keys.insert(s.key.clone(), seq);
            state.sets.insert(
                seq,
                SetRec {
                    seq,
                    id: s.id.clone(),
                    key: s.key.clone(),
                    name: s.name.clone(),
                    description: s.description.clone(),
                    initial: s.initial,
                    roles,
                    members,
                    default_role,
                    creator_role,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                },
            );
        }

        for m in &snapshot.migrations {
            claim_id(&m.id, "migration")?;
            let set =
                |key: &str| {
                    state.set_keys.get(key).copied().ok_or_else(|| {
                        format!("migration `{}` names unknown role set `{key}`", m.id)
                    })
                };
            let (source, dest) = (set(&m.source)?, set(&m.dest)?);
            if source == dest || state.migrations.iter().any(|other| other.source == source) {
                return Err(format!(
                    "migration `{}` has an impossible source or destination",
                    m.id
                ));
            }
            let mappings = match &m.mappings {
                None => None,
                Some(map) => {
                    let mut resolved = BTreeMap::new();
                    for (from, to) in map {
                        let in_set = |key: &str, set: u64| {
                            state
                                .role_keys
                                .get(key)
                                .copied()
                                .filter(|r| state.sets[&set].roles.contains(r))
                                .ok_or_else(|| {
                                    format!(
                                        "migration `{}` maps a role outside its sets: `{key}`",
                                        m.id
                                    )
                                })
                        };
                        resolved.insert(in_set(from, source)?, in_set(to, dest)?);
                    }
                    Some(resolved)
                }
            };
            state.migrations.push(MigrationRec {
                id: m.id.clone(),
                source,
                dest,
                mappings,
                created_at: m.created_at,
                duration_ms: m.duration_ms.max(0),
                total_members: m.total_members,
            });
        }
        Ok(state)
    }
}
