//! Decodes arbitrary bytes as every response type the client reads, and as Clerk's error body,
//! the way the client does: a plain decode, then on failure the path-tracking decode the crate
//! uses to name the failing field. Nothing a server sends may panic.
#![no_main]

use clerk_rbac::{DeletedObject, Page, Permission, Role, RoleSet, generated::types::ClerkErrors};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

fn decode<T: DeserializeOwned>(bytes: &[u8]) {
    if serde_json::from_slice::<T>(bytes).is_err() {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        if let Err(error) = serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
            // The error report renders both parts; rendering must not panic either.
            let _ = (error.path().to_string(), error.inner().to_string());
        }
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
