//! The three resource handles. Each method checks its path IDs, calls one generated operation
//! and hands the result to [`Clerk::send`], which maps errors the same way for all of them.

use crate::{
    AddRoles, Clerk, CreatePermission, CreateRole, CreateRoleSet, DeletedObject, List, Permission,
    ReplaceRole, ReplaceRoleSet, Result, Role, RoleSet, UpdatePermission, UpdateRole,
    UpdateRoleSet, path::segment,
};

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
    pub fn list(self) -> List<'c, Permission> {
        List::new(self.clerk)
    }

    /// Fetches one permission by ID.
    pub async fn get(self, permission_id: &str) -> Result<Permission> {
        let id = segment("permission_id", permission_id)?;
        self.clerk
            .send(self.clerk.api().get_organization_permission(id))
            .await
    }

    /// Creates a permission.
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
    pub async fn create(self, permission: CreatePermission) -> Result<Permission> {
        self.clerk
            .send(self.clerk.api().create_organization_permission(&permission))
            .await
    }

    /// Changes the fields set in `changes`. System permissions cannot be changed.
    pub async fn update(
        self,
        permission_id: &str,
        changes: UpdatePermission,
    ) -> Result<Permission> {
        let id = segment("permission_id", permission_id)?;
        self.clerk
            .send(
                self.clerk
                    .api()
                    .update_organization_permission(id, &changes),
            )
            .await
    }

    /// Deletes a permission. System permissions cannot be deleted.
    pub async fn delete(self, permission_id: &str) -> Result<DeletedObject> {
        let id = segment("permission_id", permission_id)?;
        let call = self.clerk.api().delete_organization_permission(id);
        self.clerk.send_deletion(call, "permission", id).await
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

    /// Lists roles, newest first unless ordered otherwise.
    pub fn list(self) -> List<'c, Role> {
        List::new(self.clerk)
    }

    /// Fetches one role, with its permissions, by ID.
    pub async fn get(self, role_id: &str) -> Result<Role> {
        let id = segment("organization_role_id", role_id)?;
        self.clerk
            .send(self.clerk.api().get_organization_role(id))
            .await
    }

    /// Creates a role.
    ///
    /// ```no_run
    /// # async fn demo(clerk: clerk_rbac::Clerk) -> clerk_rbac::Result<()> {
    /// use clerk_rbac::CreateRole;
    /// let role = clerk
    ///     .organization_roles()
    ///     .create(CreateRole::new("Billing", "org:billing").description("Pays the bills"))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn create(self, role: CreateRole) -> Result<Role> {
        self.clerk
            .send(self.clerk.api().create_organization_role(&role))
            .await
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
    pub async fn update(self, role_id: &str, changes: UpdateRole) -> Result<Role> {
        let id = segment("organization_role_id", role_id)?;
        self.clerk
            .send(self.clerk.api().update_organization_role(id, &changes))
            .await
    }

    /// Deletes a role. Clerk refuses while the role is in use (members, invitations, or as a
    /// default or creator role).
    pub async fn delete(self, role_id: &str) -> Result<DeletedObject> {
        let id = segment("organization_role_id", role_id)?;
        let call = self.clerk.api().delete_organization_role(id);
        self.clerk.send_deletion(call, "role", id).await
    }

    /// Gives the role a permission; returns the updated role.
    pub async fn assign_permission(self, role_id: &str, permission_id: &str) -> Result<Role> {
        let role = segment("organization_role_id", role_id)?;
        let permission = segment("permission_id", permission_id)?;
        let call = self
            .clerk
            .api()
            .assign_permission_to_organization_role(role, permission);
        self.clerk.send(call).await
    }

    /// Takes a permission from the role; returns the updated role.
    pub async fn remove_permission(self, role_id: &str, permission_id: &str) -> Result<Role> {
        let role = segment("organization_role_id", role_id)?;
        let permission = segment("permission_id", permission_id)?;
        let call = self
            .clerk
            .api()
            .remove_permission_from_organization_role(role, permission);
        self.clerk.send(call).await
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
    pub fn list(self) -> List<'c, RoleSet> {
        List::new(self.clerk)
    }

    /// Fetches one role set by key or ID.
    pub async fn get(self, key_or_id: &str) -> Result<RoleSet> {
        let id = segment("role_set_key_or_id", key_or_id)?;
        self.clerk.send(self.clerk.api().get_role_set(id)).await
    }

    /// Creates a role set.
    pub async fn create(self, role_set: CreateRoleSet) -> Result<RoleSet> {
        self.clerk
            .send(self.clerk.api().create_role_set(&role_set))
            .await
    }

    /// Changes the fields touched in `changes`.
    pub async fn update(self, key_or_id: &str, changes: UpdateRoleSet) -> Result<RoleSet> {
        let id = segment("role_set_key_or_id", key_or_id)?;
        self.clerk
            .send(self.clerk.api().update_role_set(id, &changes))
            .await
    }

    /// Adds roles to the set, optionally moving the default or creator role to one of them.
    pub async fn add_roles(self, key_or_id: &str, roles: AddRoles) -> Result<RoleSet> {
        let id = segment("role_set_key_or_id", key_or_id)?;
        self.clerk
            .send(self.clerk.api().add_roles_to_role_set(id, &roles))
            .await
    }

    /// Removes one role from the set, moving its members to another.
    pub async fn replace_role(self, key_or_id: &str, replacement: ReplaceRole) -> Result<RoleSet> {
        let id = segment("role_set_key_or_id", key_or_id)?;
        self.clerk
            .send(self.clerk.api().replace_role_in_role_set(id, &replacement))
            .await
    }

    /// Replaces the whole role set by another, migrating its organizations; the replaced set is
    /// deleted, and the returned object says so.
    pub async fn replace(
        self,
        key_or_id: &str,
        replacement: ReplaceRoleSet,
    ) -> Result<DeletedObject> {
        let id = segment("role_set_key_or_id", key_or_id)?;
        let call = self.clerk.api().replace_role_set(id, &replacement);
        self.clerk.send_deletion(call, "role_set", id).await
    }
}
