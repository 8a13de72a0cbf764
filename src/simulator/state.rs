//! The instance: permissions, roles, role sets, members, invitations and migrations, and the
//! rules every change must keep. Handlers here are synchronous; the server calls them with the
//! state locked, so each request sees and leaves a consistent instance.
//!
//! Objects are kept by creation sequence number (`seq`), which breaks ties between equal
//! timestamps and lets role sets and migrations refer to roles whatever their key becomes: a
//! role key change therefore reaches every role set that holds the role (spec:
//! UpdateOrganizationRole, "updating the key will cascade").

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::{
    clock::Clock,
    ids::Ids,
    lists::{ListQuery, Listed, select},
    wire::{Failure, fill_nulls, parse_body, with_nulls},
};
use crate::{
    AddRoles, CreatePermission, CreateRole, CreateRoleSet, CreateRoleSetType, DeletedObject, Page,
    Patch, Permission, ReplaceRole, ReplaceRoleSet, Role, RoleSet, RoleSetItem, RoleSetMigration,
    RoleSetType, RoleSetTypeUpdate, UpdatePermission, UpdateRole, UpdateRoleSet,
};

/// Clerk's system permissions: (key, name). Source: Clerk's "Roles and permissions" guide,
/// section "System permissions" (eight keys under `org:sys_`). The names are ours.
pub(crate) const SYSTEM_PERMISSIONS: [(&str, &str); 8] = [
    ("org:sys_profile:manage", "Manage organization"),
    ("org:sys_profile:delete", "Delete organization"),
    ("org:sys_memberships:read", "Read members"),
    ("org:sys_memberships:manage", "Manage members"),
    ("org:sys_domains:read", "Read domains"),
    ("org:sys_domains:manage", "Manage domains"),
    ("org:sys_billing:read", "Read billing"),
    ("org:sys_billing:manage", "Manage billing"),
];

/// The system permissions a creator role must hold. Source: the same guide, "The Creator
/// role" (manage members, read members, delete organization).
pub(crate) const CREATOR_REQUIREMENTS: [&str; 3] = [
    "org:sys_memberships:manage",
    "org:sys_memberships:read",
    "org:sys_profile:delete",
];

/// The most roles one create-role-set or add-roles call may name. Spec: CreateRoleSet
/// `roles` and AddRolesToRoleSet `role_keys`, "no more than 10".
pub(crate) const MAX_ROLES_PER_CALL: usize = 10;

/// The reserved prefix of system permission keys. Spec: CreateOrganizationPermission `key`.
const SYSTEM_PREFIX: &str = "org:sys_";

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
#[derive(Debug)]
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

impl Listed for PermissionRec {
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

impl Listed for RoleRec {
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

impl Listed for SetRec {
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
    /// organizations get); the set's key `role_set:default` is the one the notes and README use.
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

    // ---- rendering -----------------------------------------------------------------------

    fn permission_model(&self, p: &PermissionRec) -> Permission {
        Permission {
            created_at: p.created_at,
            description: p.description.clone(),
            id: p.id.clone(),
            key: p.key.clone(),
            name: p.name.clone(),
            object: "permission".into(),
            // Spec: Permission `type`; the notes: "system" or "user".
            type_: Some(if p.system { "system" } else { "user" }.into()),
            updated_at: p.updated_at,
        }
    }

    fn permission_json(&self, seq: u64) -> Value {
        serde_json::to_value(self.permission_model(&self.permissions[&seq])).unwrap_or_default()
    }

    fn role_json(&self, seq: u64) -> Value {
        let r = self.role(seq);
        let role = Role {
            created_at: r.created_at,
            description: r.description.clone(),
            id: r.id.clone(),
            is_creator_eligible: self.is_creator_eligible(&r.permissions),
            key: r.key.clone(),
            name: r.name.clone(),
            object: "role".into(),
            permissions: r
                .permissions
                .iter()
                .filter_map(|p| self.permissions.get(p))
                .map(|p| self.permission_model(p))
                .collect(),
            updated_at: r.updated_at,
        };
        with_nulls(&role, &["description"])
    }

    fn item(&self, set: &SetRec, role: u64) -> RoleSetItem {
        let r = self.role(role);
        let members = set.members.get(&role).copied().unwrap_or(0);
        RoleSetItem {
            created_at: r.created_at,
            description: r.description.clone(),
            has_members: Some(members > 0),
            id: r.id.clone(),
            key: r.key.clone(),
            members_count: Some(i64::try_from(members).unwrap_or(i64::MAX)),
            name: r.name.clone(),
            object: "role_set_item".into(),
            updated_at: r.updated_at,
        }
    }

    fn migration_model(&self, m: &MigrationRec, now: i64) -> RoleSetMigration {
        // Assumption: a fifth of the duration enqueued, the rest in progress, members moving
        // at an even pace; the status is computed from the time elapsed.
        let enqueued_ms = m.duration_ms / 5;
        let elapsed = now.saturating_sub(m.created_at);
        let (status, started_at, migrated) = if elapsed < enqueued_ms {
            ("enqueued", None, 0)
        } else if elapsed < m.duration_ms {
            let running = (elapsed - enqueued_ms) as u128;
            let span = (m.duration_ms - enqueued_ms).max(1) as u128;
            let migrated = (u128::from(m.total_members) * running / span) as u64;
            ("in_progress", Some(m.created_at + enqueued_ms), migrated)
        } else {
            (
                "completed",
                Some(m.created_at + enqueued_ms),
                m.total_members,
            )
        };
        RoleSetMigration {
            completed_at: None,
            created_at: m.created_at,
            dest_role_set_id: self.sets.get(&m.dest).map(|s| s.id.clone()),
            id: m.id.clone(),
            instance_id: self.instance_id.clone(),
            mappings: m.mappings.as_ref().map(|map| {
                map.iter()
                    .map(|(from, to)| {
                        (
                            self.role_key(*from).to_owned(),
                            self.role_key(*to).to_owned(),
                        )
                    })
                    .collect()
            }),
            migrated_members: i64::try_from(migrated).unwrap_or(i64::MAX),
            object: "role_set_migration".into(),
            organization_id: None,
            source_role_set_id: self
                .sets
                .get(&m.source)
                .map_or_else(String::new, |s| s.id.clone()),
            started_at,
            status: status.into(),
            // Spec: RoleSetMigration `trigger_type`, e.g. "role_set_deletion".
            trigger_type: "role_set_deletion".into(),
            updated_at: started_at.unwrap_or(m.created_at),
        }
    }

    fn set_json(&self, seq: u64, now: i64) -> Value {
        let s = &self.sets[&seq];
        let set = RoleSet {
            created_at: s.created_at,
            creator_role: Some(self.item(s, s.creator_role)),
            default_role: Some(self.item(s, s.default_role)),
            description: s.description.clone(),
            id: s.id.clone(),
            key: s.key.clone(),
            name: s.name.clone(),
            object: "role_set".into(),
            // Spec: RoleSet `role_set_migration`, present while enqueued or in progress.
            role_set_migration: self
                .migration_from(seq)
                .map(|m| self.migration_model(m, now)),
            roles: s.roles.iter().map(|r| self.item(s, *r)).collect(),
            type_: if s.initial {
                RoleSetType::Initial
            } else {
                RoleSetType::Custom
            },
            updated_at: s.updated_at,
        };
        let mut json = with_nulls(&set, &["description", "role_set_migration"]);
        for item in ["default_role", "creator_role"] {
            fill_nulls(&mut json[item], &["description"]);
        }
        if let Some(Value::Array(items)) = json.get_mut("roles") {
            for item in items {
                fill_nulls(item, &["description"]);
            }
        }
        fill_nulls(
            &mut json["role_set_migration"],
            &[
                "organization_id",
                "dest_role_set_id",
                "mappings",
                "started_at",
                "completed_at",
            ],
        );
        json
    }

    fn page(data: Vec<Value>, total: usize) -> Value {
        let page = Page {
            data,
            total_count: i64::try_from(total).unwrap_or(i64::MAX),
        };
        serde_json::to_value(page).unwrap_or_default()
    }

    fn deleted(object: &str, id: String) -> Value {
        let deleted = DeletedObject {
            deleted: true,
            external_id: None,
            id: Some(id),
            object: object.into(),
            slug: None,
        };
        serde_json::to_value(deleted).unwrap_or_default()
    }

    // ---- time ----------------------------------------------------------------------------

    /// Completes every migration whose time has come: members move to the destination set
    /// and the replaced set is gone (spec: ReplaceRoleSet, "functionally equivalent to
    /// deleting the role set"). Called before every request, so what a request sees follows
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

    // ---- permissions ---------------------------------------------------------------------

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

    // ---- roles ---------------------------------------------------------------------------

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

    /// A role that is some set's creator role must stay eligible. Source: the "Roles and
    /// permissions" guide, "The Creator role must at least have..."; Clerk's index of errors
    /// names 422 `organization_missing_creator_role_permissions`.
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

    /// Spec: DeleteOrganizationRole, "cannot be deleted if it is currently used as the default
    /// creator role, domain default role, assigned to any members, or exists in any
    /// invitations". Here: a set's default or creator role, members in any set, or pending
    /// invitations. Assumption: refused with 422 and the code
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

    // ---- role sets -----------------------------------------------------------------------

    pub(crate) fn list_role_sets(&self, q: &ListQuery, now: i64) -> Answer {
        let (page, total) = select(self.sets.values(), q);
        let data = page
            .into_iter()
            .map(|s| self.set_json(s.seq, now))
            .collect();
        Ok(Self::page(data, total))
    }

    pub(crate) fn get_role_set(&self, key_or_id: &str, now: i64) -> Answer {
        Ok(self.set_json(self.set_seq(key_or_id)?, now))
    }

    /// Role keys from a body: at least one, at most [`MAX_ROLES_PER_CALL`], each an existing
    /// role; repeats are dropped, order kept.
    fn role_list(&self, param: &str, keys: &[String]) -> Result<Vec<u64>, Failure> {
        if keys.is_empty() {
            return Err(Failure::value(
                param,
                format!("`{param}` must name at least one role."),
            ));
        }
        if keys.len() > MAX_ROLES_PER_CALL {
            // Clerk's `FormParameterArraySizeExceeded`.
            return Err(Failure::new(
                422,
                "form_param_array_size_exceeded",
                "too many items",
                format!(
                    "`{param}` may name at most {MAX_ROLES_PER_CALL} roles per call, got {}.",
                    keys.len()
                ),
            )
            .param(param));
        }
        let mut seqs = Vec::with_capacity(keys.len());
        for key in keys {
            let seq = self.role_key_seq(key).ok_or_else(|| {
                Failure::missing_resource(param, format!("There is no role with key {key}."))
            })?;
            if !seqs.contains(&seq) {
                seqs.push(seq);
            }
        }
        Ok(seqs)
    }

    /// A role key that must name one of `roles`.
    fn member_of(&self, param: &str, key: &str, roles: &[u64]) -> Result<u64, Failure> {
        self.role_key_seq(key)
            .filter(|seq| roles.contains(seq))
            .ok_or_else(|| {
                Failure::value(param, format!("{key} is not one of the role set's roles."))
            })
    }

    pub(crate) fn create_role_set(&mut self, body: &[u8], now: i64) -> Answer {
        let new: CreateRoleSet = parse_body(body)?;
        self.check_plan()?;
        check_name(&new.name)?;
        let key = match &new.key {
            Some(key) => {
                check_role_set_key(key)?;
                if self.set_keys.contains_key(key) {
                    return Err(Failure::duplicate("role set", key));
                }
                key.clone()
            }
            None => self.key_from_name(&new.name),
        };
        let roles = self.role_list("roles", &new.roles)?;
        // Spec: CreateRoleSet, default and creator role "must be one of the roles in the
        // `roles` array".
        let default_role = self.member_of("default_role_key", &new.default_role_key, &roles)?;
        let creator_role = self.member_of("creator_role_key", &new.creator_role_key, &roles)?;
        self.check_creator_eligible(creator_role)?;
        let seq = self.insert_set(NewSet {
            key,
            name: new.name,
            description: new.description,
            initial: new.type_ == Some(CreateRoleSetType::Initial),
            roles,
            default_role,
            creator_role,
            now,
        });
        Ok(self.set_json(seq, now))
    }

    /// Spec: CreateRoleSet, without a key "a key will be generated from the name".
    /// Assumption: lowercase, anything else than `[a-z0-9]` becomes `_`, and a number is
    /// appended when the key is taken.
    fn key_from_name(&self, name: &str) -> String {
        let mut slug = String::new();
        for c in name.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                slug.push(c);
            } else if !slug.ends_with('_') {
                slug.push('_');
            }
        }
        let slug = slug.trim_matches('_');
        let base = format!(
            "role_set:{}",
            if slug.is_empty() { "role_set" } else { slug }
        );
        let mut key = base.clone();
        let mut n = 2;
        while self.set_keys.contains_key(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        key
    }

    pub(crate) fn update_role_set(&mut self, key_or_id: &str, body: &[u8], now: i64) -> Answer {
        let seq = self.set_seq(key_or_id)?;
        let changes: UpdateRoleSet = parse_body(body)?;
        self.check_not_migrating(seq)?;
        let roles = self.sets[&seq].roles.clone();
        if let Patch::Set(name) = &changes.name {
            check_name(name)?;
        }
        if let Patch::Set(key) = &changes.key {
            check_role_set_key(key)?;
            if self.set_keys.get(key).is_some_and(|other| *other != seq) {
                return Err(Failure::duplicate("role set", key));
            }
        }
        // Spec: UpdateRoleSet, default and creator role "must be an existing role in the role
        // set". Assumption: `null` leaves them as they are (a set always has both).
        let default_role = match &changes.default_role_key {
            Patch::Set(key) => Some(self.member_of("default_role_key", key, &roles)?),
            _ => None,
        };
        let creator_role = match &changes.creator_role_key {
            Patch::Set(key) => {
                let role = self.member_of("creator_role_key", key, &roles)?;
                self.check_creator_eligible(role)?;
                Some(role)
            }
            _ => None,
        };
        if changes.type_ == Patch::Set(RoleSetTypeUpdate::Initial) && !self.sets[&seq].initial {
            self.demote_initial_sets(now);
        }
        let set = self.sets.get_mut(&seq).ok_or_else(Failure::internal)?;
        if changes.type_ == Patch::Set(RoleSetTypeUpdate::Initial) {
            set.initial = true;
        }
        if let Patch::Set(key) = changes.key {
            self.set_keys.remove(&set.key);
            self.set_keys.insert(key.clone(), seq);
            set.key = key;
        }
        if let Patch::Set(name) = changes.name {
            set.name = name;
        }
        match changes.description {
            Patch::Set(description) => set.description = Some(description),
            Patch::Clear => set.description = None,
            Patch::Unchanged => {}
        }
        if let Some(role) = default_role {
            set.default_role = role;
        }
        if let Some(role) = creator_role {
            set.creator_role = role;
        }
        set.updated_at = now;
        Ok(self.set_json(seq, now))
    }

    pub(crate) fn add_roles(&mut self, key_or_id: &str, body: &[u8], now: i64) -> Answer {
        let seq = self.set_seq(key_or_id)?;
        let add: AddRoles = parse_body(body)?;
        self.check_not_migrating(seq)?;
        let new_roles = self.role_list("role_keys", &add.role_keys)?;
        let set = &self.sets[&seq];
        if let Some(already) = new_roles.iter().find(|r| set.roles.contains(r)) {
            // Assumption: adding a role the set already holds is refused, not ignored.
            return Err(Failure::value(
                "role_keys",
                format!(
                    "{} is already in role set {}.",
                    self.role_key(*already),
                    set.key
                ),
            ));
        }
        let mut roles = set.roles.clone();
        roles.extend(&new_roles);
        // Spec: AddRolesToRoleSet, the default or creator role may move "to one of the newly
        // added roles". Assumption: any role of the set after the addition is accepted.
        let default_role = add
            .default_role_key
            .as_deref()
            .map(|key| self.member_of("default_role_key", key, &roles))
            .transpose()?;
        let creator_role = add
            .creator_role_key
            .as_deref()
            .map(|key| self.member_of("creator_role_key", key, &roles))
            .transpose()?;
        if let Some(role) = creator_role {
            self.check_creator_eligible(role)?;
        }
        let set = self.sets.get_mut(&seq).ok_or_else(Failure::internal)?;
        set.roles = roles;
        if let Some(role) = default_role {
            set.default_role = role;
        }
        if let Some(role) = creator_role {
            set.creator_role = role;
        }
        set.updated_at = now;
        Ok(self.set_json(seq, now))
    }

    /// Spec: ReplaceRoleInRoleSet removes `role_key` from the set and moves its members to
    /// `to_role_key`, atomically. Source: the "Role Sets" guide, "If you delete a default
    /// Role, the reassigned Role will be the new default Role" (the same is done here for the
    /// creator role, which must then be eligible).
    pub(crate) fn replace_role(&mut self, key_or_id: &str, body: &[u8], now: i64) -> Answer {
        let seq = self.set_seq(key_or_id)?;
        let swap: ReplaceRole = parse_body(body)?;
        self.check_not_migrating(seq)?;
        let roles = self.sets[&seq].roles.clone();
        let from = self.member_of("role_key", &swap.role_key, &roles)?;
        let to = self.member_of("to_role_key", &swap.to_role_key, &roles)?;
        if from == to {
            return Err(Failure::value(
                "to_role_key",
                "A role cannot be replaced by itself; name another role of the set.",
            ));
        }
        if self.sets[&seq].creator_role == from {
            self.check_creator_eligible(to)?;
        }
        let set = self.sets.get_mut(&seq).ok_or_else(Failure::internal)?;
        set.roles.retain(|r| *r != from);
        if let Some(moved) = set.members.remove(&from) {
            *set.members.entry(to).or_insert(0) += moved;
        }
        if set.default_role == from {
            set.default_role = to;
        }
        if set.creator_role == from {
            set.creator_role = to;
        }
        set.updated_at = now;
        Ok(self.set_json(seq, now))
    }

    /// Spec: ReplaceRoleSet migrates the set's organizations to `dest_role_set_key`;
    /// `reassignment_mappings` are "required if members have roles that need to be
    /// reassigned". The answer is the deleted source set; the set stays visible, with its
    /// `role_set_migration`, until the migration completes (see [`State::settle`]).
    pub(crate) fn replace_role_set(&mut self, key_or_id: &str, body: &[u8], now: i64) -> Answer {
        let source = self.set_seq(key_or_id)?;
        let replace: ReplaceRoleSet = parse_body(body)?;
        self.check_not_migrating(source)?;
        if self.migrations.iter().any(|m| m.dest == source) {
            return Err(Failure::new(
                422,
                MIGRATION_IN_PROGRESS,
                "replacement under way",
                "Organizations are moving into this role set; it cannot be replaced until that completes.",
            ));
        }
        let dest = *self
            .set_keys
            .get(&replace.dest_role_set_key)
            .ok_or_else(|| {
                Failure::missing_resource(
                    "dest_role_set_key",
                    format!(
                        "There is no role set with key {}.",
                        replace.dest_role_set_key
                    ),
                )
            })?;
        if dest == source {
            return Err(Failure::value(
                "dest_role_set_key",
                "A role set cannot be replaced by itself.",
            ));
        }
        if self.migration_from(dest).is_some() {
            return Err(Failure::new(
                422,
                MIGRATION_IN_PROGRESS,
                "replacement under way",
                "The destination role set is itself being replaced.",
            )
            .param("dest_role_set_key"));
        }
        let source_set = &self.sets[&source];
        let dest_set = &self.sets[&dest];
        let mappings = match &replace.reassignment_mappings {
            None => None,
            Some(given) => {
                let mut map = BTreeMap::new();
                for (from_key, to_key) in given.iter() {
                    let from =
                        self.member_of("reassignment_mappings", from_key, &source_set.roles)?;
                    let to = self
                        .role_key_seq(to_key)
                        .filter(|r| dest_set.roles.contains(r))
                        .ok_or_else(|| {
                            Failure::value(
                                "reassignment_mappings",
                                format!("{to_key} is not one of the roles of {}.", dest_set.key),
                            )
                        })?;
                    map.insert(from, to);
                }
                Some(map)
            }
        };
        let unmapped: Vec<&str> = source_set
            .roles
            .iter()
            .filter(|r| source_set.members.get(r).is_some_and(|n| *n > 0))
            .filter(|r| !dest_set.roles.contains(r))
            .filter(|r| !mappings.as_ref().is_some_and(|m| m.contains_key(r)))
            .map(|r| self.role_key(*r))
            .collect();
        if !unmapped.is_empty() {
            // Clerk's `FormMissingConditionalParameter`.
            return Err(Failure::new(
                422,
                "form_conditional_param_missing",
                "missing",
                format!(
                    "reassignment_mappings must say where the members holding {} go: {} has no such role.",
                    unmapped.join(", "),
                    dest_set.key
                ),
            )
            .param("reassignment_mappings")
            .meta("role_keys", json!(unmapped)));
        }
        let total_members = source_set.members.values().sum();
        let source_id = source_set.id.clone();
        let was_initial = source_set.initial;
        // Assumption: replacing the initial set makes the destination initial, so that new
        // organizations keep getting a set that exists.
        if was_initial {
            self.demote_initial_sets(now);
            if let Some(dest_set) = self.sets.get_mut(&dest) {
                dest_set.initial = true;
            }
        }
        let id = self.new_id("rsmig");
        self.migrations.push(MigrationRec {
            id,
            source,
            dest,
            mappings,
            created_at: now,
            duration_ms: self.rules.migration_ms.max(0),
            total_members,
        });
        self.settle(now);
        Ok(Self::deleted("role_set", source_id))
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

/// Spec: UpdateOrganizationPermission and DeleteOrganizationPermission, "System permissions
/// cannot be updated/deleted"; both document 403. Assumption: Clerk's `ResourceForbidden`
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

/// Assumption: a name must not be blank.
fn check_name(name: &str) -> Result<(), Failure> {
    if name.trim().is_empty() {
        return Err(Failure::value("name", "`name` must not be blank."));
    }
    Ok(())
}

/// Lowercase letters, digits and `_`, at least one.
fn is_key_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Spec: CreateOrganizationPermission `key`: `org:<feature>:<action>`, each segment lowercase
/// letters, digits or `_`; the `org:sys_` prefix is reserved for system permissions.
pub(crate) fn check_permission_key(key: &str) -> Result<(), Failure> {
    if key.starts_with(SYSTEM_PREFIX) {
        return Err(Failure::format(
            "key",
            format!(
                "{key}: keys starting with {SYSTEM_PREFIX} are reserved for system permissions."
            ),
        ));
    }
    let well_formed = key
        .strip_prefix("org:")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(feature, action)| is_key_segment(feature) && is_key_segment(action));
    if !well_formed {
        return Err(Failure::format(
            "key",
            format!(
                "{key}: a permission key reads org:<feature>:<action>, in lowercase letters, digits and _."
            ),
        ));
    }
    Ok(())
}

/// Spec: CreateOrganizationRole `key`: `org:` then lowercase letters, digits and `_`.
pub(crate) fn check_role_key(key: &str) -> Result<(), Failure> {
    if !key.strip_prefix("org:").is_some_and(is_key_segment) {
        return Err(Failure::format(
            "key",
            format!("{key}: a role key reads org:<name>, in lowercase letters, digits and _."),
        ));
    }
    Ok(())
}

/// Spec: CreateRoleSet `key`: `role_set:` then lowercase letters, digits and `_`.
pub(crate) fn check_role_set_key(key: &str) -> Result<(), Failure> {
    if !key.strip_prefix("role_set:").is_some_and(is_key_segment) {
        return Err(Failure::format(
            "key",
            format!(
                "{key}: a role set key reads role_set:<name>, in lowercase letters, digits and _."
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_formats() {
        assert!(check_permission_key("org:invoices:read").is_ok());
        assert!(check_permission_key("org:in_v0ices:read_all").is_ok());
        for bad in [
            "org:invoices",
            "invoices:read",
            "org:Invoices:read",
            "org:invoices:read:x",
            "org::read",
            "org:a-b:read",
            "org:sys_profile:read",
            "org:sys_x:y",
        ] {
            assert!(check_permission_key(bad).is_err(), "{bad}");
        }
        assert!(check_role_key("org:billing_2").is_ok());
        for bad in ["org:", "billing", "org:Billing", "org:a:b", "role:x"] {
            assert!(check_role_key(bad).is_err(), "{bad}");
        }
        assert!(check_role_set_key("role_set:support").is_ok());
        for bad in ["role_set:", "rs:x", "role_set:A", "role_set:a b"] {
            assert!(check_role_set_key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_seeded_instance_holds_what_clerk_seeds() {
        let state = State::seeded(
            Ids::new(1),
            Rules {
                custom_roles: true,
                migration_ms: 0,
            },
            Clock::new(true),
        );
        assert_eq!(state.permissions.len(), 8);
        assert!(
            state
                .permissions
                .values()
                .all(|p| p.system && p.key.starts_with("org:sys_"))
        );
        let admin = &state.roles[&state.role_keys["org:admin"]];
        assert_eq!(admin.permissions.len(), 8);
        assert!(state.is_creator_eligible(&admin.permissions));
        let member = &state.roles[&state.role_keys["org:member"]];
        assert!(!state.is_creator_eligible(&member.permissions));
        let set = &state.sets[&state.set_keys["role_set:default"]];
        assert!(set.initial);
        assert_eq!(set.roles.len(), 2);
        assert_eq!(set.creator_role, admin.seq);
        assert_eq!(set.default_role, member.seq);
    }

    #[test]
    fn keys_derived_from_names_are_valid_and_unique() {
        let mut state = State::seeded(
            Ids::new(1),
            Rules {
                custom_roles: true,
                migration_ms: 0,
            },
            Clock::new(true),
        );
        assert_eq!(
            state.key_from_name("Support Teams (EU)"),
            "role_set:support_teams_eu"
        );
        assert_eq!(state.key_from_name("!!!"), "role_set:role_set");
        assert_eq!(state.key_from_name("Default"), "role_set:default_2");
        let key = state.key_from_name("Ünïcode");
        assert!(check_role_set_key(&key).is_ok(), "{key}");
        state.set_keys.insert("role_set:default_2".into(), 99);
        assert_eq!(state.key_from_name("default"), "role_set:default_3");
    }
}
