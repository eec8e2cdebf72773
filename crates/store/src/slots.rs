//! A counted set of places (Argon2 work, report connections): taken at
//! once or refused at once, never waited for, so a flood is turned away
//! instead of queueing without bound.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone)]
pub(crate) struct Slots {
    taken: Arc<AtomicUsize>,
    capacity: usize,
}

impl Slots {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            taken: Arc::new(AtomicUsize::new(0)),
            capacity,
        }
    }

    /// A place, or `None` when all are taken.
    pub(crate) fn try_take(&self) -> Option<Slot> {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.capacity).then_some(taken + 1)
            })
            .ok()?;
        Some(Slot {
            taken: Arc::clone(&self.taken),
        })
    }
}

/// A place held; dropping it gives it back.
#[derive(Debug)]
pub(crate) struct Slot {
    taken: Arc<AtomicUsize>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_refused_when_all_are_taken_and_come_back_when_dropped() {
        let slots = Slots::new(2);
        let first = slots.try_take().expect("one");
        let second = slots.try_take().expect("two");
        assert!(slots.try_take().is_none());
        drop(first);
        let third = slots.try_take().expect("given back");
        assert!(slots.try_take().is_none());
        drop((second, third));
        assert!(slots.try_take().is_some());
    }
}
