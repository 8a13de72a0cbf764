//! The five permission operations.

use super::{PermissionSnapshot, State, check_name, check_permission_key, render::page};
use crate::{
    lists::{ListQuery, select},
    wire::Failure,
};
use clerk_rbac::{CreatePermission, DeletedObject, Page, Permission, UpdatePermission};

impl State {
    pub(crate) fn list_permissions(&self, q: &ListQuery) -> Result<Page<Permission>, Failure> {
        let (rows, total) = select(self.permissions.iter(), q);
        Ok(page(rows.into_iter().map(Self::permission_model), total))
    }

    pub(crate) fn get_permission(&self, seq: u64) -> Result<Permission, Failure> {
        Ok(Self::permission_model(&self.permissions[seq]))
    }

    pub(crate) fn create_permission(
        &mut self,
        new: CreatePermission,
        now: i64,
    ) -> Result<Permission, Failure> {
        self.check_plan()?;
        check_name(&new.name)?;
        check_permission_key(&new.key)?;
        if self.permissions.contains_key(&new.key) {
            return Err(Failure::duplicate("permission", &new.key));
        }
        let description = new.description.unwrap_or_default();
        let seq = self.insert_permission(&new.key, &new.name, &description, false, now);
        self.get_permission(seq)
    }

    pub(crate) fn update_permission(
        &mut self,
        seq: u64,
        changes: UpdatePermission,
        now: i64,
    ) -> Result<Permission, Failure> {
        check_not_system(&self.permissions[seq])?;
        if let Some(name) = &changes.name {
            check_name(name)?;
        }
        if let Some(key) = &changes.key {
            check_permission_key(key)?;
            if self
                .permissions
                .seq_of_key(key)
                .is_some_and(|other| other != seq)
            {
                return Err(Failure::duplicate("permission", key));
            }
            let old = self.permissions[seq].key.clone();
            self.rename_permission(&old, key);
        }
        self.permissions
            .update(seq, |p| {
                if let Some(key) = changes.key {
                    p.key = key;
                }
                if let Some(name) = changes.name {
                    p.name = name;
                }
                if let Some(description) = changes.description {
                    p.description = description;
                }
                p.updated_at = now;
            })
            .ok_or_else(Failure::internal)?;
        self.get_permission(seq)
    }

    pub(crate) fn delete_permission(&mut self, seq: u64) -> Result<DeletedObject, Failure> {
        check_not_system(&self.permissions[seq])?;
        let p = self.permissions.remove(seq).ok_or_else(Failure::internal)?;
        // A deleted permission is no longer held by any role.
        self.roles
            .update_all(|role| role.permissions.retain(|k| *k != p.key));
        Ok(Self::deleted("permission", p.id))
    }
}

/// Spec: UpdateOrganizationPermission and DeleteOrganizationPermission: system permissions
/// can be neither changed nor deleted; both operations document 403. Assumption: Clerk's `ResourceForbidden`
/// code, `resource_forbidden`.
fn check_not_system(p: &PermissionSnapshot) -> Result<(), Failure> {
    if p.system {
        return Err(Failure::new(
            403,
            "resource_forbidden",
            "forbidden",
            format!(
                "{} is a system permission; it cannot be changed or deleted.",
                p.key
            ),
        ));
    }
    Ok(())
}
