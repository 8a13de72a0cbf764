//! Ctrl-C (SIGINT) and SIGTERM during apply: the first stops new steps and lets running ones
//! finish (the report then says what was not started, and the exit status is 130 or 143); a
//! second one stops at once.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use clerk_rbac_sync::Interrupt;

/// The signals being watched, and which one came first.
pub struct Signals {
    received: Arc<AtomicU8>,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    /// The exit status the first signal asks for (130 for SIGINT, 143 for SIGTERM), if one came.
    pub fn received(&self) -> Option<u8> {
        Some(self.received.load(Ordering::SeqCst)).filter(|&code| code != 0)
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Watches for SIGINT and SIGTERM until the returned value is dropped.
pub fn watch(interrupt: Interrupt, grace: Duration) -> Signals {
    let received = Arc::new(AtomicU8::new(0));
    let seen = received.clone();
    let task = tokio::spawn(async move {
        let mut terminate = Terminate::new();
        let (code, name) = tokio::select! {
            _ = tokio::signal::ctrl_c() => (130, "Interrupted (SIGINT)"),
            () = terminate.recv() => (143, "Terminated (SIGTERM)"),
        };
        seen.store(code, Ordering::SeqCst);
        interrupt.trigger();
        complain!(
            "\n{name}: no new step starts; the steps already running get up to {} s to finish, then the report says what is left. Press Ctrl-C again to stop at once.",
            grace.as_secs()
        );
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = terminate.recv() => {},
        }
        complain!(
            "Stopped at once: steps that were running may or may not have happened. Run apply again to finish; it reads the instance first."
        );
        crate::instance::release_locks();
        std::process::exit(i32::from(code));
    });
    Signals { received, task }
}

/// SIGTERM where there is such a thing.
struct Terminate {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Terminate {
    fn new() -> Self {
        Terminate {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok(),
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}
