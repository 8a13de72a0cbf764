//! Reading a step's object back after an error that may hide a success (no answer, a server
//! error, a repeated attempt), so that the report says what is really on the instance. Also the
//! key → ID map that apply keeps, which a confirmed creation updates.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
};

use clerk_rbac::{Clerk, RoleSet};

use super::{instance::Instance, plan::Action, report::StepOutcome};

/// Key → ID on this instance, for permissions and roles (role sets are addressed by key),
/// kept up to date as steps create and rename objects.
pub(crate) struct Ids {
    permissions: Mutex<HashMap<String, String>>,
    roles: Mutex<HashMap<String, String>>,
}

impl From<&Instance> for Ids {
    fn from(instance: &Instance) -> Self {
        Ids {
            permissions: Mutex::new(
                instance
                    .permissions
                    .iter()
                    .map(|p| (p.key.clone(), p.id.clone()))
                    .collect(),
            ),
            roles: Mutex::new(
                instance
                    .roles
                    .iter()
                    .map(|r| (r.key.clone(), r.id.clone()))
                    .collect(),
            ),
        }
    }
}

impl Ids {
    pub(crate) fn permission(&self, key: &str) -> Result<String, StepOutcome> {
        lookup(&self.permissions, "permission", key)
    }
    pub(crate) fn role(&self, key: &str) -> Result<String, StepOutcome> {
        lookup(&self.roles, "role", key)
    }
    pub(crate) fn set_permission(&self, key: &str, id: &str) {
        self.permissions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), id.to_owned());
    }
    pub(crate) fn set_role(&self, key: &str, id: &str) {
        self.roles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), id.to_owned());
    }
}

fn lookup(
    map: &Mutex<HashMap<String, String>>,
    noun: &str,
    key: &str,
) -> Result<String, StepOutcome> {
    map.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(key)
        .cloned()
        .ok_or_else(|| StepOutcome::Failed {
            error: format!("{noun} {key} is not on the instance"),
            status: None,
            code: None,
        })
}

/// After an error that may hide a success: whether the instance shows the step's change.
/// `None` when reading it back failed too.
pub(crate) async fn verify(clerk: &Clerk, ids: &Ids, action: &Action) -> Option<bool> {
    match action {
        Action::CreatePermission {
            key,
            name,
            description,
        } => {
            let found = find_permission(clerk, key).await?;
            let holds = found.as_ref().is_some_and(|p| {
                p.name == *name && p.description == description.clone().unwrap_or_default()
            });
            if let (true, Some(p)) = (holds, &found) {
                ids.set_permission(key, &p.id);
            }
            Some(holds)
        }
        Action::UpdatePermission {
            key,
            new_key,
            name,
            description,
        } => {
            let id = ids.permission(key).ok()?;
            let p = clerk.organization_permissions().get(&id).await.ok()?;
            let holds = new_key.as_ref().is_none_or(|k| p.key == *k)
                && name.as_ref().is_none_or(|n| p.name == *n)
                && description.as_ref().is_none_or(|d| p.description == *d);
            if let (true, Some(new_key)) = (holds, new_key) {
                ids.set_permission(new_key, &id);
            }
            Some(holds)
        }
        Action::DeletePermission { key } => {
            let id = ids.permission(key).ok()?;
            gone(clerk.organization_permissions().get(&id).await)
        }
        Action::CreateRole {
            key,
            name,
            permissions,
            ..
        } => {
            let found = find_role(clerk, key).await?;
            let holds = found.as_ref().is_some_and(|r| {
                let mut held: Vec<&str> = r.permissions.iter().map(|p| p.key.as_str()).collect();
                held.sort_unstable();
                r.name == *name
                    && held == permissions.iter().map(String::as_str).collect::<Vec<_>>()
            });
            if let (true, Some(r)) = (holds, &found) {
                ids.set_role(key, &r.id);
            }
            Some(holds)
        }
        Action::UpdateRole {
            key,
            new_key,
            name,
            description,
            permissions,
        } => {
            let id = ids.role(key).ok()?;
            let r = clerk.organization_roles().get(&id).await.ok()?;
            let mut held: Vec<&str> = r.permissions.iter().map(|p| p.key.as_str()).collect();
            held.sort_unstable();
            let holds = new_key.as_ref().is_none_or(|k| r.key == *k)
                && name.as_ref().is_none_or(|n| r.name == *n)
                && description
                    .as_ref()
                    .is_none_or(|d| r.description.as_deref().unwrap_or("") == d)
                && permissions
                    .as_ref()
                    .is_none_or(|p| held == p.iter().map(String::as_str).collect::<Vec<_>>());
            if let (true, Some(new_key)) = (holds, new_key) {
                ids.set_role(new_key, &id);
            }
            Some(holds)
        }
        Action::DeleteRole { key } => {
            let id = ids.role(key).ok()?;
            gone(clerk.organization_roles().get(&id).await)
        }
        Action::CreateRoleSet { key, roles, .. } => {
            let found = existing_set(clerk, key).await?;
            Some(found.is_some_and(|s| set_holds(&s, roles, None, None)))
        }
        Action::AddRoles {
            set,
            roles,
            default_role,
            creator_role,
        } => {
            let found = existing_set(clerk, set).await?;
            Some(found.is_some_and(|s| {
                set_holds(&s, roles, default_role.as_deref(), creator_role.as_deref())
            }))
        }
        Action::UpdateRoleSet {
            set,
            new_key,
            name,
            description,
            make_initial,
            default_role,
            creator_role,
        } => {
            let found = existing_set(clerk, new_key.as_deref().unwrap_or(set)).await?;
            Some(found.is_some_and(|s| {
                name.as_ref().is_none_or(|n| s.name == *n)
                    && description
                        .as_ref()
                        .is_none_or(|d| s.description.as_deref().unwrap_or("") == d)
                    && (!make_initial || s.type_ == clerk_rbac::RoleSetType::Initial)
                    && set_holds(&s, &[], default_role.as_deref(), creator_role.as_deref())
            }))
        }
        Action::RemoveRole { set, role, .. } => {
            let found = existing_set(clerk, set).await?;
            Some(found.is_some_and(|s| !s.roles.iter().any(|i| i.key == *role)))
        }
        Action::RetireRoleSet { set, .. } => {
            let s = existing_set(clerk, set).await?;
            Some(s.is_none_or(|s| s.role_set_migration.is_some()))
        }
        Action::AwaitMigration { .. } => Some(false),
    }
}

fn set_holds(
    set: &RoleSet,
    roles: &[String],
    default_role: Option<&str>,
    creator_role: Option<&str>,
) -> bool {
    roles.iter().all(|r| set.roles.iter().any(|i| i.key == *r))
        && default_role.is_none_or(|r| set.default_role.as_ref().is_some_and(|d| d.key == r))
        && creator_role.is_none_or(|r| set.creator_role.as_ref().is_some_and(|c| c.key == r))
}

/// `Some(true)` for Clerk's not-found answer, `Some(false)` when the object is there.
fn gone<T>(answer: clerk_rbac::Result<T>) -> Option<bool> {
    match answer {
        Ok(_) => Some(false),
        Err(e) if e.is_not_found() => Some(true),
        Err(_) => None,
    }
}

/// The role set with this key, `Some(None)` when Clerk says there is none.
async fn existing_set(clerk: &Clerk, key: &str) -> Option<Option<RoleSet>> {
    match clerk.role_sets().get(key).await {
        Ok(set) => Some(Some(set)),
        Err(e) if e.is_not_found() => Some(None),
        Err(_) => None,
    }
}

async fn find_permission(clerk: &Clerk, key: &str) -> Option<Option<clerk_rbac::Permission>> {
    let found = clerk
        .organization_permissions()
        .list()
        .query(key)
        .collect_all()
        .await
        .ok()?;
    Some(found.into_iter().find(|p| p.key == key))
}

async fn find_role(clerk: &Clerk, key: &str) -> Option<Option<clerk_rbac::Role>> {
    let found = clerk
        .organization_roles()
        .list()
        .query(key)
        .collect_all()
        .await
        .ok()?;
    Some(found.into_iter().find(|r| r.key == key))
}
