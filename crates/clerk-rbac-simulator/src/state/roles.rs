//! The seven role operations.

use serde_json::json;

use super::{State, check_name, check_role_key, render::page};
use crate::{
    lists::{ListQuery, select},
    wire::Failure,
};
use clerk_rbac::{CreateRole, DeletedObject, Page, Patch, Role, UpdateRole};

impl State {
    pub(crate) fn list_roles(&self, q: &ListQuery) -> Result<Page<Role>, Failure> {
        let (rows, total) = select(self.roles.iter(), q);
        Ok(page(rows.into_iter().map(|r| self.role_model(r)), total))
    }

    pub(crate) fn get_role(&self, seq: u64) -> Result<Role, Failure> {
        Ok(self.role_model(&self.roles[seq]))
    }

    /// Permission IDs from a body, as keys in creation order, each once; every one must exist.
    fn permission_keys(&self, ids: &[String]) -> Result<Vec<String>, Failure> {
        let mut keys = Vec::with_capacity(ids.len());
        for id in ids {
            let seq = self.permissions.seq_of_id(id).ok_or_else(|| {
                Failure::missing_resource(
                    "permissions",
                    format!("There is no permission with ID {id}."),
                )
            })?;
            keys.push(self.permissions[seq].key.clone());
        }
        Ok(self.in_creation_order(&keys))
    }

    pub(crate) fn create_role(&mut self, new: CreateRole, now: i64) -> Result<Role, Failure> {
        self.check_plan()?;
        self.check_custom_role_quota()?;
        check_name(&new.name)?;
        check_role_key(&new.key)?;
        if self.roles.contains_key(&new.key) {
            return Err(Failure::duplicate("role", &new.key));
        }
        let permissions = self.permission_keys(new.permissions.as_deref().unwrap_or_default())?;
        let seq = self.insert_role(
            &new.key,
            &new.name,
            new.description.as_deref(),
            permissions,
            now,
        );
        // Spec: CreateOrganizationRole `include_in_initial_role_set`.
        if new.include_in_initial_role_set == Some(true) {
            let initial = self
                .sets
                .iter()
                .find(|(_, s)| s.initial)
                .map(|(seq, _)| seq);
            if let Some(set) = initial {
                self.sets.update(set, |set| {
                    set.roles.push(super::RoleSetMemberSnapshot::new(new.key));
                    set.updated_at = now;
                });
            }
        }
        self.get_role(seq)
    }

    pub(crate) fn update_role(
        &mut self,
        seq: u64,
        changes: UpdateRole,
        now: i64,
    ) -> Result<Role, Failure> {
        // Assumption: `null` for name, key or permissions changes nothing (they cannot be
        // cleared); only `description` can be cleared.
        if let Patch::Set(name) = &changes.name {
            check_name(name)?;
        }
        if let Patch::Set(key) = &changes.key {
            check_role_key(key)?;
            if self.roles.seq_of_key(key).is_some_and(|other| other != seq) {
                return Err(Failure::duplicate("role", key));
            }
        }
        let permissions = match &changes.permissions {
            Patch::Set(ids) => {
                let permissions = self.permission_keys(ids)?;
                self.check_keeps_creator_eligibility(seq, &permissions)?;
                Some(permissions)
            }
            Patch::Clear | Patch::Unchanged => None,
        };
        if let Patch::Set(key) = &changes.key {
            // The role sets and migrations that name the role follow the new key.
            let old = self.roles[seq].key.clone();
            self.rename_role(&old, key);
        }
        self.roles
            .update(seq, |role| {
                if let Patch::Set(key) = changes.key {
                    role.key = key;
                }
                if let Patch::Set(name) = changes.name {
                    role.name = name;
                }
                match changes.description {
                    Patch::Set(description) => role.description = Some(description),
                    Patch::Clear => role.description = None,
                    Patch::Unchanged => {}
                }
                if let Some(permissions) = permissions {
                    role.permissions = permissions;
                }
                role.updated_at = now;
            })
            .ok_or_else(Failure::internal)?;
        self.get_role(seq)
    }

    /// Spec: DeleteOrganizationRole lists what keeps a role from being deleted: being the
    /// creator role or a domain default role, members holding it, invitations offering it.
    /// Here: a set's default or creator role, members in any set, or pending invitations. Assumption: refused with 422 and the code
    /// `organization_role_in_use`, `meta.reason` saying why (Clerk's code is not published).
    pub(crate) fn delete_role(&mut self, seq: u64) -> Result<DeletedObject, Failure> {
        let key = self.roles[seq].key.clone();
        let in_use = |reason: &str, long: String, set: Option<&str>| {
            let mut failure = Failure::new(422, "organization_role_in_use", "role in use", long)
                .meta("reason", json!(reason));
            if let Some(set) = set {
                failure = failure.meta("role_set_key", json!(set));
            }
            failure
        };
        for set in self.sets.values() {
            if set.default_role == key {
                return Err(in_use(
                    "default_role",
                    format!(
                        "{key} is the default role of role set {}; pick another default first.",
                        set.key
                    ),
                    Some(&set.key),
                ));
            }
            if set.creator_role == key {
                return Err(in_use(
                    "creator_role",
                    format!(
                        "{key} is the creator role of role set {}; pick another creator role first.",
                        set.key
                    ),
                    Some(&set.key),
                ));
            }
            if set.members_of(&key) > 0 {
                return Err(in_use(
                    "members",
                    format!(
                        "Members of role set {} hold {key}; move them to another role first.",
                        set.key
                    ),
                    Some(&set.key),
                ));
            }
        }
        if self.roles[seq].invitations > 0 {
            return Err(in_use(
                "invitations",
                format!("Pending invitations offer {key}; revoke them first."),
                None,
            ));
        }
        let role = self.roles.remove(seq).ok_or_else(Failure::internal)?;
        // A role that nobody holds leaves the sets that listed it.
        self.sets
            .update_all(|set| set.roles.retain(|m| m.role != role.key));
        for m in &mut self.migrations {
            if let Some(map) = &mut m.mappings {
                map.retain(|from, to| *from != role.key && *to != role.key);
            }
        }
        Ok(Self::deleted("role", role.id))
    }

    pub(crate) fn assign_permission(
        &mut self,
        role: u64,
        permission: u64,
        now: i64,
    ) -> Result<Role, Failure> {
        let permission_key = self.permissions[permission].key.clone();
        if self.roles[role].permissions.contains(&permission_key) {
            // Spec: AssignPermissionToOrganizationRole documents 409. Assumption: the code is
            // `duplicate_record`, as for Clerk's other duplicates.
            return Err(Failure::new(
                409,
                "duplicate_record",
                "already assigned",
                format!(
                    "Role {} already holds permission {permission_key}.",
                    self.roles[role].key,
                ),
            ));
        }
        let held = self.roles[role].permissions.iter().chain([&permission_key]);
        let permissions = self.in_creation_order(held);
        self.roles
            .update(role, |r| {
                r.permissions = permissions;
                r.updated_at = now;
            })
            .ok_or_else(Failure::internal)?;
        self.get_role(role)
    }

    pub(crate) fn remove_permission(
        &mut self,
        role: u64,
        permission: u64,
        now: i64,
    ) -> Result<Role, Failure> {
        let permission_key = self.permissions[permission].key.clone();
        if !self.roles[role].permissions.contains(&permission_key) {
            // Assumption: taking away a permission the role does not hold is "not found".
            return Err(Failure::new(
                404,
                "resource_not_found",
                "not found",
                format!(
                    "Role {} does not hold permission {permission_key}.",
                    self.roles[role].key,
                ),
            ));
        }
        let mut remaining = self.roles[role].permissions.clone();
        remaining.retain(|k| *k != permission_key);
        self.check_keeps_creator_eligibility(role, &remaining)?;
        self.roles
            .update(role, |r| {
                r.permissions = remaining;
                r.updated_at = now;
            })
            .ok_or_else(Failure::internal)?;
        self.get_role(role)
    }
}
