//! Sending one step's request through the public facade (IDs looked up by key), and waiting
//! for a role-set migration to finish.

use std::time::Duration;

use clerk_rbac::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, CreateRoleSetType, Error,
    ReplaceRole, ReplaceRoleSet, RoleSetTypeUpdate, UpdatePermission, UpdateRole, UpdateRoleSet,
};

use super::ApplyOptions;
use crate::{instance::MigrationStatus, plan::Action, report::StepOutcome, verify::Ids};

pub(super) enum Failure {
    /// A facade call failed.
    Api(Error),
    /// Something else (an ID missing, a migration timing out).
    Other(StepOutcome),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Api(error)
    }
}

impl From<StepOutcome> for Failure {
    fn from(outcome: StepOutcome) -> Self {
        Failure::Other(outcome)
    }
}

fn non_empty(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|t| !t.is_empty())
}

/// Sends the request(s) of one step.
pub(super) async fn send(
    clerk: &Clerk,
    ids: &Ids,
    action: &Action,
    options: &ApplyOptions,
) -> Result<(), Failure> {
    match action {
        Action::CreatePermission {
            key,
            name,
            description,
        } => {
            let mut body = CreatePermission::new(name, key);
            if let Some(description) = non_empty(description) {
                body = body.description(description);
            }
            let created = clerk.organization_permissions().create(body).await?;
            ids.set_permission(key, &created.id);
        }
        Action::UpdatePermission {
            key,
            new_key,
            name,
            description,
        } => {
            let id = ids.permission(key)?;
            let mut body = UpdatePermission::new();
            body.name = name.clone();
            body.key = new_key.clone();
            body.description = description.clone();
            clerk.organization_permissions().update(&id, body).await?;
            if let Some(new_key) = new_key {
                ids.set_permission(new_key, &id);
            }
        }
        Action::DeletePermission { key } => {
            let id = ids.permission(key)?;
            clerk.organization_permissions().delete(&id).await?;
        }
        Action::CreateRole {
            key,
            name,
            description,
            permissions,
        } => {
            let permission_ids = permissions
                .iter()
                .map(|p| ids.permission(p))
                .collect::<Result<Vec<_>, _>>()?;
            let mut body = CreateRole::new(name, key)
                .permissions(permission_ids)
                .include_in_initial_role_set(false);
            if let Some(description) = non_empty(description) {
                body = body.description(description);
            }
            let created = clerk.organization_roles().create(body).await?;
            ids.set_role(key, &created.id);
        }
        Action::UpdateRole {
            key,
            new_key,
            name,
            description,
            permissions,
        } => {
            let id = ids.role(key)?;
            let mut body = UpdateRole::new();
            if let Some(name) = name {
                body = body.name(name);
            }
            if let Some(new_key) = new_key {
                body = body.key(new_key);
            }
            match description.as_deref() {
                Some("") => body = body.clear_description(),
                Some(text) => body = body.description(text),
                None => {}
            }
            if let Some(permissions) = permissions {
                let permission_ids = permissions
                    .iter()
                    .map(|p| ids.permission(p))
                    .collect::<Result<Vec<_>, _>>()?;
                body = body.permissions(permission_ids);
            }
            clerk.organization_roles().update(&id, body).await?;
            if let Some(new_key) = new_key {
                ids.set_role(new_key, &id);
            }
        }
        Action::DeleteRole { key } => {
            let id = ids.role(key)?;
            clerk.organization_roles().delete(&id).await?;
        }
        Action::CreateRoleSet {
            key,
            name,
            description,
            initial,
            default_role,
            creator_role,
            roles,
        } => {
            let mut body = CreateRoleSet::new(name, roles, default_role, creator_role).key(key);
            if let Some(description) = non_empty(description) {
                body = body.description(description);
            }
            if *initial {
                body = body.type_(CreateRoleSetType::Initial);
            }
            clerk.role_sets().create(body).await?;
        }
        Action::AddRoles {
            set,
            roles,
            default_role,
            creator_role,
        } => {
            let mut body = AddRoles::new(roles);
            if let Some(role) = default_role {
                body = body.default_role_key(role);
            }
            if let Some(role) = creator_role {
                body = body.creator_role_key(role);
            }
            clerk.role_sets().add_roles(set, body).await?;
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
            let mut body = UpdateRoleSet::new();
            if let Some(name) = name {
                body = body.name(name);
            }
            if let Some(new_key) = new_key {
                body = body.key(new_key);
            }
            match description.as_deref() {
                Some("") => body = body.clear_description(),
                Some(text) => body = body.description(text),
                None => {}
            }
            if *make_initial {
                body = body.type_(RoleSetTypeUpdate::Initial);
            }
            if let Some(role) = default_role {
                body = body.default_role_key(role);
            }
            if let Some(role) = creator_role {
                body = body.creator_role_key(role);
            }
            clerk.role_sets().update(set, body).await?;
        }
        Action::RemoveRole {
            set,
            role,
            members_to,
        } => {
            clerk
                .role_sets()
                .replace_role(set, ReplaceRole::new(role, members_to))
                .await?;
        }
        Action::RetireRoleSet {
            set,
            into,
            move_members,
        } => {
            let mut body = ReplaceRoleSet::new(into);
            for (from, to) in move_members {
                body = body.reassign(from, to);
            }
            // The answer only says the set is deleted; its organizations move over in a
            // migration that the set shows until it is gone.
            clerk.role_sets().replace(set, body).await?;
            await_migration(clerk, set, options).await?;
        }
        Action::AwaitMigration { set } => await_migration(clerk, set, options).await?,
    }
    Ok(())
}

/// Polls the retired set until it is gone or its migration completed, for at most the
/// configured time.
pub(super) async fn await_migration(
    clerk: &Clerk,
    set: &str,
    options: &ApplyOptions,
) -> Result<(), StepOutcome> {
    let deadline = tokio::time::Instant::now() + options.migration_timeout;
    loop {
        let last_status;
        // Listed rather than fetched: a set that is gone is simply absent from the list, not a
        // 404, so that a normal apply meets no error answer at all.
        let found = clerk
            .role_sets()
            .list()
            .query(set)
            .collect_all()
            .await
            .map(|sets| sets.into_iter().find(|s| s.key == set));
        match found {
            Ok(None) => return Ok(()),
            Ok(Some(answer)) => match answer
                .role_set_migration
                .map(|m| MigrationStatus::from(m.status))
            {
                Some(MigrationStatus::Completed) => return Ok(()),
                Some(MigrationStatus::Failed) => {
                    return Err(StepOutcome::Failed {
                        error: format!("the migration of role set {set} failed at Clerk"),
                        status: None,
                        code: None,
                    });
                }
                Some(status) => last_status = status.to_string(),
                // Replaced but not showing its migration yet: keep looking.
                None => last_status = "not started".to_owned(),
            },
            Err(e) => last_status = format!("unknown ({e})"),
        }
        if tokio::time::Instant::now() + options.poll_interval > deadline {
            return Err(StepOutcome::Failed {
                error: format!(
                    "the migration of role set {set} was still {last_status} after {}; it goes on at Clerk, and applying again waits for it",
                    humanize(options.migration_timeout)
                ),
                status: None,
                code: None,
            });
        }
        tokio::time::sleep(options.poll_interval).await;
    }
}

fn humanize(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds >= 60.0 && duration.as_secs().is_multiple_of(60) {
        format!("{} min", duration.as_secs() / 60)
    } else {
        format!("{seconds} s")
    }
}
