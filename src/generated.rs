//! The client progenitor generates from `openapi/clerk-rbac.json`, kept reachable as an escape
//! hatch.
//!
//! [`Client`] has one method per operation, named after its `operationId` in snake case
//! (`list_organization_roles`, `replace_role_in_role_set`, ...). Get it from
//! [`crate::Clerk::generated`]: it is the instance behind a [`crate::Clerk`] and shares its
//! configuration, so its requests carry the same authentication and Clerk headers, timeout,
//! rate limit, size limit and path encoding. It is not meant to be built on its own (its
//! constructors take settings that only [`crate::ClerkBuilder`] makes, and are hidden).
//!
//! What only the facade does: retries (each generated call is one attempt), the crate's
//! [`crate::Error`] (errors come back as progenitor's [`Error`]), refusing unusable path IDs,
//! and scrubbing the key from what is kept of a response.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let clerk = clerk_rbac::Clerk::new("sk_test_example")?;
//! let role = clerk.generated().get_organization_role("role_123").await?.into_inner();
//! println!("{}", role.key);
//! # Ok(())
//! # }
//! ```
#![allow(unused_imports, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/clerk_api.rs"));
