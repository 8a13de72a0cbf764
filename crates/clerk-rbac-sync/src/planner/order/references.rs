//! Objects are named by key: what a step names must exist under that key when it runs.

use crate::planner::Planner;

/// A role is created or given its permission list only after the permissions of the file it
/// holds are created (Clerk takes permission IDs, which a new permission has only then).
pub(crate) fn permissions_exist_before_roles_hold_them(planner: &mut Planner<'_>) {
    for (step, permissions) in &planner.facts.holds_permissions {
        let created = permissions
            .iter()
            .filter_map(|p| planner.facts.permission_created.get(p.as_str()).copied());
        planner.graph.depend(*step, created);
    }
}

/// A role-set step runs after every role it names is created or renamed (it exists under that
/// key), and after its creator role's permission change (which may be what makes it
/// eligible to be a creator role).
pub(crate) fn roles_exist_before_sets_name_them(planner: &mut Planner<'_>) {
    for names in &planner.facts.names_roles {
        let role_steps = &planner.facts.role_steps;
        let mut needs: Vec<usize> = names
            .roles
            .iter()
            .filter_map(|r| role_steps.get(r.as_str()).and_then(|s| s.exists))
            .collect();
        if let Some(creator) = &names.creator {
            needs.extend(role_steps.get(creator.as_str()).and_then(|s| s.permissions));
        }
        planner.graph.depend(names.step, needs);
    }
}
