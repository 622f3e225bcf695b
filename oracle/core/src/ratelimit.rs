//! Token buckets for the rate limits of SPEC 4.2 and 4.5: ingest's per-source limit (before
//! any signature is checked) and per-device limit (after), and the read routes' per-source
//! rates. Buckets are sharded so a request touches only the shards of its own keys, never
//! every key's state under one lock.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// A token bucket: `rate_per_s` sustained, `burst` at once. (Floating point is fine here: a
/// limit is local policy, not part of the reward computation.)
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

impl Bucket {
    pub fn full(burst: u32, now_ms: i64) -> Self {
        Bucket {
            tokens: f64::from(burst),
            updated_ms: now_ms,
        }
    }

    /// Takes a token if one is there.
    pub fn take(&mut self, rate_per_s: f64, burst: u32, now_ms: i64) -> bool {
        let elapsed_s = (now_ms - self.updated_ms).max(0) as f64 / 1_000.0;
        self.tokens = (self.tokens + elapsed_s * rate_per_s).min(f64::from(burst));
        self.updated_ms = now_ms.max(self.updated_ms);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full again (and so can be forgotten).
    fn is_full(&self, rate_per_s: f64, burst: u32, now_ms: i64) -> bool {
        let elapsed_s = (now_ms - self.updated_ms).max(0) as f64 / 1_000.0;
        self.tokens + elapsed_s * rate_per_s >= f64::from(burst)
    }
}

const SHARDS: usize = 64;

/// Buckets by key, in shards; full buckets are forgotten so memory follows the active keys.
pub struct Limiter<K> {
    rate_per_s: f64,
    burst: u32,
    shards: Vec<Mutex<HashMap<K, Bucket>>>,
}

impl<K: Eq + Hash + Copy> Limiter<K> {
    pub fn new(rate_per_s: f64, burst: u32) -> Self {
        Limiter {
            rate_per_s,
            burst,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn shard(&self, key: &K) -> &Mutex<HashMap<K, Bucket>> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
        &self.shards[hash as usize % SHARDS]
    }

    /// Takes a token for `key`.
    pub fn allow(&self, key: K, now_ms: i64) -> bool {
        let mut shard = self.shard(&key).lock().expect("limiter shard lock");
        shard
            .entry(key)
            .or_insert_with(|| Bucket::full(self.burst, now_ms))
            .take(self.rate_per_s, self.burst, now_ms)
    }

    /// Forgets the buckets that have refilled (a periodic sweep keeps memory bounded).
    pub fn forget_full(&self, now_ms: i64) {
        for shard in &self.shards {
            shard
                .lock()
                .expect("limiter shard lock")
                .retain(|_, bucket| !bucket.is_full(self.rate_per_s, self.burst, now_ms));
        }
    }

    /// Buckets held.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| shard.lock().expect("limiter shard lock").len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let limiter = Limiter::new(1.0, 3);
        assert!((0..3).all(|_| limiter.allow(7u32, 0)));
        assert!(!limiter.allow(7, 0));
        assert!(!limiter.allow(7, 999));
        assert!(limiter.allow(7, 1_000));
        assert!(limiter.allow(8, 1_000), "another key has its own bucket");
        limiter.forget_full(1_000);
        assert_eq!(limiter.len(), 2);
        limiter.forget_full(10_000);
        assert!(limiter.is_empty());
    }
}
