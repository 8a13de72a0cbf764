//! The sync engine (`clerk_rbac::sync`): the file format, the planner, rendering, and (with
//! the simulator) the verbs end to end.

mod fixtures;

mod file_format;
mod planner;
mod rendering;

#[cfg(feature = "simulator")]
mod live;

#[cfg(feature = "simulator")]
mod engine;

#[cfg(feature = "simulator")]
mod partial_failure;

#[cfg(feature = "simulator")]
mod requests;

#[cfg(feature = "simulator")]
mod convergence;
