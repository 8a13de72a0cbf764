//! The seven role set operations, the role set replacement among them.

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    Answer, MAX_ROLES_PER_CALL, MIGRATION_IN_PROGRESS, MigrationRec, NewSet, State, check_name,
    check_role_set_key,
};
use crate::{
    lists::{ListQuery, select},
    wire::{Failure, parse_body},
};
use clerk_rbac::{
    AddRoles, CreateRoleSet, CreateRoleSetType, Patch, ReplaceRole, ReplaceRoleSet,
    RoleSetTypeUpdate, UpdateRoleSet,
};

impl State {
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
        self.check_role_set_quota()?;
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
        // Spec: CreateRoleSet, the default and creator role keys must be among `roles`.
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
        // Spec: UpdateRoleSet, the default and creator role keys must name roles of the set. Assumption: `null` leaves them as they are (a set always has both).
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
    /// `to_role_key`, atomically. Source: the "Role Sets" guide, on removing a role: when the
    /// removed role was the default one, the role its members go to becomes the default (done
    /// here for the creator role too, which must then be eligible).
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
    /// `reassignment_mappings` become required when members hold roles the destination lacks. The answer is the deleted source set; the set stays visible, with its
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
