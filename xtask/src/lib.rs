//! `cargo xtask regen`: rebuilds `openapi/clerk-rbac.json`, the normalized organization RBAC
//! fragment of Clerk's Backend API spec that `build.rs` generates the client from.
//!
//! The steps, one module each: [`source`] finds and reads the spec, [`parse`] turns YAML or JSON
//! into a value, [`select`] picks the operations and their components, [`normalize`] applies the
//! remaining rules, [`descriptions`] carries our own descriptions into the result,
//! [`json_text`] writes the exact file text, [`report`] describes what changed, and [`regen`]
//! ties them into the command that [`cli`] parses. [`openapi`] holds the knowledge
//! of OpenAPI's shape that several steps share, and [`error`] the one error type.

pub mod cli;
pub mod descriptions;
pub mod error;
pub mod json_text;
pub mod normalize;
pub mod openapi;
pub mod parse;
pub mod regen;
pub mod report;
pub mod select;
pub mod source;
