//! Clerk keeps every set's creator role holding the creator permissions.

use std::collections::BTreeSet;

use crate::planner::Planner;

/// A role that loses a creator permission while it is a set's creator role does so only once
/// the set no longer needs it: after the set hands the creator role to another role (in this
/// plan), after the set is retired, or, for a set already being retired, after its migration
/// (Clerk holds a retiring set's creator role to the rules until then).
pub(crate) fn creator_role_keeps_its_permissions_until_handed_over(planner: &mut Planner<'_>) {
    let managed: BTreeSet<&str> = planner
        .matches
        .sets
        .values()
        .map(|s| s.key.as_str())
        .collect();
    let observed = planner.observed;
    for set in observed.role_sets.iter().filter(|s| s.is_live()) {
        let Some(creator) = set.creator_role.as_deref().map(|r| planner.role_after(r)) else {
            continue;
        };
        let Some(step) = planner
            .facts
            .role_steps
            .get(creator)
            .filter(|s| s.loses_creator_permission)
            .and_then(|s| s.permissions)
        else {
            continue;
        };
        if set.is_retiring() {
            let wait = planner.await_migration(set);
            planner.graph.depend(step, [wait]);
            continue;
        }
        if let Some(retirement) = planner
            .facts
            .retirements
            .iter()
            .find(|r| r.set.key == set.key)
        {
            planner.graph.depend(step, [retirement.step]);
            continue;
        }
        if managed.contains(set.key.as_str()) {
            let hand_over = planner
                .matches
                .sets
                .iter()
                .find(|(_, s)| s.key == set.key)
                .and_then(|(key, _)| planner.facts.creator_changed.get(*key))
                .copied();
            planner.graph.depend(step, hand_over);
        }
    }
}
