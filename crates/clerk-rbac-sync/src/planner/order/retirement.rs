//! A set is retired into a destination that must be ready for it.

use crate::planner::Planner;

/// A retirement runs after every step of its destination set (created, given its roles), and
/// retiring the initial set runs after another set becomes initial.
pub(crate) fn retirement_waits_for_its_destination(planner: &mut Planner<'_>) {
    for retirement in &planner.facts.retirements {
        let mut needs = planner
            .facts
            .set_steps
            .get(retirement.into)
            .cloned()
            .unwrap_or_default();
        needs.extend(
            planner
                .facts
                .initial_step
                .filter(|_| retirement.set.initial),
        );
        planner.graph.depend(retirement.step, needs);
    }
}
