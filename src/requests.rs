//! Request bodies: constructors for the generated create bodies, and the update (PATCH) bodies.
//!
//! Create bodies are the generated types; `new` takes every required field, so none can be
//! forgotten, and setters add the optional ones. Update bodies are written here because the
//! generated ones cannot send an explicit `null`: every field is a [`Patch`] (or an `Option`
//! where the spec does not allow `null`), and only touched fields are serialized.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::generated::types::{
    AddRolesToRoleSetBody, CreateOrganizationPermissionBody, CreateOrganizationRoleBody,
    CreateRoleSetBody, CreateRoleSetBodyType, ReassignmentMappings, ReplaceRoleInRoleSetBody,
    ReplaceRoleSetBody,
};

/// One field of an update: leave it as it is, set it, or clear it with JSON `null`.
///
/// ```
/// use clerk_rbac::{Patch, UpdateRole};
/// let mut changes = UpdateRole::new().name("Billing admin");
/// changes.description = Patch::Clear;
/// assert_eq!(
///     serde_json::to_string(&changes).unwrap(),
///     r#"{"name":"Billing admin","description":null}"#
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not sent: the server keeps the current value.
    #[default]
    Unchanged,
    /// Sent with this value.
    Set(T),
    /// Sent as `null`.
    Clear,
}

impl<T> Patch<T> {
    /// Whether the field is left out of the request.
    pub fn is_unchanged(&self) -> bool {
        matches!(self, Patch::Unchanged)
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Set(value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Set(value) => value.serialize(serializer),
            // `Unchanged` is skipped by the containing struct; alone it can only be `null`.
            Patch::Clear | Patch::Unchanged => serializer.serialize_none(),
        }
    }
}

/// Read back as the server reads it: `null` is [`Patch::Clear`], a value is [`Patch::Set`]; a
/// field that is absent stays [`Patch::Unchanged`] through the containing struct's
/// `#[serde(default)]`.
impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(deserializer)? {
            Some(value) => Patch::Set(value),
            None => Patch::Clear,
        })
    }
}

#[cfg(feature = "schemars")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Patch<T> {
    fn schema_name() -> String {
        <Option<T>>::schema_name()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        <Option<T>>::json_schema(generator)
    }
    fn is_referenceable() -> bool {
        false
    }
}

/// Setters for update fields: `name(value)` sets, `clear_name()` (for nullable fields) sends
/// `null`.
macro_rules! patch_setters {
    ($($field:ident / $clear:ident: $ty:ty,)+) => {$(
        #[doc = concat!("Sets `", stringify!($field), "`.")]
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.$field = Patch::Set(value.into());
            self
        }
        #[doc = concat!("Clears `", stringify!($field), "` (sends `null`).")]
        pub fn $clear(mut self) -> Self {
            self.$field = Patch::Clear;
            self
        }
    )+};
}

/// Setters for optional fields the API never takes as `null`: `name(value)` sets `Some(value)`.
macro_rules! option_setters {
    ($($field:ident: $ty:ty => $doc:literal,)+) => {$(
        #[doc = $doc]
        pub fn $field(mut self, value: impl Into<$ty>) -> Self {
            self.$field = Some(value.into());
            self
        }
    )+};
}

/// Changes to an organization permission; fields left alone are not sent.
///
/// ```
/// let changes = clerk_rbac::UpdatePermission::new().name("Read invoices");
/// assert_eq!(serde_json::to_value(&changes).unwrap(), serde_json::json!({"name": "Read invoices"}));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct UpdatePermission {
    /// New display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Never sent as `null`: the API does not accept it here.
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub name: Option<String>,
    /// New key, `org:<feature>:<action>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Never sent as `null`: the API does not accept it here.
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub key: Option<String>,
    /// New description (the API does not accept `null` here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Never sent as `null`: the API does not accept it here.
    #[cfg_attr(feature = "schemars", schemars(with = "String"))]
    pub description: Option<String>,
}

impl UpdatePermission {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    option_setters! {
        name: String => "Sets the display name.",
        key: String => "Sets the key.",
        description: String => "Sets the description.",
    }
}

/// Changes to an organization role; fields left [`Patch::Unchanged`] are not sent.
///
/// ```
/// let changes = clerk_rbac::UpdateRole::new()
///     .permissions(["perm_read", "perm_write"])
///     .clear_description();
/// assert_eq!(
///     serde_json::to_value(&changes).unwrap(),
///     serde_json::json!({"description": null, "permissions": ["perm_read", "perm_write"]})
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct UpdateRole {
    /// New display name.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub name: Patch<String>,
    /// New key, `org:<name>`; Clerk carries the change into organization settings that use it.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub key: Patch<String>,
    /// New description, or `Clear` to remove it.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub description: Patch<String>,
    /// Permission IDs that replace the role's current permissions.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub permissions: Patch<Vec<String>>,
}

impl UpdateRole {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    patch_setters! {
        name / clear_name: String,
        key / clear_key: String,
        description / clear_description: String,
    }

    /// Replaces the role's permissions by exactly these permission IDs.
    pub fn permissions(
        mut self,
        permission_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.permissions = Patch::Set(permission_ids.into_iter().map(Into::into).collect());
        self
    }

    /// Takes every permission from the role (sends `null`).
    pub fn clear_permissions(mut self) -> Self {
        self.permissions = Patch::Clear;
        self
    }
}

/// The only `type` an update can give a role set: `initial` makes it the default for new
/// organizations (the previous initial role set becomes `custom`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RoleSetTypeUpdate {
    /// `"initial"`.
    Initial,
}

/// Changes to a role set; fields left [`Patch::Unchanged`] are not sent.
///
/// ```
/// use clerk_rbac::{RoleSetTypeUpdate, UpdateRoleSet};
/// let changes = UpdateRoleSet::new().default_role_key("org:member").type_(RoleSetTypeUpdate::Initial);
/// assert_eq!(
///     serde_json::to_value(&changes).unwrap(),
///     serde_json::json!({"type": "initial", "default_role_key": "org:member"})
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct UpdateRoleSet {
    /// New display name.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub name: Patch<String>,
    /// New key, `role_set:<name>`.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub key: Patch<String>,
    /// New description, or `Clear` to remove it.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub description: Patch<String>,
    /// `Set(Initial)` makes this the initial role set.
    #[serde(rename = "type", default, skip_serializing_if = "Patch::is_unchanged")]
    pub type_: Patch<RoleSetTypeUpdate>,
    /// Key of the role new members get; must already be in the set.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub default_role_key: Patch<String>,
    /// Key of the role organization creators get; must already be in the set.
    #[serde(default, skip_serializing_if = "Patch::is_unchanged")]
    pub creator_role_key: Patch<String>,
}

impl UpdateRoleSet {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    patch_setters! {
        name / clear_name: String,
        key / clear_key: String,
        description / clear_description: String,
        type_ / clear_type: RoleSetTypeUpdate,
        default_role_key / clear_default_role_key: String,
        creator_role_key / clear_creator_role_key: String,
    }
}

impl CreateOrganizationPermissionBody {
    /// A permission named `name` with key `key` (`org:<feature>:<action>`).
    ///
    /// ```
    /// let new = clerk_rbac::CreatePermission::new("Read invoices", "org:invoices:read")
    ///     .description("See every invoice of the organization");
    /// # assert_eq!(new.key, "org:invoices:read");
    /// ```
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
            description: None,
        }
    }

    option_setters! {
        description: String => "Adds a description.",
    }
}

impl CreateOrganizationRoleBody {
    /// A role named `name` with key `key` (`org:<name>`), with no permissions yet.
    ///
    /// ```
    /// let new = clerk_rbac::CreateRole::new("Billing", "org:billing")
    ///     .permissions(["perm_123"])
    ///     .include_in_initial_role_set(true);
    /// # assert_eq!(new.permissions.as_deref(), Some(&["perm_123".to_string()][..]));
    /// ```
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
            description: None,
            permissions: None,
            include_in_initial_role_set: None,
        }
    }

    option_setters! {
        description: String => "Adds a description.",
    }

    /// The permission IDs the role holds.
    pub fn permissions(
        mut self,
        permission_ids: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.permissions = Some(permission_ids.into_iter().map(Into::into).collect());
        self
    }

    /// Whether the role joins the initial role set.
    pub fn include_in_initial_role_set(mut self, include: bool) -> Self {
        self.include_in_initial_role_set = Some(include);
        self
    }
}

impl CreateRoleSetBody {
    /// A role set named `name` holding the roles with these keys; `default_role_key` and
    /// `creator_role_key` must be among them.
    ///
    /// ```
    /// let new = clerk_rbac::CreateRoleSet::new(
    ///     "Support teams",
    ///     ["org:agent", "org:lead"],
    ///     "org:agent",
    ///     "org:lead",
    /// )
    /// .key("role_set:support");
    /// # assert_eq!(new.roles.len(), 2);
    /// ```
    pub fn new(
        name: impl Into<String>,
        role_keys: impl IntoIterator<Item = impl Into<String>>,
        default_role_key: impl Into<String>,
        creator_role_key: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            roles: role_keys.into_iter().map(Into::into).collect(),
            default_role_key: default_role_key.into(),
            creator_role_key: creator_role_key.into(),
            key: None,
            description: None,
            type_: None,
        }
    }

    option_setters! {
        key: String => "Chooses the key (`role_set:<name>`); without it Clerk derives one from the name.",
        description: String => "Adds a description.",
    }

    /// `Initial` makes it the role set new organizations get; the default is `Custom`.
    pub fn type_(mut self, kind: CreateRoleSetBodyType) -> Self {
        self.type_ = Some(kind);
        self
    }
}

impl AddRolesToRoleSetBody {
    /// Adds the roles with these keys.
    ///
    /// ```
    /// let add = clerk_rbac::AddRoles::new(["org:auditor"]).default_role_key("org:auditor");
    /// # assert_eq!(add.role_keys, ["org:auditor"]);
    /// ```
    pub fn new(role_keys: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            role_keys: role_keys.into_iter().map(Into::into).collect(),
            default_role_key: None,
            creator_role_key: None,
        }
    }

    option_setters! {
        default_role_key: String => "Also makes this role the default for new members.",
        creator_role_key: String => "Also makes this role the one organization creators get.",
    }
}

impl ReplaceRoleInRoleSetBody {
    /// Removes the role `role_key` from the set, moving its members to `to_role_key`.
    ///
    /// ```
    /// let swap = clerk_rbac::ReplaceRole::new("org:viewer", "org:member");
    /// # assert_eq!(swap.to_role_key, "org:member");
    /// ```
    pub fn new(role_key: impl Into<String>, to_role_key: impl Into<String>) -> Self {
        Self {
            role_key: role_key.into(),
            to_role_key: to_role_key.into(),
        }
    }
}

impl ReplaceRoleSetBody {
    /// Replaces the role set by the one with key `dest_role_set_key`, migrating its
    /// organizations there.
    ///
    /// ```
    /// let replace = clerk_rbac::ReplaceRoleSet::new("role_set:default")
    ///     .reassign("org:viewer", "org:member");
    /// # assert_eq!(replace.reassignment_mappings.unwrap()["org:viewer"], "org:member");
    /// ```
    pub fn new(dest_role_set_key: impl Into<String>) -> Self {
        Self {
            dest_role_set_key: dest_role_set_key.into(),
            reassignment_mappings: None,
        }
    }

    /// Members holding role `from` get role `to` in the destination role set.
    pub fn reassign(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        let mappings = self
            .reassignment_mappings
            .get_or_insert_with(|| ReassignmentMappings(Default::default()));
        mappings.0.insert(from.into(), to.into());
        self
    }
}
