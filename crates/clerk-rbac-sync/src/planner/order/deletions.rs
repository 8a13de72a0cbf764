//! What is deleted must be used by nothing that stays.

use crate::planner::Planner;

/// A role is deleted after every step that stops a set holding it (a role leaving a set, a
/// retirement, the migration of a set being retired); a permission after every step that stops
/// a role holding it (a role's new permission list, a role's deletion).
pub(crate) fn deletions_wait_until_nothing_uses_them(planner: &mut Planner<'_>) {
    let facts = &planner.facts;
    for &(step, role) in &facts.role_deletions {
        let released = facts.role_released.get(&role.key).into_iter().flatten();
        planner.graph.depend(step, released.copied());
    }
    for &(step, permission) in &facts.permission_deletions {
        let released = facts
            .permission_released
            .get(permission)
            .into_iter()
            .flatten();
        planner.graph.depend(step, released.copied());
    }
}
