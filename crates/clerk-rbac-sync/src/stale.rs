//! Reading back patiently: Clerk warns that a read right after a write may return the
//! previous value, so a read-back that does not (yet) show a step's change is repeated, with
//! growing pauses, until it does or a bounded time has passed. Only then is the step reported
//! as failed; it is never sent again.

use std::time::Duration;

use clerk_rbac::Clerk;

use super::{plan::Action, verify::Ids, verify::verify};

/// How long apply keeps re-reading an object whose change does not show yet, unless
/// configured ([`ApplyOptions::read_back_window`](crate::ApplyOptions::read_back_window)).
pub const DEFAULT_READ_BACK_WINDOW: Duration = Duration::from_secs(3);

/// The first pause between two read-backs; each next one doubles, up to the time left.
const FIRST_PAUSE: Duration = Duration::from_millis(50);

/// [`verify`], repeated within `window` while it does not confirm the change.
pub(crate) async fn verify_patiently(
    clerk: &Clerk,
    ids: &Ids,
    action: &Action,
    window: Duration,
) -> Option<bool> {
    let deadline = tokio::time::Instant::now() + window;
    let mut pause = FIRST_PAUSE;
    loop {
        let seen = verify(clerk, ids, action).await;
        let now = tokio::time::Instant::now();
        // Waiting for a migration is never confirmed by a read-back.
        if seen == Some(true) || now >= deadline || matches!(action, Action::AwaitMigration { .. })
        {
            return seen;
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = pause.saturating_mul(2);
    }
}
