//! The instance: permissions, roles, role sets, members, invitations and migrations, and the
//! rules every change must keep. Handlers are synchronous; the server calls them with the
//! state locked, so each request sees and leaves a consistent instance.
//!
//! Objects are kept by creation sequence number (`seq`), which breaks ties between equal
//! timestamps and lets role sets and migrations refer to roles whatever their key becomes: a
//! role key change therefore reaches every role set that holds the role (spec:
//! UpdateOrganizationRole: a new key carries over to the settings that name the role).
//!
//! This file holds the records, seeding, lookups, time and the rules several operations share;
//! each kind of object has the file of its operations, `render` turns records into the crate's
//! model types and `keys` checks keys and names.

mod keys;
mod permissions;
mod render;
mod role_sets;
mod roles;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::{clock::Clock, ids::Ids, lists::Listed, wire::Failure};

use keys::check_name;
pub(crate) use keys::{check_permission_key, check_role_key, check_role_set_key};

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
    /// The custom-role and role-set quotas.
    pub quotas: crate::settings::Quotas,
    /// How long a role set replacement takes, in milliseconds.
    pub migration_ms: i64,
}

#[derive(Clone, Debug)]
pub(super) struct PermissionRec {
    pub seq: u64,
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: String,
    pub system: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug)]
pub(super) struct RoleRec {
    pub seq: u64,
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    /// Held permissions, by permission seq (listed in creation order).
    pub permissions: BTreeSet<u64>,
    /// Pending invitations that offer this role.
    pub invitations: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug)]
pub(super) struct SetRec {
    pub seq: u64,
    pub id: String,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub initial: bool,
    /// Role seqs, in the order they joined the set.
    pub roles: Vec<u64>,
    /// Members per role seq.
    pub members: HashMap<u64, u64>,
    pub default_role: u64,
    pub creator_role: u64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug)]
pub(super) struct MigrationRec {
    pub id: String,
    pub source: u64,
    pub dest: u64,
    /// The reassignments the caller gave, source role seq -> destination role seq.
    pub mappings: Option<BTreeMap<u64, u64>>,
    pub created_at: i64,
    pub duration_ms: i64,
    /// Members of the source set when the migration started.
    pub total_members: u64,
}

/// The whole simulated instance.
#[derive(Clone, Debug)]
pub(crate) struct State {
    pub(super) clock: Clock,
    pub(super) ids: Ids,
    pub(super) instance_id: String,
    pub(super) next_seq: u64,
    pub(super) permissions: BTreeMap<u64, PermissionRec>,
    pub(super) permission_ids: HashMap<String, u64>,
    pub(super) permission_keys: HashMap<String, u64>,
    pub(super) roles: BTreeMap<u64, RoleRec>,
    pub(super) role_ids: HashMap<String, u64>,
    pub(super) role_keys: HashMap<String, u64>,
    pub(super) sets: BTreeMap<u64, SetRec>,
    pub(super) set_ids: HashMap<String, u64>,
    pub(super) set_keys: HashMap<String, u64>,
    pub(super) migrations: Vec<MigrationRec>,
    pub(super) rules: Rules,
}

/// The record kinds that lists are made of all carry the same listing fields.
macro_rules! listed {
    ($($record:ty),+) => {$(
        impl Listed for $record {
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn key(&self) -> &str {
                &self.key
            }
            fn created_at(&self) -> i64 {
                self.created_at
            }
            fn seq(&self) -> u64 {
                self.seq
            }
        }
    )+};
}

listed!(PermissionRec, RoleRec, SetRec);

type Answer = Result<Value, Failure>;

impl State {
    /// An empty instance (no objects at all); [`State::seeded`] is what Clerk starts with.
    pub(super) fn empty(ids: Ids, rules: Rules, clock: Clock) -> Self {
        let mut ids = ids;
        let instance_id = ids.next("ins");
        State {
            clock,
            ids,
            instance_id,
            next_seq: 1,
            permissions: BTreeMap::new(),
            permission_ids: HashMap::new(),
            permission_keys: HashMap::new(),
            roles: BTreeMap::new(),
            role_ids: HashMap::new(),
            role_keys: HashMap::new(),
            sets: BTreeMap::new(),
            set_ids: HashMap::new(),
            set_keys: HashMap::new(),
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
        let mut system = Vec::new();
        for (key, name) in SYSTEM_PERMISSIONS {
            let description = format!("System permission: {}.", name.to_lowercase());
            system.push(state.insert_permission(key, name, &description, true, now));
        }
        let by_key = |key: &str| SYSTEM_PERMISSIONS.iter().position(|(k, _)| *k == key);
        let member_permissions = ["org:sys_memberships:read", "org:sys_billing:read"]
            .iter()
            .filter_map(|k| by_key(k).map(|i| system[i]))
            .collect();
        let admin = state.insert_role(
            "org:admin",
            "Admin",
            Some("Full access: runs the organization and its memberships."),
            system.iter().copied().collect(),
            now,
        );
        let member = state.insert_role(
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
            roles: vec![admin, member],
            default_role: member,
            creator_role: admin,
            now,
        });
        state
    }

    pub(super) fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A fresh ID no object of the instance has (a restored snapshot may hold IDs that this
    /// instance's generator would produce again).
    fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let id = self.ids.next(prefix);
            let taken = self.permission_ids.contains_key(&id)
                || self.role_ids.contains_key(&id)
                || self.set_ids.contains_key(&id)
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
        let seq = self.take_seq();
        let id = self.new_id("perm");
        self.permission_ids.insert(id.clone(), seq);
        self.permission_keys.insert(key.to_owned(), seq);
        self.permissions.insert(
            seq,
            PermissionRec {
                seq,
                id,
                key: key.to_owned(),
                name: name.to_owned(),
                description: description.to_owned(),
                system,
                created_at: now,
                updated_at: now,
            },
        );
        seq
    }

    fn insert_role(
        &mut self,
        key: &str,
        name: &str,
        description: Option<&str>,
        permissions: BTreeSet<u64>,
        now: i64,
    ) -> u64 {
        let seq = self.take_seq();
        let id = self.new_id("role");
        self.role_ids.insert(id.clone(), seq);
        self.role_keys.insert(key.to_owned(), seq);
        self.roles.insert(
            seq,
            RoleRec {
                seq,
                id,
                key: key.to_owned(),
                name: name.to_owned(),
                description: description.map(str::to_owned),
                permissions,
                invitations: 0,
                created_at: now,
                updated_at: now,
            },
        );
        seq
    }

    fn insert_set(&mut self, new: NewSet) -> u64 {
        let seq = self.take_seq();
        let id = self.new_id("rs");
        if new.initial {
            self.demote_initial_sets(new.now);
        }
        self.set_ids.insert(id.clone(), seq);
        self.set_keys.insert(new.key.clone(), seq);
        self.sets.insert(
            seq,
            SetRec {
                seq,
                id,
                key: new.key,
                name: new.name,
                description: new.description,
                initial: new.initial,
                roles: new.roles,
                members: HashMap::new(),
                default_role: new.default_role,
                creator_role: new.creator_role,
                created_at: new.now,
                updated_at: new.now,
            },
        );
        seq
    }

    /// Spec: only one role set is `initial`; making another initial turns the old one
    /// `custom` (CreateRoleSet and UpdateRoleSet, `type`).
    fn demote_initial_sets(&mut self, now: i64) {
        for set in self.sets.values_mut().filter(|s| s.initial) {
            set.initial = false;
            set.updated_at = now;
        }
    }

    // ---- lookups -------------------------------------------------------------------------

    fn permission_seq(&self, id: &str) -> Result<u64, Failure> {
        self.permission_ids
            .get(id)
            .copied()
            .ok_or_else(|| Failure::not_found("Permission"))
    }

    fn role_seq(&self, id: &str) -> Result<u64, Failure> {
        self.role_ids
            .get(id)
            .copied()
            .ok_or_else(|| Failure::not_found("Organization role"))
    }

    /// Spec: role set paths take a key or an ID (`role_set_key_or_id`).
    fn set_seq(&self, key_or_id: &str) -> Result<u64, Failure> {
        self.set_keys
            .get(key_or_id)
            .or_else(|| self.set_ids.get(key_or_id))
            .copied()
            .ok_or_else(|| Failure::not_found("Role set"))
    }

    fn role_key_seq(&self, key: &str) -> Option<u64> {
        self.role_keys.get(key).copied()
    }

    fn role(&self, seq: u64) -> &RoleRec {
        &self.roles[&seq]
    }

    fn role_key(&self, seq: u64) -> &str {
        self.roles.get(&seq).map_or("", |r| r.key.as_str())
    }

    fn is_creator_eligible(&self, permissions: &BTreeSet<u64>) -> bool {
        CREATOR_REQUIREMENTS.iter().all(|key| {
            self.permission_keys
                .get(*key)
                .is_some_and(|seq| permissions.contains(seq))
        })
    }

    fn migration_from(&self, set: u64) -> Option<&MigrationRec> {
        self.migrations.iter().find(|m| m.source == set)
    }

    /// Refuses changes to a set that is being replaced or is a replacement's destination.
    fn check_not_migrating(&self, set: u64) -> Result<(), Failure> {
        if self.migration_from(set).is_some() {
            return Err(Failure::new(
                422,
                MIGRATION_IN_PROGRESS,
                "replacement under way",
                "This role set is being replaced; it cannot change until the migration completes.",
            ));
        }
        Ok(())
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
        permissions: &BTreeSet<u64>,
    ) -> Result<(), Failure> {
        let is_creator = self.sets.values().any(|s| s.creator_role == role);
        if is_creator && !self.is_creator_eligible(permissions) {
            return Err(missing_creator_permissions(self.role_key(role)));
        }
        Ok(())
    }

    fn check_creator_eligible(&self, role: u64) -> Result<(), Failure> {
        if self.is_creator_eligible(&self.role(role).permissions) {
            Ok(())
        } else {
            Err(missing_creator_permissions(self.role_key(role)))
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

    fn complete(&mut self, m: &MigrationRec, now: i64) {
        let Some(source) = self.sets.remove(&m.source) else {
            return;
        };
        self.set_ids.remove(&source.id);
        self.set_keys.remove(&source.key);
        let Some(dest) = self.sets.get_mut(&m.dest) else {
            return;
        };
        for (role, count) in source.members {
            if count == 0 {
                continue;
            }
            // The caller's mapping, else the same role, else (if the destination changed
            // since the migration started) its default role.
            let target = m
                .mappings
                .as_ref()
                .and_then(|map| map.get(&role).copied())
                .filter(|r| dest.roles.contains(r))
                .or_else(|| dest.roles.contains(&role).then_some(role))
                .unwrap_or(dest.default_role);
            *dest.members.entry(target).or_insert(0) += count;
        }
        dest.updated_at = now;
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
        let role = self
            .role_key_seq(role_key)
            .ok_or_else(|| format!("there is no role {role_key}"))?;
        let set = self.sets.get_mut(&seq).ok_or("the role set vanished")?;
        if !set.roles.contains(&role) {
            return Err(format!("role {role_key} is not in role set {}", set.key));
        }
        if count == 0 {
            set.members.remove(&role);
        } else {
            set.members.insert(role, count);
        }
        Ok(())
    }

    /// Pending invitations that offer `role_key`.
    pub(crate) fn set_invitations(&mut self, role_key: &str, count: u64) -> Result<(), String> {
        let role = self
            .role_key_seq(role_key)
            .ok_or_else(|| format!("there is no role {role_key}"))?;
        self.roles
            .get_mut(&role)
            .ok_or("the role vanished")?
            .invitations = count;
        Ok(())
    }
}

/// The fields of a role set being created.
struct NewSet {
    key: String,
    name: String,
    description: Option<String>,
    initial: bool,
    roles: Vec<u64>,
    default_role: u64,
    creator_role: u64,
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

    #[test]
    fn a_seeded_instance_holds_what_clerk_seeds() {
        let state = State::seeded(
            Ids::new(1),
            Rules {
                custom_roles: true,
                quotas: crate::settings::Quotas::default(),
                migration_ms: 0,
            },
            Clock::new(true),
        );
        assert_eq!(state.permissions.len(), SYSTEM_PERMISSIONS.len());
        assert!(
            state
                .permissions
                .values()
                .all(|p| p.system && p.key.starts_with("org:sys_"))
        );
        let admin = &state.roles[&state.role_keys["org:admin"]];
        assert_eq!(admin.permissions.len(), SYSTEM_PERMISSIONS.len());
        assert!(state.is_creator_eligible(&admin.permissions));
        let member = &state.roles[&state.role_keys["org:member"]];
        assert!(!state.is_creator_eligible(&member.permissions));
        let set = &state.sets[&state.set_keys["role_set:default"]];
        assert!(set.initial);
        assert_eq!(set.roles.len(), 2);
        assert_eq!(set.creator_role, admin.seq);
        assert_eq!(set.default_role, member.seq);
    }
}
