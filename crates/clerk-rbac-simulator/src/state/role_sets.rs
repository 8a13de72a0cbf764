//! The seven role set operations, the role set replacement among them.

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    MAX_ROLES_PER_CALL, MIGRATION_IN_PROGRESS, MigrationSnapshot, NewSet, State, check_name,
    check_role_set_key, render::page,
};
use crate::{
    lists::{ListQuery, select},
    wire::Failure,
};
use clerk_rbac::{
    AddRoles, CreateRoleSet, CreateRoleSetType, DeletedObject, Page, Patch, ReplaceRole,
    ReplaceRoleSet, RoleSet, RoleSetTypeUpdate, UpdateRoleSet,
};

impl State {
    pub(crate) fn list_role_sets(&self, q: &ListQuery, now: i64) -> Result<Page<RoleSet>, Failure> {
        let (rows, total) = select(self.sets.iter(), q);
        Ok(page(
            rows.into_iter().map(|s| self.set_model(s, now)),
            total,
        ))
    }

    pub(crate) fn get_role_set(&self, seq: u64, now: i64) -> Result<RoleSet, Failure> {
        Ok(self.set_model(&self.sets[seq], now))
    }

    /// Role keys from a body: at least one, at most [`MAX_ROLES_PER_CALL`], each an existing
    /// role; repeats are dropped, order kept.
    fn role_list(&self, param: &str, keys: &[String]) -> Result<Vec<String>, Failure> {
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
        let mut roles: Vec<String> = Vec::with_capacity(keys.len());
        for key in keys {
            if !self.roles.contains_key(key) {
                return Err(Failure::missing_resource(
                    param,
                    format!("There is no role with key {key}."),
                ));
            }
            if !roles.contains(key) {
                roles.push(key.clone());
            }
        }
        Ok(roles)
    }

    /// A role key that must name one of `roles` (keys of existing roles).
    fn member_of(&self, param: &str, key: &str, roles: &[String]) -> Result<String, Failure> {
        if roles.iter().any(|r| r == key) && self.roles.contains_key(key) {
            Ok(key.to_owned())
        } else {
            Err(Failure::value(
                param,
                format!("{key} is not one of the role set's roles."),
            ))
        }
    }

    pub(crate) fn create_role_set(
        &mut self,
        new: CreateRoleSet,
        now: i64,
    ) -> Result<RoleSet, Failure> {
        self.check_plan()?;
        self.check_role_set_quota()?;
        check_name(&new.name)?;
        let key = match &new.key {
            Some(key) => {
                check_role_set_key(key)?;
                if self.sets.contains_key(key) {
                    return Err(Failure::duplicate("role set", key));
                }
                key.clone()
            }
            None => self.key_from_name(&new.name),
        };
        let roles = self.role_list("roles", &new.roles)?;
        // Spec: CreateRoleSet, the default and creator role keys must be among `roles`.
        let default_role = self.member_of("default_role_key", &new.default_role_key, &roles)?;
        let creator_role = self.member_of("creator_role_key", &new.creator_role_key, &roles)?;
        self.check_creator_eligible(&creator_role)?;
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
        self.get_role_set(seq, now)
    }

    /// Spec: CreateRoleSet `key` is optional; without one the server derives a key from the
    /// name.
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
        while self.sets.contains_key(&key) {
            key = format!("{base}_{n}");
            n += 1;
        }
        key
    }

    pub(crate) fn update_role_set(
        &mut self,
        seq: u64,
        changes: UpdateRoleSet,
        now: i64,
    ) -> Result<RoleSet, Failure> {
        self.check_not_migrating(seq)?;
        let roles = self.sets[seq].role_keys();
        if let Patch::Set(name) = &changes.name {
            check_name(name)?;
        }
        if let Patch::Set(key) = &changes.key {
            check_role_set_key(key)?;
            if self.sets.seq_of_key(key).is_some_and(|other| other != seq) {
                return Err(Failure::duplicate("role set", key));
            }
        }
        // Spec: UpdateRoleSet, the default and creator role keys must name roles of the set. Assumption: `null` leaves them as they are (a set always has both).
        let default_role = match &changes.default_role_key {
            Patch::Set(key) => Some(self.member_of("default_role_key", key, &roles)?),
            _ => None,
        };
        let creator_role = match &changes.creator_role_key {
            Patch::Set(key) => {
                let role = self.member_of("creator_role_key", key, &roles)?;
                self.check_creator_eligible(&role)?;
                Some(role)
            }
            _ => None,
        };
        let becomes_initial = changes.type_ == Patch::Set(RoleSetTypeUpdate::Initial);
        if becomes_initial && !self.sets[seq].initial {
            self.demote_initial_sets(now);
        }
        if let Patch::Set(key) = &changes.key {
            // Migrations into this set follow the new key.
            let old = self.sets[seq].key.clone();
            self.rename_set(&old, key);
        }
        self.sets
            .update(seq, |set| {
                if becomes_initial {
                    set.initial = true;
                }
                if let Patch::Set(key) = changes.key {
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
            })
            .ok_or_else(Failure::internal)?;
        self.get_role_set(seq, now)
    }

    pub(crate) fn add_roles(
        &mut self,
        seq: u64,
        add: AddRoles,
        now: i64,
    ) -> Result<RoleSet, Failure> {
        self.check_not_migrating(seq)?;
        let new_roles = self.role_list("role_keys", &add.role_keys)?;
        let set = &self.sets[seq];
        if let Some(already) = new_roles.iter().find(|r| set.holds(r)) {
            // Assumption: adding a role the set already holds is refused, not ignored.
            return Err(Failure::value(
                "role_keys",
                format!("{already} is already in role set {}.", set.key),
            ));
        }
        let mut roles = set.role_keys();
        roles.extend(new_roles.iter().cloned());
        // Spec: AddRolesToRoleSet, the optional default and creator role keys move those places
        // to roles being added. Assumption: any role of the set after the addition is accepted.
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
        if let Some(role) = &creator_role {
            self.check_creator_eligible(role)?;
        }
        self.sets
            .update(seq, |set| {
                set.roles
                    .extend(new_roles.into_iter().map(super::RoleSetMemberSnapshot::new));
                if let Some(role) = default_role {
                    set.default_role = role;
                }
                if let Some(role) = creator_role {
                    set.creator_role = role;
                }
                set.updated_at = now;
            })
            .ok_or_else(Failure::internal)?;
        self.get_role_set(seq, now)
    }

    /// Spec: ReplaceRoleInRoleSet removes `role_key` from the set and moves its members to
    /// `to_role_key`, atomically. Source: the "Role Sets" guide, on removing a role: when the
    /// removed role was the default one, the role its members go to becomes the default (done
    /// here for the creator role too, which must then be eligible).
    pub(crate) fn replace_role(
        &mut self,
        seq: u64,
        swap: ReplaceRole,
        now: i64,
    ) -> Result<RoleSet, Failure> {
        self.check_not_migrating(seq)?;
        let roles = self.sets[seq].role_keys();
        let from = self.member_of("role_key", &swap.role_key, &roles)?;
        let to = self.member_of("to_role_key", &swap.to_role_key, &roles)?;
        if from == to {
            return Err(Failure::value(
                "to_role_key",
                "A role cannot be replaced by itself; name another role of the set.",
            ));
        }
        if self.sets[seq].creator_role == from {
            self.check_creator_eligible(&to)?;
        }
        self.sets
            .update(seq, |set| {
                let moved = set.members_of(&from);
                set.roles.retain(|m| m.role != from);
                set.add_members(&to, moved);
                if set.default_role == from {
                    set.default_role.clone_from(&to);
                }
                if set.creator_role == from {
                    set.creator_role.clone_from(&to);
                }
                set.updated_at = now;
            })
            .ok_or_else(Failure::internal)?;
        self.get_role_set(seq, now)
    }

    /// Spec: ReplaceRoleSet migrates the set's organizations to `dest_role_set_key`;
    /// `reassignment_mappings` become required when members hold roles the destination lacks. The answer is the deleted source set; the set stays visible, with its
    /// `role_set_migration`, until the migration completes (see [`State::settle`]).
    pub(crate) fn replace_role_set(
        &mut self,
        source: u64,
        replace: ReplaceRoleSet,
        now: i64,
    ) -> Result<DeletedObject, Failure> {
        self.check_not_migrating(source)?;
        let source_key = self.sets[source].key.clone();
        if self.migrations.iter().any(|m| m.dest == source_key) {
            return Err(Failure::new(
                422,
                MIGRATION_IN_PROGRESS,
                "replacement under way",
                "Organizations are moving into this role set; it cannot be replaced until that completes.",
            ));
        }
        let dest = self
            .sets
            .seq_of_key(&replace.dest_role_set_key)
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
        if self.migration_from(&self.sets[dest].key).is_some() {
            return Err(Failure::new(
                422,
                MIGRATION_IN_PROGRESS,
                "replacement under way",
                "The destination role set is itself being replaced.",
            )
            .param("dest_role_set_key"));
        }
        let source_set = &self.sets[source];
        let dest_set = &self.sets[dest];
        let mappings = match &replace.reassignment_mappings {
            None => None,
            Some(given) => {
                let mut map = BTreeMap::new();
                for (from_key, to_key) in given.iter() {
                    let from =
                        self.member_of("reassignment_mappings", from_key, &source_set.role_keys())?;
                    if !(dest_set.holds(to_key) && self.roles.contains_key(to_key)) {
                        return Err(Failure::value(
                            "reassignment_mappings",
                            format!("{to_key} is not one of the roles of {}.", dest_set.key),
                        ));
                    }
                    map.insert(from, to_key.clone());
                }
                Some(map)
            }
        };
        let unmapped: Vec<&str> = source_set
            .roles
            .iter()
            .filter(|m| m.members > 0)
            .map(|m| m.role.as_str())
            .filter(|r| !dest_set.holds(r))
            .filter(|r| !mappings.as_ref().is_some_and(|m| m.contains_key(*r)))
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
        let total_members = source_set.roles.iter().map(|m| m.members).sum();
        let source_id = source_set.id.clone();
        let was_initial = source_set.initial;
        let dest_key = dest_set.key.clone();
        // Assumption: replacing the initial set makes the destination initial, so that new
        // organizations keep getting a set that exists.
        if was_initial {
            self.demote_initial_sets(now);
            self.sets.update(dest, |dest_set| dest_set.initial = true);
        }
        let id = self.new_id("rsmig");
        self.migrations.push(MigrationSnapshot {
            id,
            source: source_key,
            dest: dest_key,
            mappings,
            created_at: now,
            duration_ms: self.rules.migration_ms.max(0),
            total_members,
        });
        self.settle(now);
        Ok(Self::deleted("role_set", source_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{clock::Clock, ids::Ids, state::Rules};

    #[test]
    fn keys_derived_from_names_are_valid_and_unique() {
        let mut state = State::seeded(
            Ids::new(1),
            Rules {
                custom_roles: true,
                quotas: crate::settings::Quotas::default(),
                migration_ms: 0,
                stale_reads_ms: 0,
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
        let mut twin = state.sets.by_key("role_set:default").unwrap().clone();
        twin.id = "rs_twin".into();
        twin.key = "role_set:default_2".into();
        state.sets.insert(twin);
        assert_eq!(state.key_from_name("default"), "role_set:default_3");
    }
}
