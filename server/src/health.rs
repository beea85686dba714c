//! Whether the relay can store what it receives. samod's storage calls cannot return errors,
//! so a failing disk is recorded here instead: the relay then refuses sync connections (clients
//! keep their changes and retry) until a probe write succeeds again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Shared storage health, with a signal for open connections to close on.
pub struct Health {
    failing: AtomicBool,
    signal: watch::Sender<bool>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            failing: AtomicBool::new(false),
            signal: watch::Sender::new(false),
        }
    }
}

impl Health {
    pub fn is_ok(&self) -> bool {
        !self.failing.load(Ordering::SeqCst)
    }

    pub fn set_failing(&self, failing: bool) {
        if self.failing.swap(failing, Ordering::SeqCst) != failing {
            if failing {
                tracing::error!("storage is failing: closing sync connections until it recovers");
            } else {
                tracing::info!("storage has recovered");
            }
            self.signal.send_replace(failing);
        }
    }

    /// Resolves when storage starts failing.
    pub async fn failed(&self) {
        let mut rx = self.signal.subscribe();
        let _ = rx.wait_for(|failing| *failing).await;
    }
}

/// While storage is failing, retries the held-back writes every second; healthy again once
/// they are all in the database.
pub async fn watch(store: crate::storage::SqlStorage, health: std::sync::Arc<Health>) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if !health.is_ok() && store.write_held().await {
            health.set_failing(false);
        }
    }
}
