//! The five permission operations.

use super::{Answer, PermissionRec, State, check_name, check_permission_key};
use crate::{
    lists::{ListQuery, select},
    wire::{Failure, parse_body},
};
use clerk_rbac::{CreatePermission, UpdatePermission};

impl State {
    pub(crate) fn list_permissions(&self, q: &ListQuery) -> Answer {
        let (page, total) = select(self.permissions.values(), q);
        let data = page
            .into_iter()
            .map(|p| self.permission_json(p.seq))
            .collect();
        Ok(Self::page(data, total))
    }

    pub(crate) fn get_permission(&self, id: &str) -> Answer {
        Ok(self.permission_json(self.permission_seq(id)?))
    }

    pub(crate) fn create_permission(&mut self, body: &[u8], now: i64) -> Answer {
        let new: CreatePermission = parse_body(body)?;
        self.check_plan()?;
        check_name(&new.name)?;
        check_permission_key(&new.key)?;
        if self.permission_keys.contains_key(&new.key) {
            return Err(Failure::duplicate("permission", &new.key));
        }
        let description = new.description.unwrap_or_default();
        let seq = self.insert_permission(&new.key, &new.name, &description, false, now);
        Ok(self.permission_json(seq))
    }

    pub(crate) fn update_permission(&mut self, id: &str, body: &[u8], now: i64) -> Answer {
        let seq = self.permission_seq(id)?;
        let changes: UpdatePermission = parse_body(body)?;
        check_not_system(&self.permissions[&seq])?;
        if let Some(name) = &changes.name {
            check_name(name)?;
        }
        if let Some(key) = &changes.key {
            check_permission_key(key)?;
            if self
                .permission_keys
                .get(key)
                .is_some_and(|other| *other != seq)
            {
                return Err(Failure::duplicate("permission", key));
            }
        }
        let p = self
            .permissions
            .get_mut(&seq)
            .ok_or_else(Failure::internal)?;
        if let Some(key) = changes.key {
            self.permission_keys.remove(&p.key);
            self.permission_keys.insert(key.clone(), seq);
            p.key = key;
        }
        if let Some(name) = changes.name {
            p.name = name;
        }
        if let Some(description) = changes.description {
            p.description = description;
        }
        p.updated_at = now;
        Ok(self.permission_json(seq))
    }

    pub(crate) fn delete_permission(&mut self, id: &str) -> Answer {
        let seq = self.permission_seq(id)?;
        check_not_system(&self.permissions[&seq])?;
        let p = self
            .permissions
            .remove(&seq)
            .ok_or_else(Failure::internal)?;
        self.permission_ids.remove(&p.id);
        self.permission_keys.remove(&p.key);
        // A deleted permission is no longer held by any role.
        for role in self.roles.values_mut() {
            role.permissions.remove(&seq);
        }
        Ok(Self::deleted("permission", p.id))
    }
}

/// Spec: UpdateOrganizationPermission and DeleteOrganizationPermission: system permissions
/// can be neither changed nor deleted; both operations document 403. Assumption: Clerk's `ResourceForbidden`
/// code, `resource_forbidden`.
fn check_not_system(p: &PermissionRec) -> Result<(), Failure> {
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
