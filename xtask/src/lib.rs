//! `cargo xtask regen`: rebuilds `openapi/clerk-rbac.json`, the normalized organization RBAC
//! fragment of Clerk's Backend API spec that `build.rs` generates the client from.
//!
//! [`spec`] reads Clerk's spec (a file or a URL, YAML or JSON); [`normalize`] cuts the fragment
//! out of it and puts it in the form `build.rs` expects ([`schemas`] holds the rules about
//! schemas, [`openapi`] how the steps walk a document); [`descriptions`] carries our own words
//! into the places [`targets`] finds; [`report`] says what changed; and [`regen`] ties these
//! into the command.

pub mod descriptions;
pub mod normalize;
pub mod openapi;
pub mod regen;
pub mod report;
pub mod schemas;
pub mod spec;
pub mod targets;

/// Every failure ends the run with one sentence for the person running it, saying what was
/// being done and what went wrong; a string is all the structure that needs.
pub type Result<T, E = String> = std::result::Result<T, E>;
