//! Reading the instance's organization settings (`GET /instance/organization_settings`,
//! through the client's [`Instance::organization_settings`](clerk_rbac::Instance)).
//!
//! Any failure (no such endpoint, no permission, an answer that is not the settings) means
//! "unknown": the preflight then falls back to Clerk's documented defaults, and a plan gate
//! shows at the first 402.

use clerk_rbac::Clerk;
use futures::FutureExt;

use super::preflight::InstanceSettings;

/// The instance's settings, or `None` when they cannot be read.
pub fn read_settings<'a>(
    clerk: &'a Clerk,
) -> impl Future<Output = Option<InstanceSettings>> + Send + 'a {
    async move {
        let settings = clerk.instance().organization_settings().await.ok()?;
        Some(InstanceSettings::from_api(&settings))
    }
    .boxed()
}
