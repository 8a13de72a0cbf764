//! The client progenitor generates from `openapi/clerk-rbac.json`, kept reachable as an escape
//! hatch.
//!
//! [`Client`] has one method per operation, named after its `operationId` in snake case
//! (`list_organization_roles`, `replace_role_in_role_set`, ...). It shares the facade's
//! configuration: [`crate::Clerk::generated`] returns the instance behind a [`crate::Clerk`], so
//! requests made through it carry the same authentication and Clerk headers. Errors come back
//! as progenitor's [`Error`], not as [`crate::Error`], and path IDs are not checked.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let clerk = clerk_rbac::Clerk::new("sk_test_example")?;
//! let role = clerk.generated().get_organization_role("role_123").await?.into_inner();
//! println!("{}", role.key);
//! # Ok(())
//! # }
//! ```
#![allow(missing_docs, unused_imports, clippy::all, clippy::pedantic)]

include!(concat!(env!("OUT_DIR"), "/clerk_api.rs"));
