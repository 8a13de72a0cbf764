//! A typed client for Clerk's organization RBAC Backend API: organization permissions,
//! organization roles (and the permissions they hold) and role sets.
//!
//! The low-level client is generated at build time by progenitor from the OpenAPI fragment in
//! `openapi/` (Clerk API version 2026-05-12); this crate puts a small facade on top:
//! [`Clerk`] and its resource handles (three for the RBAC objects, and [`Instance`] for the
//! instance's organization settings), one error type, and request bodies that cannot
//! be built without their required fields.
//!
//! ```no_run
//! use clerk_rbac::{Clerk, CreatePermission, CreateRole, UpdateRole};
//!
//! # async fn demo() -> clerk_rbac::Result<()> {
//! let clerk = Clerk::from_env()?; // CLERK_SECRET_KEY, optional CLERK_API_URL
//!
//! let read = clerk
//!     .organization_permissions()
//!     .create(CreatePermission::new("Read invoices", "org:invoices:read"))
//!     .await?;
//! let role = clerk
//!     .organization_roles()
//!     .create(CreateRole::new("Accountant", "org:accountant").permissions([read.id.clone()]))
//!     .await?;
//! clerk
//!     .organization_roles()
//!     .update(&role.id, UpdateRole::new().clear_description())
//!     .await?;
//!
//! let page = clerk.organization_roles().list().query("account").send().await?;
//! println!("{} matching roles", page.total_count);
//! # Ok(())
//! # }
//! ```
//!
//! # On the wire
//! Requests go to `<base URL>/v1/...` with `Authorization: Bearer <key>`,
//! `Clerk-API-Version`, `User-Agent: clerk-rbac/<version>` and `Accept: application/json`.
//! Path IDs are percent-encoded into exactly one segment (every byte RFC 3986 does not allow
//! there is escaped; `:` stays); IDs that cannot be (empty, `.`, `..`, or longer than
//! [`MAX_ID_BYTES`]) are refused with [`Error::InvalidRequest`] before anything is sent.
//!
//! # Forward compatibility
//! Responses decode even when Clerk adds fields, adds enum values (kept in `Unknown(String)`,
//! see [`RoleSetType`]) or leaves out nullable fields. Request bodies stay strict.
//!
//! # Errors in `main`
//! A `main` that returns `clerk_rbac::Result` prints a failure with `Debug`, which is made for
//! programmers (`Transport { source: ... }`). Print the error with `Display` instead: it says
//! what happened, the status, Clerk's message, the trace id and how many attempts were made.
//!
//! ```no_run
//! use std::process::ExitCode;
//!
//! #[tokio::main]
//! async fn main() -> ExitCode {
//!     match run().await {
//!         Ok(()) => ExitCode::SUCCESS,
//!         Err(error) => {
//!             eprintln!("error: {error}");
//!             ExitCode::FAILURE
//!         }
//!     }
//! }
//!
//! async fn run() -> clerk_rbac::Result<()> {
//!     let clerk = clerk_rbac::Clerk::from_env()?;
//!     let roles = clerk.organization_roles().list().send().await?;
//!     println!("{} roles", roles.total_count);
//!     Ok(())
//! }
//! ```
//!
//! # Features
//! - `rustls` (default): TLS through rustls, with the `ring` crypto provider.
//! - `http2`: HTTP/2 when the server offers it (off by default; HTTP/1.1 otherwise).
//! - `native-tls`: TLS through the platform library instead. Without either, a client for an
//!   `https` base URL is refused by [`ClerkBuilder::build`] (unless it is given its own
//!   [`http_client`](ClerkBuilder::http_client)).
//! - `schemars`: `schemars::JsonSchema` (schemars 0.8) for the models and request bodies. Off by
//!   default, since calling Clerk does not need it; `clerk-rbac-sync` turns it on to publish its file's
//!   JSON Schema.
//!
//! # The layers on this client
//! Each is a crate of its own that uses only this crate's public API:
//! - `clerk-rbac-simulator`: a local simulator of Clerk's organization RBAC API on loopback,
//!   for tests and offline runs;
//! - `clerk-rbac-sync`: RBAC as code: export an instance to a TOML file, plan and apply a file;
//! - `clerk-rbac-cli`: the `clerk-rbac` program on both.
//!
//! Clerk's rules that all of them check (key shapes, system and creator permissions, per-call
//! limits, rate limits) are in [`rules`].
#![warn(missing_docs)]

mod attempt;
mod call;
mod client;
mod error;
pub mod generated;
mod hooks;
mod json_path;
mod list;
mod mapping;
mod open_enum;
mod page;
mod paginate;
mod path;
mod rate_limit;
mod redact;
mod requests;
mod resources;
mod retry;
pub mod rules;

pub use call::CallFuture;
pub use client::DEFAULT_MAX_RESPONSE_BYTES;
pub use client::{Clerk, ClerkBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use error::{ApiError, BodyError, DecodeError, Error, Result};
#[doc(hidden)]
pub use hooks::Hooks;
pub use list::List;
pub use page::{DEFAULT_CONCURRENCY, Listable, MAX_PAGE_SIZE, Page};
pub use paginate::ListStream;
pub use path::MAX_ID_BYTES;
pub use rate_limit::RateLimit;
pub use requests::{Patch, RoleSetTypeUpdate, UpdatePermission, UpdateRole, UpdateRoleSet};
pub use resources::{Instance, OrganizationPermissions, OrganizationRoles, RoleSets};
pub use retry::{Attempts, GaveUp, RetryPolicy};
pub use rules::MAX_ROLES_PER_CALL;

// The models Clerk returns and the pieces of request bodies, generated from the fragment's
// schemas; shown in full on this crate's front page.
#[doc(inline)]
pub use generated::types::{
    ClerkError, DeletedObject, OrganizationSettings, Permission, ReassignmentMappings, Role,
    RoleSet, RoleSetItem, RoleSetMigration,
};

/// The HTTP client this crate is built on, for [`ClerkBuilder::http_client`] and for the types
/// its errors carry: a caller needs no `reqwest` dependency of their own (and if they add one,
/// it must be the same major version, 0.13).
pub use reqwest;
/// The OpenAPI fragment this client is generated from (`openapi/clerk-rbac.json`: the RBAC
/// operations of Clerk's Backend API, normalized, with our descriptions), as JSON text: for
/// servers, test doubles and contract tests that check themselves against what the client
/// expects.
pub const OPENAPI_FRAGMENT: &str = include_str!("../openapi/clerk-rbac.json");

/// HTTP status codes, to compare with [`Error::status`].
pub use reqwest::StatusCode;

/// Body of [`OrganizationPermissions::create`]: build it with `CreatePermission::new`.
pub type CreatePermission = generated::types::CreateOrganizationPermissionBody;
/// Body of [`OrganizationRoles::create`]: build it with `CreateRole::new`.
pub type CreateRole = generated::types::CreateOrganizationRoleBody;
/// Body of [`RoleSets::create`]: build it with `CreateRoleSet::new`.
pub type CreateRoleSet = generated::types::CreateRoleSetBody;
/// The `type` a new role set may be given: `Initial` or `Custom`.
pub type CreateRoleSetType = generated::types::CreateRoleSetBodyType;
/// Body of [`RoleSets::add_roles`]: build it with `AddRoles::new`.
pub type AddRoles = generated::types::AddRolesToRoleSetBody;
/// Body of [`RoleSets::replace_role`]: build it with `ReplaceRole::new`.
pub type ReplaceRole = generated::types::ReplaceRoleInRoleSetBody;
/// Body of [`RoleSets::replace`]: build it with `ReplaceRoleSet::new`.
pub type ReplaceRoleSet = generated::types::ReplaceRoleSetBody;

// The open response enums (today `RoleSetType` and
// `OrganizationSettingsDomainsEnrollmentModesItem`), one `open_enum!` per named enum schema.
include!(concat!(env!("OUT_DIR"), "/open_enums.rs"));

// The README and the manuals in `docs/` that show this crate, compiled (and, when they need no
// Clerk instance, run) as doc tests; the simulator's and the sync engine's manuals are attached
// to those crates. `#[cfg(doctest)]`: only doc tests read them, so a packaged copy of the crate,
// which ships the README but not `docs/`, builds without them.

/// The README's examples.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The client manual's examples.
#[cfg(doctest)]
#[doc = include_str!("../docs/client.md")]
struct ClientManualExamples;

/// The manuals' index, the maintainers' manual and the benchmarks: no Rust examples today, but
/// attached so that an unlabelled code block (which rustdoc takes for Rust) cannot slip in.
#[cfg(doctest)]
#[doc = include_str!("../docs/README.md")]
#[doc = include_str!("../docs/maintaining.md")]
#[doc = include_str!("../docs/benchmarks.md")]
struct OtherPages;
