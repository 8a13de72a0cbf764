//! The simulator (`clerk_rbac_simulator`), driven through the facade as a user would: one
//! module per concern. Every rule test asserts Clerk's status and error code.

mod support;

mod admin;
mod adversarial;
mod auth;
mod contract;
mod faults;
mod lifecycle;
mod lists;
mod migrations;
mod permissions;
mod plan;
mod role_sets;
mod roles;
mod seeding;
mod settings;
mod snapshots;
