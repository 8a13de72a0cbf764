//! The ordering passes: each enforces one of Clerk's rules by adding edges to the graph, from
//! what the diff recorded. They only add edges (and the waits for migrations that some edges
//! need), so they can run in any order; [`run_all`] runs every one.

mod creator_role;
mod deletions;
mod migrations;
mod references;
mod retirement;

use super::Planner;

pub(super) use creator_role::creator_role_keeps_its_permissions_until_handed_over;
pub(super) use deletions::deletions_wait_until_nothing_uses_them;
pub(super) use migrations::sets_wait_for_migrations_into_them;
pub(super) use references::{
    permissions_exist_before_roles_hold_them, roles_exist_before_sets_name_them,
};
pub(super) use retirement::retirement_waits_for_its_destination;

/// Runs every pass.
pub(super) fn run_all(planner: &mut Planner<'_>) {
    sets_wait_for_migrations_into_them(planner);
    creator_role_keeps_its_permissions_until_handed_over(planner);
    permissions_exist_before_roles_hold_them(planner);
    roles_exist_before_sets_name_them(planner);
    retirement_waits_for_its_destination(planner);
    deletions_wait_until_nothing_uses_them(planner);
}
