//! The worker slots every run takes one of, whoever starts it: the scheduler
//! and the workflow API share them, so no more than `workers` (the setting)
//! scripts run at once in this process.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A held slot; the slot frees when it is dropped.
pub type WorkerSlot = OwnedSemaphorePermit;

#[derive(Debug)]
pub struct WorkerSlots {
    slots: Arc<Semaphore>,
    size: Mutex<usize>,
}

impl WorkerSlots {
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        WorkerSlots {
            slots: Arc::new(Semaphore::new(size)),
            size: Mutex::new(size),
        }
    }

    pub fn size(&self) -> usize {
        *self.size.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Follows a change of the `workers` setting. Slots in use when it shrinks
    /// stay in use; fewer are handed out until the count fits.
    pub fn resize(&self, size: usize) {
        let size = size.max(1);
        let mut current = self.size.lock().unwrap_or_else(|p| p.into_inner());
        if size > *current {
            self.slots.add_permits(size - *current);
        } else if size < *current {
            // Free slots are taken away now; the rest as they come back (see `take_back`).
            let gone = self.slots.forget_permits(*current - size);
            if gone < *current - size {
                let owed = *current - size - gone;
                let slots = self.slots.clone();
                tokio::spawn(async move {
                    if let Ok(p) = slots.acquire_many_owned(owed as u32).await {
                        p.forget();
                    }
                });
            }
        }
        *current = size;
    }

    /// A slot if one is free now.
    pub fn try_take(&self) -> Option<WorkerSlot> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// A slot, waiting at most `timeout`.
    pub async fn take(&self, timeout: Duration) -> Option<WorkerSlot> {
        tokio::time::timeout(timeout, self.slots.clone().acquire_owned())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_shared_and_follow_the_setting() {
        let slots = WorkerSlots::new(2);
        let a = slots.try_take().unwrap();
        let _b = slots.try_take().unwrap();
        assert!(slots.try_take().is_none());
        assert!(
            slots.take(Duration::from_millis(20)).await.is_none(),
            "a full house times out"
        );
        drop(a);
        let _c = slots.try_take().unwrap();
        slots.resize(3);
        assert!(slots.try_take().is_some());
    }
}
