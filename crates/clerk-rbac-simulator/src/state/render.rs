//! Records as the crate's model types (what the operations answer), and those models as JSON
//! on the wire.

use serde::Serialize;
use serde_json::Value;

use super::{MigrationSnapshot, PermissionSnapshot, RoleSetSnapshot, RoleSnapshot, State};
use crate::wire::{fill_nulls, with_nulls};
use clerk_rbac::{
    DeletedObject, Page, Permission, Role, RoleSet, RoleSetItem, RoleSetMigration, RoleSetType,
};

impl State {
    pub(super) fn permission_model(p: &PermissionSnapshot) -> Permission {
        Permission {
            created_at: p.created_at,
            description: p.description.clone(),
            id: p.id.clone(),
            key: p.key.clone(),
            name: p.name.clone(),
            object: "permission".into(),
            // Spec: Permission `type`; the notes: "system" or "user".
            type_: Some(if p.system { "system" } else { "user" }.into()),
            updated_at: p.updated_at,
        }
    }

    pub(super) fn role_model(&self, r: &RoleSnapshot) -> Role {
        Role {
            created_at: r.created_at,
            description: r.description.clone(),
            id: r.id.clone(),
            is_creator_eligible: Self::is_creator_eligible(&r.permissions),
            key: r.key.clone(),
            name: r.name.clone(),
            object: "role".into(),
            permissions: r
                .permissions
                .iter()
                .filter_map(|key| self.permissions.by_key(key))
                .map(Self::permission_model)
                .collect(),
            updated_at: r.updated_at,
        }
    }

    fn item(&self, set: &RoleSetSnapshot, role_key: &str) -> Option<RoleSetItem> {
        let r = self.roles.by_key(role_key)?;
        let members = set.members_of(role_key);
        Some(RoleSetItem {
            created_at: r.created_at,
            description: r.description.clone(),
            has_members: Some(members > 0),
            id: r.id.clone(),
            key: r.key.clone(),
            members_count: Some(i64::try_from(members).unwrap_or(i64::MAX)),
            name: r.name.clone(),
            object: "role_set_item".into(),
            updated_at: r.updated_at,
        })
    }

    fn migration_model(&self, m: &MigrationSnapshot, now: i64) -> RoleSetMigration {
        // Assumption: a fifth of the duration enqueued, the rest in progress, members moving
        // at an even pace; the status is computed from the time elapsed.
        let enqueued_ms = m.duration_ms / 5;
        let elapsed = now.saturating_sub(m.created_at);
        let (status, started_at, migrated) = if elapsed < enqueued_ms {
            ("enqueued", None, 0)
        } else if elapsed < m.duration_ms {
            let running = (elapsed - enqueued_ms) as u128;
            let span = (m.duration_ms - enqueued_ms).max(1) as u128;
            let migrated = (u128::from(m.total_members) * running / span) as u64;
            ("in_progress", Some(m.created_at + enqueued_ms), migrated)
        } else {
            (
                "completed",
                Some(m.created_at + enqueued_ms),
                m.total_members,
            )
        };
        RoleSetMigration {
            completed_at: None,
            created_at: m.created_at,
            dest_role_set_id: self.sets.by_key(&m.dest).map(|s| s.id.clone()),
            id: m.id.clone(),
            instance_id: self.instance_id.clone(),
            mappings: m.mappings.as_ref().map(|map| {
                map.iter()
                    .map(|(from, to)| (from.clone(), to.clone()))
                    .collect()
            }),
            migrated_members: i64::try_from(migrated).unwrap_or(i64::MAX),
            object: "role_set_migration".into(),
            organization_id: None,
            source_role_set_id: self
                .sets
                .by_key(&m.source)
                .map_or_else(String::new, |s| s.id.clone()),
            started_at,
            status: status.into(),
            // Spec: RoleSetMigration `trigger_type`, e.g. "role_set_deletion".
            trigger_type: "role_set_deletion".into(),
            updated_at: started_at.unwrap_or(m.created_at),
        }
    }

    pub(super) fn set_model(&self, s: &RoleSetSnapshot, now: i64) -> RoleSet {
        RoleSet {
            created_at: s.created_at,
            creator_role: self.item(s, &s.creator_role),
            default_role: self.item(s, &s.default_role),
            description: s.description.clone(),
            id: s.id.clone(),
            key: s.key.clone(),
            name: s.name.clone(),
            object: "role_set".into(),
            // Spec: RoleSet `role_set_migration`, present while enqueued or in progress.
            role_set_migration: self
                .migration_from(&s.key)
                .map(|m| self.migration_model(m, now)),
            roles: s
                .roles
                .iter()
                .filter_map(|m| self.item(s, &m.role))
                .collect(),
            type_: if s.initial {
                RoleSetType::Initial
            } else {
                RoleSetType::Custom
            },
            updated_at: s.updated_at,
        }
    }

    pub(super) fn deleted(object: &str, id: String) -> DeletedObject {
        DeletedObject {
            deleted: true,
            external_id: None,
            id: Some(id),
            object: object.into(),
            slug: None,
        }
    }
}

/// A page of `rows`, out of `total` matching ones.
pub(super) fn page<T>(rows: impl Iterator<Item = T>, total: usize) -> Page<T> {
    Page::new(rows.collect(), i64::try_from(total).unwrap_or(i64::MAX))
}

/// A model type as the simulator writes it on the wire.
pub(crate) trait Wire {
    /// The JSON body of an answer carrying this model.
    fn wire(&self) -> Value;
}

/// Serialized as they are.
fn plain<T: Serialize>(model: &T) -> Value {
    serde_json::to_value(model).unwrap_or_default()
}

impl Wire for Permission {
    fn wire(&self) -> Value {
        plain(self)
    }
}

impl Wire for DeletedObject {
    fn wire(&self) -> Value {
        plain(self)
    }
}

impl Wire for Role {
    fn wire(&self) -> Value {
        with_nulls(self, &["description"])
    }
}

impl Wire for RoleSet {
    fn wire(&self) -> Value {
        let mut json = with_nulls(self, &["description", "role_set_migration"]);
        for item in ["default_role", "creator_role"] {
            fill_nulls(&mut json[item], &["description"]);
        }
        if let Some(Value::Array(items)) = json.get_mut("roles") {
            for item in items {
                fill_nulls(item, &["description"]);
            }
        }
        fill_nulls(
            &mut json["role_set_migration"],
            &[
                "organization_id",
                "dest_role_set_id",
                "mappings",
                "started_at",
                "completed_at",
            ],
        );
        json
    }
}

impl<T: Wire> Wire for Page<T> {
    fn wire(&self) -> Value {
        let data: Vec<Value> = self.data.iter().map(Wire::wire).collect();
        plain(&Page::new(data, self.total_count))
    }
}
