//! The instance: permissions, roles, role sets, members, invitations and migrations, and the
//! rules every change must keep. Handlers are synchronous; the server calls them with the
//! state locked, so each request sees and leaves a consistent instance.
//!
//! Each kind of object lives in one [`Table`], indexed by ID and key, as the one record shape
//! of [`records`](crate::records) that snapshots serialize. Records refer to each other by
//! key; a key change rewrites every reference in the same step (spec: UpdateOrganizationRole:
//! a new key carries over to the settings that name the role).
//!
//! This file holds the instance, seeding, lookups, time and the rules several operations share;
//! each kind of object has the file of its operations (typed request bodies in, the crate's
//! model types out), `render` turns records into those models and `keys` checks keys and
//! names.

mod keys;
mod permissions;
mod render;
mod role_sets;
mod roles;

use std::collections::BTreeSet;

use serde_json::json;

use super::{
    clock::Clock,
    ids::Ids,
    records::{
        MigrationSnapshot, PermissionSnapshot, RoleSetMemberSnapshot, RoleSetSnapshot, RoleSnapshot,
    },
    table::Table,
    wire::Failure,
};

use keys::check_name;
pub(crate) use keys::{check_permission_key, check_role_key, check_role_set_key};
pub(crate) use render::Wire;

pub(crate) use clerk_rbac::rules::{
    CREATOR_PERMISSIONS as CREATOR_REQUIREMENTS, SYSTEM_PERMISSIONS,
};

/// The most roles one create-role-set or add-roles call may name. Spec: CreateRoleSet
/// `roles` and AddRolesToRoleSet `role_keys` allow at most ten.
pub(crate) use clerk_rbac::MAX_ROLES_PER_CALL;

/// Assumption: while a role set is being replaced it cannot be changed or replaced again, and
/// cannot be a replacement's destination; Clerk's code for this is not published.
const MIGRATION_IN_PROGRESS: &str = "role_set_migration_in_progress";

/// How the instance behaves where Clerk's behaviour depends on the plan or takes time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    /// Whether the plan allows custom roles (and so custom permissions and role sets).
    pub custom_roles: bool,
    /// How long a role set replacement takes, in milliseconds.
    pub migration_ms: i64,
    /// The custom-role and role-set quotas.
    pub quotas: crate::settings::Quotas,
    /// The stale-read window, in milliseconds (0: reads see every write at once).
    pub stale_reads_ms: i64,
}

/// The whole simulated instance.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(crate) clock: Clock,
    pub(crate) ids: Ids,
    pub(crate) instance_id: String,
    pub(crate) permissions: Table<PermissionSnapshot>,
    pub(crate) roles: Table<RoleSnapshot>,
    pub(crate) sets: Table<RoleSetSnapshot>,
    /// Role set replacements under way, oldest first.
    pub(crate) migrations: Vec<MigrationSnapshot>,
    pub(crate) rules: Rules,
}

impl State {
    /// An empty instance (no objects at all); [`State::seeded`] is what Clerk starts with.
    pub(crate) fn empty(ids: Ids, rules: Rules, clock: Clock) -> Self {
        let mut ids = ids;
        let instance_id = ids.next("ins");
        State {
            clock,
            ids,
            instance_id,
            permissions: Table::default(),
            roles: Table::default(),
            sets: Table::default(),
            migrations: Vec::new(),
            rules,
        }
    }

    /// A new instance as Clerk seeds one. Source: the "Roles and permissions" guide ("Default
    /// roles": `org:admin` holds every system permission, `org:member` reads members and
    /// billing; the creator role is `org:admin`, the default role `org:member`) and the "Role
    /// Sets" guide (every instance has a primary role set, with both roles, that new
    /// organizations get); the set's key `role_set:default` is the one the notes and the manuals use.
    pub(crate) fn seeded(ids: Ids, rules: Rules, clock: Clock) -> Self {
        let now = clock.now_ms();
        let mut state = State::empty(ids, rules, clock);
        for (key, name) in SYSTEM_PERMISSIONS {
            let description = format!("System permission: {}.", name.to_lowercase());
            state.insert_permission(key, name, &description, true, now);
        }
        let system: Vec<String> = SYSTEM_PERMISSIONS
            .iter()
            .map(|(key, _)| (*key).to_owned())
            .collect();
        let member_permissions = system
            .iter()
            .filter(|k| ["org:sys_memberships:read", "org:sys_billing:read"].contains(&k.as_str()))
            .cloned()
            .collect();
        state.insert_role(
            "org:admin",
            "Admin",
            Some("Full access: runs the organization and its memberships."),
            system,
            now,
        );
        state.insert_role(
            "org:member",
            "Member",
            Some("Limited access: can see the other members."),
            member_permissions,
            now,
        );
        state.insert_set(NewSet {
            key: "role_set:default".into(),
            name: "Primary role set".into(),
            description: Some("The roles every new organization starts with.".into()),
            initial: true,
            roles: vec!["org:admin".into(), "org:member".into()],
            default_role: "org:member".into(),
            creator_role: "org:admin".into(),
            now,
        });
        state
    }

    /// A fresh ID no object of the instance has (a restored snapshot may hold IDs that this
    /// instance's generator would produce again).
    fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = self.ids.next(prefix);
            let taken = self.permissions.contains_id(&id)
                || self.roles.contains_id(&id)
                || self.sets.contains_id(&id)
                || self.migrations.iter().any(|m| m.id == id);
            if !taken {
                return id;
            }
        }
    }

    pub(super) fn insert_permission(
        &mut self,
        key: &str,
        name: &str,
        description: &str,
        system: bool,
        now: i64,
    ) -> u64 {
        let id = self.new_id("perm");
        self.permissions.insert(PermissionSnapshot {
            id,
            key: key.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            system,
            created_at: now,
            updated_at: now,
        })
    }

    /// `permissions` are keys in the permissions' creation order (see [`State::in_creation_order`]).
    fn insert_role(
        &mut self,
        key: &str,
        name: &str,
        description: Option<&str>,
        permissions: Vec<String>,
        now: i64,
    ) -> u64 {
        let id = self.new_id("role");
        self.roles.insert(RoleSnapshot {
            id,
            key: key.to_owned(),
            name: name.to_owned(),
            description: description.map(str::to_owned),
            permissions,
            invitations: 0,
            created_at: now,
            updated_at: now,
        })
    }

    fn insert_set(&mut self, new: NewSet) -> u64 {
        let id = self.new_id("rs");
        if new.initial {
            self.demote_initial_sets(new.now);
        }
        self.sets.insert(RoleSetSnapshot {
            id,
            key: new.key,
            name: new.name,
            description: new.description,
            initial: new.initial,
            roles: new
                .roles
                .into_iter()
                .map(RoleSetMemberSnapshot::new)
                .collect(),
            default_role: new.default_role,
            creator_role: new.creator_role,
            created_at: new.now,
            updated_at: new.now,
        })
    }

    /// Spec: only one role set is `initial`; making another initial turns the old one
    /// `custom` (CreateRoleSet and UpdateRoleSet, `type`).
    fn demote_initial_sets(&mut self, now: i64) {
        self.sets.update_all(|set| {
            if set.initial {
                set.initial = false;
                set.updated_at = now;
            }
        });
    }

    /// Permission keys in the order the permissions were created (the order a role lists
    /// them in), each once; keys of no permission are dropped.
    pub(crate) fn in_creation_order<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a String>,
    ) -> Vec<String> {
        keys.into_iter()
            .filter_map(|key| self.permissions.seq_of_key(key))
            .collect::<BTreeSet<u64>>()
            .into_iter()
            .map(|seq| self.permissions[seq].key.clone())
            .collect()
    }

    // ---- lookups -------------------------------------------------------------------------

    pub(crate) fn permission_seq(&self, id: &str) -> Result<u64, Failure> {
        self.permissions
            .seq_of_id(id)
            .ok_or_else(|| Failure::not_found("Permission"))
    }

    pub(crate) fn role_seq(&self, id: &str) -> Result<u64, Failure> {
        self.roles
            .seq_of_id(id)
            .ok_or_else(|| Failure::not_found("Organization role"))
    }

    /// Spec: role set paths take a key or an ID (`role_set_key_or_id`).
    pub(crate) fn set_seq(&self, key_or_id: &str) -> Result<u64, Failure> {
        self.sets
            .seq_of_key(key_or_id)
            .or_else(|| self.sets.seq_of_id(key_or_id))
            .ok_or_else(|| Failure::not_found("Role set"))
    }

    fn is_creator_eligible(permissions: &[String]) -> bool {
        CREATOR_REQUIREMENTS
            .iter()
            .all(|key| permissions.iter().any(|p| p == key))
    }

    fn migration_from(&self, set_key: &str) -> Option<&MigrationSnapshot> {
        self.migrations.iter().find(|m| m.source == set_key)
    }

    /// Refuses changes to a set that is being replaced.
    fn check_not_migrating(&self, set: u64) -> Result<(), Failure> {
        if self.migration_from(&self.sets[set].key).is_some() {
            return Err(Failure::new(
                422,
                MIGRATION_IN_PROGRESS,
                "replacement under way",
                "This role set is being replaced; it cannot change until the migration completes.",
            ));
        }
        Ok(())
    }

    // ---- key changes ---------------------------------------------------------------------

    /// A permission key changed: the roles holding it now hold the new key.
    fn rename_permission(&mut self, old: &str, new: &str) {
        self.roles.update_all(|role| {
            for key in role.permissions.iter_mut().filter(|k| *k == old) {
                new.clone_into(key);
            }
        });
    }

    /// A role key changed: role sets and migrations name it by the new key.
    fn rename_role(&mut self, old: &str, new: &str) {
        self.sets.update_all(|set| {
            for member in set.roles.iter_mut().filter(|m| m.role == old) {
                new.clone_into(&mut member.role);
            }
            for place in [&mut set.default_role, &mut set.creator_role] {
                if *place == old {
                    new.clone_into(place);
                }
            }
        });
        for m in &mut self.migrations {
            if let Some(map) = &mut m.mappings {
                *map = std::mem::take(map)
                    .into_iter()
                    .map(|(from, to)| {
                        let rename = |k: String| if k == old { new.to_owned() } else { k };
                        (rename(from), rename(to))
                    })
                    .collect();
            }
        }
    }

    /// A role set key changed: migrations name it by the new key.
    fn rename_set(&mut self, old: &str, new: &str) {
        for m in &mut self.migrations {
            for place in [&mut m.source, &mut m.dest] {
                if *place == old {
                    new.clone_into(place);
                }
            }
        }
    }

    // ---- rules several operations share --------------------------------------------------

    /// Plan gating: spec, the create operations answer 402; Clerk's index of errors names the
    /// code `unsupported_subscription_plan_features`, with the features in
    /// `meta.unsupported_features`. The notes: custom roles are a paid feature.
    fn check_plan(&self) -> Result<(), Failure> {
        if self.rules.custom_roles {
            return Ok(());
        }
        Err(Failure::new(
            402,
            "unsupported_subscription_plan_features",
            "not in your plan",
            "This instance's plan does not include custom roles and permissions; upgrade it to create them.",
        )
        .meta("unsupported_features", json!(["custom_roles"])))
    }

    /// A role that is some set's creator role must stay eligible. Source: the "Roles and
    /// permissions" guide, section on the creator role (its three required system
    /// permissions); Clerk's index of errors names 422
    /// `organization_missing_creator_role_permissions`.
    fn check_keeps_creator_eligibility(
        &self,
        role: u64,
        permissions: &[String],
    ) -> Result<(), Failure> {
        let key = &self.roles[role].key;
        let is_creator = self.sets.values().any(|s| s.creator_role == *key);
        if is_creator && !Self::is_creator_eligible(permissions) {
            return Err(missing_creator_permissions(key));
        }
        Ok(())
    }

    /// The role with this key may be a creator role.
    fn check_creator_eligible(&self, role_key: &str) -> Result<(), Failure> {
        let eligible = self
            .roles
            .by_key(role_key)
            .is_some_and(|r| Self::is_creator_eligible(&r.permissions));
        if eligible {
            Ok(())
        } else {
            Err(missing_creator_permissions(role_key))
        }
    }

    // ---- time ----------------------------------------------------------------------------

    /// Completes every migration whose time has come: members move to the destination set
    /// and the replaced set is gone (spec: ReplaceRoleSet, which stands in for deleting a role
    /// set). Called before every request, so what a request sees follows
    /// from the time alone.
    pub(crate) fn settle(&mut self, now: i64) {
        let (done, pending): (Vec<_>, Vec<_>) = std::mem::take(&mut self.migrations)
            .into_iter()
            .partition(|m| now.saturating_sub(m.created_at) >= m.duration_ms);
        self.migrations = pending;
        for m in done {
            self.complete(&m, now);
        }
    }

    /// Completes every migration under way now, whatever its duration; returns how many.
    pub(crate) fn finish_migrations(&mut self, now: i64) -> usize {
        let done = std::mem::take(&mut self.migrations);
        let count = done.len();
        for m in done {
            self.complete(&m, now);
        }
        count
    }

    fn complete(&mut self, m: &MigrationSnapshot, now: i64) {
        let Some(source) = self
            .sets
            .seq_of_key(&m.source)
            .and_then(|seq| self.sets.remove(seq))
        else {
            return;
        };
        let Some(dest) = self.sets.seq_of_key(&m.dest) else {
            return;
        };
        self.sets.update(dest, |dest| {
            for member in source.roles.iter().filter(|m| m.members > 0) {
                let role = &member.role;
                // The caller's mapping, else the same role, else (if the destination changed
                // since the migration started) its default role.
                let target = m
                    .mappings
                    .as_ref()
                    .and_then(|map| map.get(role))
                    .filter(|r| dest.holds(r))
                    .or_else(|| dest.holds(role).then_some(role))
                    .unwrap_or(&dest.default_role)
                    .clone();
                dest.add_members(&target, member.members);
            }
            dest.updated_at = now;
        });
    }

    // ---- test controls -------------------------------------------------------------------

    /// Members holding `role_key` in the set `set_key_or_id`.
    pub(crate) fn set_members(
        &mut self,
        set_key_or_id: &str,
        role_key: &str,
        count: u64,
    ) -> Result<(), String> {
        let seq = self
            .set_seq(set_key_or_id)
            .map_err(|_| format!("there is no role set {set_key_or_id}"))?;
        if !self.roles.contains_key(role_key) {
            return Err(format!("there is no role {role_key}"));
        }
        self.sets
            .update(seq, |set| {
                let member = set.roles.iter_mut().find(|m| m.role == role_key);
                match member {
                    Some(member) => {
                        member.members = count;
                        Ok(())
                    }
                    None => Err(format!("role {role_key} is not in role set {}", set.key)),
                }
            })
            .unwrap_or_else(|| Err("the role set vanished".into()))
    }

    /// Pending invitations that offer `role_key`.
    pub(crate) fn set_invitations(&mut self, role_key: &str, count: u64) -> Result<(), String> {
        let role = self
            .roles
            .seq_of_key(role_key)
            .ok_or_else(|| format!("there is no role {role_key}"))?;
        self.roles
            .update(role, |r| r.invitations = count)
            .ok_or_else(|| "the role vanished".into())
    }
}

/// The fields of a role set being created.
struct NewSet {
    key: String,
    name: String,
    description: Option<String>,
    initial: bool,
    roles: Vec<String>,
    default_role: String,
    creator_role: String,
    now: i64,
}

fn missing_creator_permissions(role_key: &str) -> Failure {
    Failure::new(
        422,
        "organization_missing_creator_role_permissions",
        "not eligible as creator role",
        format!(
            "{role_key} cannot be a creator role: a creator role must hold {}.",
            CREATOR_REQUIREMENTS.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> State {
        State::seeded(
            Ids::new(1),
            Rules {
                custom_roles: true,
                migration_ms: 0,
                quotas: crate::settings::Quotas::default(),
                stale_reads_ms: 0,
            },
            Clock::new(true),
        )
    }

    #[test]
    fn a_seeded_instance_holds_what_clerk_seeds() {
        let state = seeded();
        assert_eq!(state.permissions.len(), SYSTEM_PERMISSIONS.len());
        assert!(
            state
                .permissions
                .values()
                .all(|p| p.system && p.key.starts_with("org:sys_"))
        );
        let admin = state.roles.by_key("org:admin").unwrap();
        assert_eq!(admin.permissions.len(), SYSTEM_PERMISSIONS.len());
        assert!(State::is_creator_eligible(&admin.permissions));
        let member = state.roles.by_key("org:member").unwrap();
        assert!(!State::is_creator_eligible(&member.permissions));
        let set = state.sets.by_key("role_set:default").unwrap();
        assert!(set.initial);
        assert_eq!(set.roles.len(), 2);
        assert_eq!(set.creator_role, admin.key);
        assert_eq!(set.default_role, member.key);
    }

    #[test]
    fn a_role_key_change_reaches_every_reference() {
        let mut state = seeded();
        let admin = state.roles.seq_of_key("org:admin").unwrap();
        state.migrations.push(MigrationSnapshot {
            id: "rsmig_x".into(),
            source: "role_set:default".into(),
            dest: "role_set:default".into(),
            mappings: Some([("org:admin".to_owned(), "org:member".to_owned())].into()),
            created_at: 0,
            duration_ms: 1,
            total_members: 0,
        });
        state.rename_role("org:admin", "org:boss");
        state.roles.update(admin, |r| r.key = "org:boss".into());
        let set = state.sets.by_key("role_set:default").unwrap();
        assert_eq!(set.creator_role, "org:boss");
        assert!(set.holds("org:boss") && !set.holds("org:admin"));
        let map = state.migrations[0].mappings.as_ref().unwrap();
        assert_eq!(map.get("org:boss").map(String::as_str), Some("org:member"));
        state.rename_set("role_set:default", "role_set:main");
        assert_eq!(state.migrations[0].dest, "role_set:main");
    }
}
