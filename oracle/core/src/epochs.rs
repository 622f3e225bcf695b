//! Epochs of the network and their seal (SPEC 4.2): a message belongs to the epoch of its
//! signed timestamp; epoch `n` is sealed at its end plus `grace`, after which its input never
//! changes.

use serde::{Deserialize, Serialize};

/// The network's epoch timing (from chain: staking's genesis and epoch length) and the seal
/// grace every oracle of the network uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpochSchedule {
    /// Start of epoch 0, unix ms.
    pub genesis_ms: i64,
    /// Epoch length, ms (> 0).
    pub length_ms: i64,
    /// How long after its end an epoch still takes messages, ms (>= 0).
    pub grace_ms: i64,
}

impl EpochSchedule {
    /// A schedule; `None` when the length is not positive or the grace is negative.
    pub fn new(genesis_ms: i64, length_ms: i64, grace_ms: i64) -> Option<Self> {
        (length_ms > 0 && grace_ms >= 0).then_some(EpochSchedule {
            genesis_ms,
            length_ms,
            grace_ms,
        })
    }

    /// The epoch holding `timestamp_ms`, or `None` before genesis.
    pub fn epoch_of(&self, timestamp_ms: i64) -> Option<u64> {
        let since = i128::from(timestamp_ms) - i128::from(self.genesis_ms);
        if since < 0 {
            return None;
        }
        u64::try_from(since / i128::from(self.length_ms)).ok()
    }

    /// When `epoch` starts, unix ms (saturating).
    pub fn start_ms(&self, epoch: u64) -> i64 {
        let start = i128::from(self.genesis_ms) + i128::from(epoch) * i128::from(self.length_ms);
        i64::try_from(start).unwrap_or(i64::MAX)
    }

    /// When `epoch` ends (the next one starts), unix ms (saturating).
    pub fn end_ms(&self, epoch: u64) -> i64 {
        self.start_ms(epoch.saturating_add(1))
    }

    /// When `epoch` is sealed: its end plus the grace (saturating).
    pub fn seal_ms(&self, epoch: u64) -> i64 {
        self.end_ms(epoch).saturating_add(self.grace_ms)
    }

    /// Whether `epoch` is sealed at `now_ms`.
    pub fn is_sealed(&self, epoch: u64, now_ms: i64) -> bool {
        now_ms >= self.seal_ms(epoch)
    }

    /// The newest epoch sealed at `now_ms`, if any.
    pub fn newest_sealed(&self, now_ms: i64) -> Option<u64> {
        let open_since = now_ms.checked_sub(self.grace_ms)?;
        self.epoch_of(open_since)?.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_belong_to_the_epoch_of_their_timestamp() {
        let schedule = EpochSchedule::new(1_000, 60_000, 5_000).unwrap();
        assert_eq!(schedule.epoch_of(999), None);
        assert_eq!(schedule.epoch_of(1_000), Some(0));
        assert_eq!(schedule.epoch_of(60_999), Some(0));
        assert_eq!(schedule.epoch_of(61_000), Some(1));
        assert_eq!(schedule.end_ms(0), 61_000);
        assert_eq!(schedule.seal_ms(0), 66_000);
    }

    #[test]
    fn an_epoch_seals_at_its_end_plus_the_grace() {
        let schedule = EpochSchedule::new(0, 100, 30).unwrap();
        assert!(!schedule.is_sealed(0, 129));
        assert!(schedule.is_sealed(0, 130));
        assert_eq!(schedule.newest_sealed(129), None);
        assert_eq!(schedule.newest_sealed(130), Some(0));
        assert_eq!(schedule.newest_sealed(229), Some(0));
        assert_eq!(schedule.newest_sealed(230), Some(1));
        for now in 0..1_000 {
            let newest = schedule.newest_sealed(now);
            for epoch in 0..12 {
                assert_eq!(
                    schedule.is_sealed(epoch, now),
                    newest.is_some_and(|newest| epoch <= newest),
                    "epoch {epoch} at {now}"
                );
            }
        }
    }

    #[test]
    fn bad_schedules_are_refused_and_extremes_saturate() {
        assert!(EpochSchedule::new(0, 0, 0).is_none());
        assert!(EpochSchedule::new(0, 10, -1).is_none());
        let schedule = EpochSchedule::new(i64::MAX - 10, 100, 100).unwrap();
        assert_eq!(schedule.seal_ms(5), i64::MAX);
        assert_eq!(schedule.epoch_of(i64::MIN), None);
    }
}
