//! Clerk refuses changes to a role set while organizations are moving into it.

use crate::planner::Planner;

/// Every step that changes an existing set (or retires a set into it) waits for the
/// migrations moving organizations into that set, adding the waits it needs.
pub(crate) fn sets_wait_for_migrations_into_them(planner: &mut Planner<'_>) {
    let observed = planner.observed;
    let changes = std::mem::take(&mut planner.facts.set_changes);
    for &(step, set_id) in &changes {
        for moving in observed
            .role_sets
            .iter()
            .filter(|s| s.is_live() && s.migrating_into.as_deref() == Some(set_id))
        {
            let wait = planner.await_migration(moving);
            planner.graph.depend(step, [wait]);
        }
    }
    planner.facts.set_changes = changes;
}
