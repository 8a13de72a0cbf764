//! The simulator (`clerk_rbac::simulator`), driven through the facade as a user would: one
//! module per concern. Every rule test asserts Clerk's status and error code.

mod support;

mod faults;
mod lifecycle;
mod snapshots;
