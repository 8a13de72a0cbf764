//! The sync engine (`clerk_rbac_sync`): the file format, the planner, rendering, and (with
//! the simulator) the verbs end to end.

mod fixtures;

mod file_format;
mod file_rules;
mod planner;
mod rendering;

mod live;

mod engine;

mod partial_failure;

mod requests;

mod convergence;

mod preflight;
mod preflight_property;

mod fleet;
mod fleet_saved;
