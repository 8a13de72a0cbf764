//! The seven role operations.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Answer, State, check_name, check_role_key};
use crate::{
    lists::{ListQuery, select},
    wire::{Failure, parse_body},
};
use clerk_rbac::{CreateRole, Patch, UpdateRole};

impl State {
    pub(crate) fn list_roles(&self, q: &ListQuery) -> Answer {
        let (page, total) = select(self.roles.values(), q);
        let data = page.into_iter().map(|r| self.role_json(r.seq)).collect();
        Ok(Self::page(data, total))
    }

    pub(crate) fn get_role(&self, id: &str) -> Answer {
        Ok(self.role_json(self.role_seq(id)?))
    }

    /// Permission IDs from a body, deduplicated; every one must exist.
    fn permission_seqs(&self, ids: &[String]) -> Result<BTreeSet<u64>, Failure> {
        ids.iter()
            .map(|id| {
                self.permission_ids.get(id).copied().ok_or_else(|| {
                    Failure::missing_resource(
                        "permissions",
                        format!("There is no permission with ID {id}."),
                    )
                })
            })
            .collect()
    }

    pub(crate) fn create_role(&mut self, body: &[u8], now: i64) -> Answer {
        let new: CreateRole = parse_body(body)?;
        self.check_plan()?;
        self.check_custom_role_quota()?;
        check_name(&new.name)?;
        check_role_key(&new.key)?;
        if self.role_keys.contains_key(&new.key) {
            return Err(Failure::duplicate("role", &new.key));
        }
        let permissions = self.permission_seqs(new.permissions.as_deref().unwrap_or_default())?;
        let seq = self.insert_role(
            &new.key,
            &new.name,
            new.description.as_deref(),
            permissions,
            now,
        );
        // Spec: CreateOrganizationRole `include_in_initial_role_set`.
        let joins_initial = new.include_in_initial_role_set == Some(true);
        if let Some(set) = self.sets.values_mut().find(|s| s.initial && joins_initial) {
            set.roles.push(seq);
            set.updated_at = now;
        }
        Ok(self.role_json(seq))
    }

    pub(crate) fn update_role(&mut self, id: &str, body: &[u8], now: i64) -> Answer {
        let seq = self.role_seq(id)?;
        let changes: UpdateRole = parse_body(body)?;
        // Assumption: `null` for name, key or permissions changes nothing (they cannot be
        // cleared); only `description` can be cleared.
        if let Patch::Set(name) = &changes.name {
            check_name(name)?;
        }
        if let Patch::Set(key) = &changes.key {
            check_role_key(key)?;
            if self.role_keys.get(key).is_some_and(|other| *other != seq) {
                return Err(Failure::duplicate("role", key));
            }
        }
        let permissions = match &changes.permissions {
            Patch::Set(ids) => {
                let permissions = self.permission_seqs(ids)?;
                self.check_keeps_creator_eligibility(seq, &permissions)?;
                Some(permissions)
            }
            Patch::Clear | Patch::Unchanged => None,
        };
        let role = self.roles.get_mut(&seq).ok_or_else(Failure::internal)?;
        if let Patch::Set(key) = changes.key {
            // Role sets hold roles by seq, so the new key shows in every set at once.
            self.role_keys.remove(&role.key);
            self.role_keys.insert(key.clone(), seq);
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
        Ok(self.role_json(seq))
    }

    /// Spec: DeleteOrganizationRole lists what keeps a role from being deleted: being the
    /// creator role or a domain default role, members holding it, invitations offering it.
    /// Here: a set's default or creator role, members in any set, or pending invitations. Assumption: refused with 422 and the code
    /// `organization_role_in_use`, `meta.reason` saying why (Clerk's code is not published).
    pub(crate) fn delete_role(&mut self, id: &str) -> Answer {
        let seq = self.role_seq(id)?;
        let key = self.role_key(seq).to_owned();
        let in_use = |reason: &str, long: String, set: Option<&str>| {
            let mut failure = Failure::new(422, "organization_role_in_use", "role in use", long)
                .meta("reason", json!(reason));
            if let Some(set) = set {
                failure = failure.meta("role_set_key", json!(set));
            }
            failure
        };
        for set in self.sets.values() {
            if set.default_role == seq {
                return Err(in_use(
                    "default_role",
                    format!(
                        "{key} is the default role of role set {}; pick another default first.",
                        set.key
                    ),
                    Some(&set.key),
                ));
            }
            if set.creator_role == seq {
                return Err(in_use(
                    "creator_role",
                    format!(
                        "{key} is the creator role of role set {}; pick another creator role first.",
                        set.key
                    ),
                    Some(&set.key),
                ));
            }
            if set.members.get(&seq).is_some_and(|n| *n > 0) {
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
        if self.role(seq).invitations > 0 {
            return Err(in_use(
                "invitations",
                format!("Pending invitations offer {key}; revoke them first."),
                None,
            ));
        }
        let role = self.roles.remove(&seq).ok_or_else(Failure::internal)?;
        self.role_ids.remove(&role.id);
        self.role_keys.remove(&role.key);
        // A role that nobody holds leaves the sets that listed it.
        for set in self.sets.values_mut() {
            set.roles.retain(|r| *r != seq);
            set.members.remove(&seq);
        }
        for m in &mut self.migrations {
            if let Some(map) = &mut m.mappings {
                map.retain(|from, to| *from != seq && *to != seq);
            }
        }
        Ok(Self::deleted("role", role.id))
    }

    pub(crate) fn assign_permission(
        &mut self,
        role_id: &str,
        permission_id: &str,
        now: i64,
    ) -> Answer {
        let role = self.role_seq(role_id)?;
        let permission = self.permission_seq(permission_id)?;
        if self.role(role).permissions.contains(&permission) {
            // Spec: AssignPermissionToOrganizationRole documents 409. Assumption: the code is
            // `duplicate_record`, as for Clerk's other duplicates.
            return Err(Failure::new(
                409,
                "duplicate_record",
                "already assigned",
                format!(
                    "Role {} already holds permission {}.",
                    self.role_key(role),
                    self.permissions[&permission].key
                ),
            ));
        }
        let r = self.roles.get_mut(&role).ok_or_else(Failure::internal)?;
        r.permissions.insert(permission);
        r.updated_at = now;
        Ok(self.role_json(role))
    }

    pub(crate) fn remove_permission(
        &mut self,
        role_id: &str,
        permission_id: &str,
        now: i64,
    ) -> Answer {
        let role = self.role_seq(role_id)?;
        let permission = self.permission_seq(permission_id)?;
        if !self.role(role).permissions.contains(&permission) {
            // Assumption: taking away a permission the role does not hold is "not found".
            return Err(Failure::new(
                404,
                "resource_not_found",
                "not found",
                format!(
                    "Role {} does not hold permission {}.",
                    self.role_key(role),
                    self.permissions[&permission].key
                ),
            ));
        }
        let mut remaining = self.role(role).permissions.clone();
        remaining.remove(&permission);
        self.check_keeps_creator_eligibility(role, &remaining)?;
        let r = self.roles.get_mut(&role).ok_or_else(Failure::internal)?;
        r.permissions = remaining;
        r.updated_at = now;
        Ok(self.role_json(role))
    }
}
