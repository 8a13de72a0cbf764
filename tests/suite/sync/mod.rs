//! The sync engine (`clerk_rbac::sync`): the file format, the planner, rendering, apply.

mod fixtures;

mod file_format;
mod planner;
mod rendering;
