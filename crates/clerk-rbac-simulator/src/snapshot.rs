//! Whole-instance snapshots: what [`Simulator::snapshot`](super::Simulator::snapshot) returns
//! and [`Simulator::restore`](super::Simulator::restore) takes. They serialize to JSON and back
//! without loss, so a program can keep an instance between runs.
//!
//! A snapshot is the instance's records ([`records`](super::records)) in creation order, which
//! a restore keeps (it breaks ties between equal timestamps in lists). Records refer to each
//! other by key, so a snapshot reads like the instance it describes.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{
    SimulatorError,
    clock::Clock,
    ids::Ids,
    records::{MigrationSnapshot, PermissionSnapshot, RoleSetSnapshot, RoleSnapshot},
    state::{Rules, State, check_permission_key, check_role_key, check_role_set_key},
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
        Snapshot {
            version: FORMAT_VERSION,
            instance_id: self.instance_id.clone(),
            taken_at: now,
            permissions: self.permissions.values().cloned().collect(),
            roles: self.roles.values().cloned().collect(),
            role_sets: self.sets.values().cloned().collect(),
            migrations: self.migrations.clone(),
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
            if state.permissions.contains_key(&p.key) {
                return Err(format!("permission key `{}` is used twice", p.key));
            }
            state.permissions.insert(PermissionSnapshot::clone(p));
        }

        for r in &snapshot.roles {
            claim_id(&r.id, "role")?;
            check_role_key(&r.key).map_err(|f| f.long_message)?;
            if state.roles.contains_key(&r.key) {
                return Err(format!("role key `{}` is used twice", r.key));
            }
            if let Some(unknown) = r
                .permissions
                .iter()
                .find(|key| !state.permissions.contains_key(key))
            {
                return Err(format!(
                    "role `{}` holds unknown permission `{unknown}`",
                    r.key
                ));
            }
            let mut role = RoleSnapshot::clone(r);
            role.permissions = state.in_creation_order(&r.permissions);
            state.roles.insert(role);
        }

        if snapshot.role_sets.iter().filter(|s| s.initial).count() > 1 {
            return Err("more than one role set is initial".into());
        }
        for s in &snapshot.role_sets {
            claim_id(&s.id, "role set")?;
            check_role_set_key(&s.key).map_err(|f| f.long_message)?;
            if state.sets.contains_key(&s.key) {
                return Err(format!("role set key `{}` is used twice", s.key));
            }
            let role = |key: &str| {
                if state.roles.contains_key(key) {
                    Ok(())
                } else {
                    Err(format!("role set `{}` names unknown role `{key}`", s.key))
                }
            };
            let mut seen = HashSet::new();
            for member in &s.roles {
                role(&member.role)?;
                if !seen.insert(member.role.as_str()) {
                    return Err(format!(
                        "role set `{}` lists `{}` twice",
                        s.key, member.role
                    ));
                }
            }
            role(&s.default_role)?;
            role(&s.creator_role)?;
            if s.roles.is_empty() || !s.holds(&s.default_role) || !s.holds(&s.creator_role) {
                return Err(format!(
                    "role set `{}` must hold at least one role, its default role and its creator role",
                    s.key
                ));
            }
            state.sets.insert(RoleSetSnapshot::clone(s));
        }

        for m in &snapshot.migrations {
            claim_id(&m.id, "migration")?;
            let set = |key: &str| {
                state
                    .sets
                    .by_key(key)
                    .ok_or_else(|| format!("migration `{}` names unknown role set `{key}`", m.id))
            };
            let (source, dest) = (set(&m.source)?, set(&m.dest)?);
            if source.key == dest.key
                || state
                    .migrations
                    .iter()
                    .any(|other| other.source == m.source)
            {
                return Err(format!(
                    "migration `{}` has an impossible source or destination",
                    m.id
                ));
            }
            for (from, to) in m.mappings.iter().flatten() {
                for (key, set) in [(from, source), (to, dest)] {
                    if !set.holds(key) {
                        return Err(format!(
                            "migration `{}` maps a role outside its sets: `{key}`",
                            m.id
                        ));
                    }
                }
            }
            let mut migration = MigrationSnapshot::clone(m);
            migration.duration_ms = m.duration_ms.max(0);
            state.migrations.push(migration);
        }
        Ok(state)
    }
}
