//! The resource handles (and [`Instance`], for the instance's read-only settings). Each method
//! checks and copies its path IDs, and hands `Clerk::call` that input with a closure that makes
//! one attempt of one generated operation; `call` boxes the call, runs the attempts and maps
//! errors the same way for all of them.
//!
//! The handles are `Copy` and their methods take them by value, and the IDs are checked and
//! copied when the method is called, so a returned [`CallFuture`] borrows only the [`Clerk`]:
//! fan-out, `join!` and `FuturesUnordered` work with the obvious code (see
//! [`OrganizationRoles::get`]).

use crate::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, DeletedObject, List,
    OrganizationSettings, Permission, ReplaceRole, ReplaceRoleSet, Role, RoleSet, UpdatePermission,
    UpdateRole, UpdateRoleSet, call::CallFuture, path::segment,
};

impl Clerk {
    /// Organization permissions: list, get, create, update, delete.
    pub fn organization_permissions(&self) -> OrganizationPermissions<'_> {
        OrganizationPermissions::new(self)
    }

    /// Organization roles and the permissions they hold.
    pub fn organization_roles(&self) -> OrganizationRoles<'_> {
        OrganizationRoles::new(self)
    }

    /// Role sets: the groups of roles an organization can use.
    pub fn role_sets(&self) -> RoleSets<'_> {
        RoleSets::new(self)
    }

    /// The instance itself: its organization settings, read-only.
    pub fn instance(&self) -> Instance<'_> {
        Instance { clerk: self }
    }
}

/// The instance as a whole; from [`Clerk::instance`].
#[derive(Clone, Copy, Debug)]
pub struct Instance<'c> {
    clerk: &'c Clerk,
}

impl<'c> Instance<'c> {
    /// Reads the instance's organization settings: how many roles and role sets Clerk lets it
    /// hold, and the roles and role set it gives organizations' creators, people joining through
    /// a verified domain, and new organizations. The roles the settings name cannot be deleted.
    /// This crate only reads the settings; Clerk's dashboard changes them.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let settings = clerk.instance().organization_settings().await?;
    /// println!(
    ///     "up to {} roles; creators get {}",
    ///     settings.max_allowed_roles, settings.creator_role
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn organization_settings(self) -> CallFuture<'c, OrganizationSettings> {
        self.clerk.call(Ok(()), |api, ()| {
            Box::pin(api.get_instance_organization_settings())
        })
    }
}

/// Organization permissions of the instance; from [`Clerk::organization_permissions`].
#[derive(Clone, Copy, Debug)]
pub struct OrganizationPermissions<'c> {
    clerk: &'c Clerk,
}

impl<'c> OrganizationPermissions<'c> {
    pub(crate) fn new(clerk: &'c Clerk) -> Self {
        Self { clerk }
    }

    /// Lists permissions; add filters and paging on the returned [`List`].
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let page = clerk.organization_permissions().list().query("invoices").send().await?;
    /// for permission in &page {
    ///     println!("{} ({})", permission.key, permission.name);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(self) -> List<'c, Permission> {
        List::new(self.clerk)
    }

    /// Fetches one permission by ID.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let permission = clerk.organization_permissions().get("perm_123").await?;
    /// println!("{} is a {} permission", permission.key, permission.type_.as_deref().unwrap_or("?"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(self, permission_id: &str) -> CallFuture<'c, Permission> {
        let id = segment("permission_id", permission_id);
        self.clerk
            .call(id, |api, id| Box::pin(api.get_organization_permission(id)))
    }

    /// Creates a permission. Its key has the form `org:<feature>:<action>`; keys starting with
    /// `org:sys_` belong to Clerk's system permissions and are refused.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::CreatePermission;
    /// let permission = clerk
    ///     .organization_permissions()
    ///     .create(CreatePermission::new("Read invoices", "org:invoices:read"))
    ///     .await?;
    /// println!("created {}", permission.id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(self, permission: CreatePermission) -> CallFuture<'c, Permission> {
        self.clerk.call(Ok(permission), |api, body| {
            Box::pin(api.create_organization_permission(body))
        })
    }

    /// Changes the fields set in `changes`. System permissions cannot be changed.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::UpdatePermission;
    /// let changes = UpdatePermission::new().description("See every invoice");
    /// clerk.organization_permissions().update("perm_123", changes).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn update(
        self,
        permission_id: &str,
        changes: UpdatePermission,
    ) -> CallFuture<'c, Permission> {
        let input = segment("permission_id", permission_id).map(|id| (id, changes));
        self.clerk.call(input, |api, (id, changes)| {
            Box::pin(api.update_organization_permission(id, changes))
        })
    }

    /// Deletes a permission. System permissions cannot be deleted.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let deleted = clerk.organization_permissions().delete("perm_123").await?;
    /// assert!(deleted.deleted);
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(self, permission_id: &str) -> CallFuture<'c, DeletedObject> {
        let id = segment("permission_id", permission_id);
        self.clerk
            .call_deletion("permission", id, (), |api, id, ()| {
                Box::pin(api.delete_organization_permission(id))
            })
    }
}

/// Organization roles of the instance; from [`Clerk::organization_roles`].
#[derive(Clone, Copy, Debug)]
pub struct OrganizationRoles<'c> {
    clerk: &'c Clerk,
}

impl<'c> OrganizationRoles<'c> {
    pub(crate) fn new(clerk: &'c Clerk) -> Self {
        Self { clerk }
    }

    /// Lists roles, newest first unless ordered otherwise. Each role comes with its permissions.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let roles = clerk.organization_roles().list().order_by("+key").limit(100).send().await?;
    /// println!("{} roles in all", roles.total_count);
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(self) -> List<'c, Role> {
        List::new(self.clerk)
    }

    /// Fetches one role, with its permissions, by ID.
    ///
    /// The returned future borrows only the client, so several can run at once:
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use futures::{StreamExt, future::try_join_all, stream::FuturesUnordered};
    ///
    /// let ids = vec!["role_1".to_string(), "role_2".to_string()];
    /// let roles = try_join_all(ids.iter().map(|id| clerk.organization_roles().get(id))).await?;
    ///
    /// let (a, b) = tokio::join!(
    ///     clerk.organization_roles().get("role_1"),
    ///     clerk.organization_roles().get("role_2"),
    /// );
    ///
    /// let mut pending: FuturesUnordered<_> =
    ///     ids.iter().map(|id| clerk.organization_roles().get(id)).collect();
    /// while let Some(role) = pending.next().await {
    ///     println!("{}", role?.key);
    /// }
    /// # let _ = (roles, a, b);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(self, role_id: &str) -> CallFuture<'c, Role> {
        let id = segment("organization_role_id", role_id);
        self.clerk
            .call(id, |api, id| Box::pin(api.get_organization_role(id)))
    }

    /// Creates a role, with the permissions (by ID) it holds from the start.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::CreateRole;
    /// let role = clerk
    ///     .organization_roles()
    ///     .create(
    ///         CreateRole::new("Billing", "org:billing")
    ///             .description("Pays the bills")
    ///             .permissions(["perm_123", "perm_456"]),
    ///     )
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(self, role: CreateRole) -> CallFuture<'c, Role> {
        self.clerk.call(Ok(role), |api, body| {
            Box::pin(api.create_organization_role(body))
        })
    }

    /// Changes the fields touched in `changes`; a new key carries over to organization settings
    /// that refer to the role.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::UpdateRole;
    /// let changes = UpdateRole::new().name("Billing admins").clear_description();
    /// let role = clerk.organization_roles().update("role_123", changes).await?;
    /// assert!(role.description.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn update(self, role_id: &str, changes: UpdateRole) -> CallFuture<'c, Role> {
        let input = segment("organization_role_id", role_id).map(|id| (id, changes));
        self.clerk.call(input, |api, (id, changes)| {
            Box::pin(api.update_organization_role(id, changes))
        })
    }

    /// Deletes a role. Clerk refuses while the role is in use (members, invitations, or as a
    /// default or creator role).
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// match clerk.organization_roles().delete("role_123").await {
    ///     Ok(_) => println!("deleted"),
    ///     Err(e) => eprintln!("kept: {e}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn delete(self, role_id: &str) -> CallFuture<'c, DeletedObject> {
        let id = segment("organization_role_id", role_id);
        self.clerk.call_deletion("role", id, (), |api, id, ()| {
            Box::pin(api.delete_organization_role(id))
        })
    }

    /// Gives the role a permission; returns the updated role. Clerk answers 409 when the role
    /// already holds it.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let role = clerk.organization_roles().assign_permission("role_123", "perm_456").await?;
    /// println!("{} now holds {} permissions", role.key, role.permissions.len());
    /// # Ok(())
    /// # }
    /// ```
    pub fn assign_permission(self, role_id: &str, permission_id: &str) -> CallFuture<'c, Role> {
        let ids = segment("organization_role_id", role_id)
            .and_then(|role| Ok((role, segment("permission_id", permission_id)?)));
        self.clerk.call(ids, |api, (role, permission)| {
            Box::pin(api.assign_permission_to_organization_role(role, permission))
        })
    }

    /// Takes a permission from the role; returns the updated role.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let role = clerk.organization_roles().remove_permission("role_123", "perm_456").await?;
    /// assert!(role.permissions.iter().all(|p| p.id != "perm_456"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn remove_permission(self, role_id: &str, permission_id: &str) -> CallFuture<'c, Role> {
        let ids = segment("organization_role_id", role_id)
            .and_then(|role| Ok((role, segment("permission_id", permission_id)?)));
        self.clerk.call(ids, |api, (role, permission)| {
            Box::pin(api.remove_permission_from_organization_role(role, permission))
        })
    }
}

/// Role sets of the instance; from [`Clerk::role_sets`]. Methods take a role set's ID or its key
/// (`role_set:...`).
#[derive(Clone, Copy, Debug)]
pub struct RoleSets<'c> {
    clerk: &'c Clerk,
}

impl<'c> RoleSets<'c> {
    pub(crate) fn new(clerk: &'c Clerk) -> Self {
        Self { clerk }
    }

    /// Lists role sets.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// for set in clerk.role_sets().list().collect_all().await? {
    ///     println!("{} ({}): {} roles", set.key, set.type_, set.roles.len());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(self) -> List<'c, RoleSet> {
        List::new(self.clerk)
    }

    /// Fetches one role set by key or ID.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// let set = clerk.role_sets().get("role_set:default").await?;
    /// if let Some(default) = &set.default_role {
    ///     println!("new members get {}", default.key);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn get(self, key_or_id: &str) -> CallFuture<'c, RoleSet> {
        let id = segment("role_set_key_or_id", key_or_id);
        self.clerk
            .call(id, |api, id| Box::pin(api.get_role_set(id)))
    }

    /// Creates a role set from at most 10 role keys (add more with
    /// [`add_roles`](Self::add_roles)).
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::CreateRoleSet;
    /// let new = CreateRoleSet::new("Support", ["org:agent", "org:lead"], "org:agent", "org:lead")
    ///     .key("role_set:support");
    /// let set = clerk.role_sets().create(new).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn create(self, role_set: CreateRoleSet) -> CallFuture<'c, RoleSet> {
        self.clerk.call(Ok(role_set), |api, body| {
            Box::pin(api.create_role_set(body))
        })
    }

    /// Changes the fields touched in `changes`.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::{RoleSetTypeUpdate, UpdateRoleSet};
    /// let changes = UpdateRoleSet::new().type_(RoleSetTypeUpdate::Initial);
    /// clerk.role_sets().update("role_set:support", changes).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn update(self, key_or_id: &str, changes: UpdateRoleSet) -> CallFuture<'c, RoleSet> {
        let input = segment("role_set_key_or_id", key_or_id).map(|id| (id, changes));
        self.clerk.call(input, |api, (id, changes)| {
            Box::pin(api.update_role_set(id, changes))
        })
    }

    /// Adds at most 10 roles to the set, optionally making one of them the default or creator
    /// role.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::AddRoles;
    /// let set = clerk
    ///     .role_sets()
    ///     .add_roles("role_set:support", AddRoles::new(["org:auditor"]))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_roles(self, key_or_id: &str, roles: AddRoles) -> CallFuture<'c, RoleSet> {
        let input = segment("role_set_key_or_id", key_or_id).map(|id| (id, roles));
        self.clerk.call(input, |api, (id, roles)| {
            Box::pin(api.add_roles_to_role_set(id, roles))
        })
    }

    /// Removes one role from the set, moving the members who hold it to another role of the
    /// set. There is no way to drop a role without saying where its members go.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::ReplaceRole;
    /// clerk
    ///     .role_sets()
    ///     .replace_role("role_set:support", ReplaceRole::new("org:auditor", "org:agent"))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn replace_role(
        self,
        key_or_id: &str,
        replacement: ReplaceRole,
    ) -> CallFuture<'c, RoleSet> {
        let input = segment("role_set_key_or_id", key_or_id).map(|id| (id, replacement));
        self.clerk.call(input, |api, (id, replacement)| {
            Box::pin(api.replace_role_in_role_set(id, replacement))
        })
    }

    /// Retires the whole role set in favour of another: its organizations migrate there (in
    /// the background; the set shows the migration until it completes), members' roles are
    /// mapped as `replacement` says, and the replaced set is then gone. Role sets have no
    /// plain delete; this is how one goes.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::ReplaceRoleSet;
    /// let retire = ReplaceRoleSet::new("role_set:default").reassign("org:auditor", "org:member");
    /// clerk.role_sets().replace("role_set:support", retire).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn replace(
        self,
        key_or_id: &str,
        replacement: ReplaceRoleSet,
    ) -> CallFuture<'c, DeletedObject> {
        let id = segment("role_set_key_or_id", key_or_id);
        self.clerk
            .call_deletion("role_set", id, replacement, |api, id, replacement| {
                Box::pin(api.replace_role_set(id, replacement))
            })
    }
}
