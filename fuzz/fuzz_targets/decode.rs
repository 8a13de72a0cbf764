//! Decodes arbitrary bytes as every response type the client reads, and as Clerk's error body,
//! the way the client does: one plain decode, whose error (line, column, message) the crate
//! turns into its report. Nothing a server sends may panic. (Where the report places the
//! failure is the crate's own `json_path`, which its unit tests drive with mangled answers.)
#![no_main]

use clerk_rbac::{DeletedObject, Page, Permission, Role, RoleSet, generated::types::ClerkErrors};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn decode<T: DeserializeOwned>(bytes: &[u8]) {
    if let Err(error) = serde_json::from_slice::<T>(bytes) {
        // The error report renders these; rendering must not panic either.
        let _ = (error.line(), error.column(), error.to_string());
    }
}

fuzz_target!(|data: &[u8]| {
    decode::<Permission>(data);
    decode::<Role>(data);
    decode::<RoleSet>(data);
    decode::<DeletedObject>(data);
    decode::<Page<Permission>>(data);
    decode::<Page<Role>>(data);
    decode::<Page<RoleSet>>(data);
    decode::<ClerkErrors>(data);
});
