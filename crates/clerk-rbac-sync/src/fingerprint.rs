//! What a plan saw, in short ([`Fingerprint`]: one digest per object), and how an instance
//! differs from it ([`Drift`]): how apply tells that a plan no longer fits the instance.

use std::{collections::BTreeMap, fmt};

use serde::{Deserialize, Serialize};

use super::{instance::Instance, keys::Kind};

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
    use crate::instance::{ObservedPermission, ObservedRole};

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
}
