//! The ingest rules of SPEC 4.2: each message is authenticated and checked, then every
//! accepted one is committed durably before it is acknowledged.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use groundwork_telemetry::{Key, SignedTelemetry};
use serde::Serialize;

use crate::clock::Clock;
use crate::commit::CommitQueue;
use crate::config::LimitsConfig;
use crate::devices::DeviceCache;
use crate::metrics::Metrics;
use crate::store::{Store, StoredMessage};

/// The outcome of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Verdict {
    /// Durably committed.
    Accepted,
    /// Identical to a stored message: acknowledged, not stored twice.
    Duplicate,
    Rejected {
        #[serde(skip)]
        http_status: u16,
        error: &'static str,
        message: String,
    },
}

impl Verdict {
    pub fn rejected(http_status: u16, error: &'static str, message: impl Into<String>) -> Self {
        Verdict::Rejected {
            http_status,
            error,
            message: message.into(),
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            Verdict::Accepted | Verdict::Duplicate => 200,
            Verdict::Rejected { http_status, .. } => *http_status,
        }
    }
}

/// A token bucket: `rate_per_s` sustained, `burst` at once.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated_ms: i64,
}

impl Bucket {
    fn full(burst: u32, now_ms: i64) -> Self {
        Bucket {
            tokens: f64::from(burst),
            updated_ms: now_ms,
        }
    }

    fn take(&mut self, rate_per_s: f64, burst: u32, now_ms: i64) -> bool {
        let elapsed_s = (now_ms - self.updated_ms).max(0) as f64 / 1_000.0;
        self.tokens = (self.tokens + elapsed_s * rate_per_s).min(f64::from(burst));
        self.updated_ms = now_ms;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct DeviceState {
    /// Highest seq accepted or being committed.
    last_seq: i64,
    bucket: Bucket,
    /// Seqs handed to the committer and not yet on disk.
    pending: HashSet<i64>,
    /// A commit of this device failed: `last_seq` must be reloaded from the store.
    reload: bool,
}

/// The ingest stage: shared by every request.
pub struct Ingestor {
    checks: MessageChecks,
    limits: LimitsConfig,
    clock: Arc<dyn Clock>,
    store: Store,
    committer: CommitQueue,
    pub metrics: Arc<Metrics>,
    states: Mutex<HashMap<Key, DeviceState>>,
    sources: Mutex<HashMap<IpAddr, Bucket>>,
}

/// A message that passed every check but the seq order, classified.
enum Candidate {
    New(StoredMessage),
    /// Seq at or below the last accepted: a duplicate, a conflict or stale.
    Old(StoredMessage),
}

/// One message as it arrived: JSON text still to parse (SPEC 4.1's JSON form), or a message
/// decoded from a binary batch.
#[derive(Clone, Debug)]
pub enum WireMessage {
    Json(String),
    Decoded(SignedTelemetry),
}

/// Below this many messages a request is checked on its own task; from it on, its messages are
/// checked in chunks across the machine's cores (ed25519 verification is ~35 us per message).
const PARALLEL_CHECK_MIN_MESSAGES: usize = 64;

/// The per-message checks that need neither the store nor the order of other messages: network,
/// seq range, onboarded and not suspended, signature, time window. Cheap to clone and free of
/// shared mutable state, so a batch can be checked on several threads; the outcome of each
/// message does not depend on how a batch is split.
#[derive(Clone)]
struct MessageChecks {
    network: Key,
    max_message_age_ms: i64,
    max_clock_skew_ms: i64,
    devices: Arc<DeviceCache>,
    /// Threads a large batch is split across: the machine's cores.
    workers: usize,
}

impl MessageChecks {
    /// Checks one message; returns the stored form if it passes.
    fn check(&self, signed: &SignedTelemetry, now_ms: i64) -> Result<StoredMessage, Verdict> {
        let message = &signed.message;
        if message.network != self.network {
            return Err(Verdict::rejected(
                422,
                "wrong_network",
                format!(
                    "message is for network {}, this oracle serves {}",
                    message.network, self.network
                ),
            ));
        }
        let Ok(_) = i64::try_from(message.seq) else {
            return Err(Verdict::rejected(
                422,
                "seq_out_of_range",
                "seq must be below 2^63",
            ));
        };
        match self.devices.get(&message.device) {
            None => {
                return Err(Verdict::rejected(
                    403,
                    "unknown_device",
                    format!("device {} is not onboarded", message.device),
                ))
            }
            Some(info) if info.suspended => {
                return Err(Verdict::rejected(
                    403,
                    "device_suspended",
                    format!("device {} is suspended", message.device),
                ))
            }
            Some(_) => {}
        }
        let canonical = message.canonical_bytes();
        if signed.verify_canonical(&canonical).is_err() {
            return Err(Verdict::rejected(
                401,
                "bad_signature",
                "the signature does not verify against the device key",
            ));
        }
        let oldest = now_ms.saturating_sub(self.max_message_age_ms);
        let newest = now_ms.saturating_add(self.max_clock_skew_ms);
        if message.timestamp_ms > newest {
            return Err(Verdict::rejected(
                422,
                "timestamp_in_future",
                format!(
                    "timestamp {} is more than {} ms ahead",
                    message.timestamp_ms, self.max_clock_skew_ms
                ),
            ));
        }
        if message.timestamp_ms < oldest {
            return Err(Verdict::rejected(
                422,
                "timestamp_too_old",
                format!(
                    "timestamp {} is more than {} ms old",
                    message.timestamp_ms, self.max_message_age_ms
                ),
            ));
        }
        Ok(StoredMessage::with_canonical(signed, canonical, now_ms))
    }

    /// Parses a JSON message if needed, then checks it.
    fn check_wire(&self, wire: WireMessage, now_ms: i64) -> Result<StoredMessage, Verdict> {
        let signed = match wire {
            WireMessage::Json(json) => SignedTelemetry::from_json(&json)
                .map_err(|reason| Verdict::rejected(422, "invalid_message", reason.to_string()))?,
            WireMessage::Decoded(signed) => signed,
        };
        self.check(&signed, now_ms)
    }

    /// Parses and checks every message, in order; a large batch is split across the cores.
    async fn check_all(
        &self,
        messages: Vec<WireMessage>,
        now_ms: i64,
    ) -> Vec<Result<StoredMessage, Verdict>> {
        if messages.len() < PARALLEL_CHECK_MIN_MESSAGES || self.workers == 1 {
            return messages
                .into_iter()
                .map(|wire| self.check_wire(wire, now_ms))
                .collect();
        }
        let chunk_len = messages.len().div_ceil(self.workers);
        let mut messages = messages.into_iter();
        let mut chunks = Vec::with_capacity(self.workers);
        loop {
            let chunk: Vec<_> = messages.by_ref().take(chunk_len).collect();
            if chunk.is_empty() {
                break;
            }
            let checks = self.clone();
            let messages_in_chunk = chunk.len();
            let task = tokio::task::spawn_blocking(move || {
                chunk
                    .into_iter()
                    .map(|wire| checks.check_wire(wire, now_ms))
                    .collect::<Vec<_>>()
            });
            chunks.push((messages_in_chunk, task));
        }
        let mut checked = Vec::new();
        for (messages_in_chunk, task) in chunks {
            match task.await {
                Ok(results) => checked.extend(results),
                Err(join_error) if join_error.is_panic() => {
                    std::panic::resume_unwind(join_error.into_panic())
                }
                // Only a runtime shutting down cancels a blocking task: nothing was stored.
                Err(_) => {
                    checked.extend((0..messages_in_chunk).map(|_| {
                        Err(Verdict::rejected(
                            503,
                            "shutting_down",
                            "the oracle is shutting down; retry",
                        ))
                    }));
                }
            }
        }
        checked
    }
}

impl Ingestor {
    /// Builds the ingest stage; seq order resumes from what the store holds.
    pub async fn new(
        network: Key,
        limits: LimitsConfig,
        devices: Arc<DeviceCache>,
        clock: Arc<dyn Clock>,
        store: Store,
        committer: CommitQueue,
        metrics: Arc<Metrics>,
    ) -> Result<Self, crate::store::StoreError> {
        let now = clock.now_ms();
        let states = store
            .latest_seqs()
            .await?
            .into_iter()
            .map(|(device, last_seq)| {
                let state = DeviceState {
                    last_seq,
                    bucket: Bucket::full(limits.device_burst, now),
                    pending: HashSet::new(),
                    reload: false,
                };
                (device, state)
            })
            .collect();
        Ok(Ingestor {
            checks: MessageChecks {
                network,
                max_message_age_ms: i64::try_from(limits.max_message_age.as_millis())
                    .unwrap_or(i64::MAX),
                max_clock_skew_ms: i64::try_from(limits.max_clock_skew.as_millis())
                    .unwrap_or(i64::MAX),
                devices,
                workers: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            },
            limits,
            clock,
            store,
            committer,
            metrics,
            states: Mutex::new(states),
            sources: Mutex::new(HashMap::new()),
        })
    }

    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn devices(&self) -> &DeviceCache {
        &self.checks.devices
    }

    /// Applies the rate limits and the seq order, reserving new seqs.
    fn admit(
        &self,
        source: IpAddr,
        stored: StoredMessage,
        now_ms: i64,
    ) -> Result<Candidate, Verdict> {
        {
            let mut sources = self.sources.lock().expect("source limits lock");
            let bucket = sources
                .entry(source)
                .or_insert_with(|| Bucket::full(self.limits.source_burst, now_ms));
            if !bucket.take(
                self.limits.source_rate_per_s,
                self.limits.source_burst,
                now_ms,
            ) {
                return Err(Verdict::rejected(
                    429,
                    "rate_limited",
                    format!("source {source} exceeds its rate limit"),
                ));
            }
        }
        let mut states = self.states.lock().expect("device states lock");
        let state = states.entry(stored.device).or_insert_with(|| DeviceState {
            last_seq: -1,
            bucket: Bucket::full(self.limits.device_burst, now_ms),
            pending: HashSet::new(),
            reload: false,
        });
        if state.reload {
            return Err(Verdict::rejected(
                503,
                "store_unavailable",
                "the store failed a commit of this device; retry",
            ));
        }
        if stored.seq <= state.last_seq {
            return Ok(Candidate::Old(stored));
        }
        if !state.bucket.take(
            self.limits.device_rate_per_s,
            self.limits.device_burst,
            now_ms,
        ) {
            return Err(Verdict::rejected(
                429,
                "rate_limited",
                format!(
                    "device {} exceeds {} message/s (burst {})",
                    stored.device, self.limits.device_rate_per_s, self.limits.device_burst
                ),
            ));
        }
        state.last_seq = stored.seq;
        state.pending.insert(stored.seq);
        Ok(Candidate::New(stored))
    }

    /// A message whose seq is not above the last accepted one.
    async fn judge_old(&self, stored: &StoredMessage) -> Verdict {
        let pending = {
            let states = self.states.lock().expect("device states lock");
            states
                .get(&stored.device)
                .is_some_and(|state| state.pending.contains(&stored.seq))
        };
        if pending {
            return Verdict::rejected(
                503,
                "commit_in_progress",
                "the same seq is being committed; retry to learn the outcome",
            );
        }
        match self.store.find(&stored.device, stored.seq).await {
            Ok(Some(copy))
                if copy.signature == stored.signature && copy.canonical == stored.canonical =>
            {
                Verdict::Duplicate
            }
            Ok(Some(_)) => {
                if let Err(error) = self.store.record_conflict(stored).await {
                    tracing::error!(%error, "recording a conflict failed");
                }
                Verdict::rejected(
                    409,
                    "seq_conflict",
                    format!(
                        "device {} already sent seq {} with other content",
                        stored.device, stored.seq
                    ),
                )
            }
            Ok(None) => Verdict::rejected(
                409,
                "stale_seq",
                format!(
                    "seq {} is not above the last accepted seq of device {}",
                    stored.seq, stored.device
                ),
            ),
            Err(error) => Verdict::rejected(503, "store_unavailable", error.to_string()),
        }
    }

    /// Reloads the seq order of devices whose last commit failed, if the store answers.
    async fn reload_failed_devices(&self) {
        let devices: Vec<Key> = {
            let states = self.states.lock().expect("device states lock");
            states
                .iter()
                .filter(|(_, state)| state.reload)
                .map(|(device, _)| *device)
                .collect()
        };
        for device in devices {
            if let Ok(latest) = self.store.latest_seq(&device).await {
                let mut states = self.states.lock().expect("device states lock");
                if let Some(state) = states.get_mut(&device) {
                    state.last_seq = latest.unwrap_or(-1);
                    state.reload = false;
                }
            }
        }
    }

    /// Ingests messages from `source`; one verdict per message, in order.
    pub async fn ingest(&self, source: IpAddr, messages: Vec<WireMessage>) -> Vec<Verdict> {
        self.reload_failed_devices().await;
        let now_ms = self.clock.now_ms();
        let mut verdicts: Vec<Option<Verdict>> = vec![None; messages.len()];
        let mut new = Vec::new();
        let mut old = Vec::new();
        let checked = self.checks.check_all(messages, now_ms).await;
        for (index, outcome) in checked.into_iter().enumerate() {
            let outcome = outcome.and_then(|stored| self.admit(source, stored, now_ms));
            match outcome {
                Ok(Candidate::New(stored)) => new.push((index, stored)),
                Ok(Candidate::Old(stored)) => old.push((index, stored)),
                Err(verdict) => verdicts[index] = Some(verdict),
            }
        }
        // Commit the new messages (grouped with other requests) before acknowledging them.
        if !new.is_empty() {
            // The messages move to the committer; their place in the reply stays here.
            let (slots, batch): (Vec<(usize, Key, i64)>, Vec<StoredMessage>) = new
                .into_iter()
                .map(|(index, stored)| ((index, stored.device, stored.seq), stored))
                .unzip();
            let committed = self.committer.commit(batch).await;
            let mut states = self.states.lock().expect("device states lock");
            for (index, device, seq) in &slots {
                if let Some(state) = states.get_mut(device) {
                    state.pending.remove(seq);
                }
                verdicts[*index] = Some(match &committed {
                    Ok(()) => Verdict::Accepted,
                    Err(error) => Verdict::rejected(503, "store_unavailable", error.clone()),
                });
            }
            if committed.is_err() {
                // The reserved seqs were not stored: the order is reloaded from the store
                // before this device is admitted again.
                for (_, device, _) in &slots {
                    if let Some(state) = states.get_mut(device) {
                        state.reload = true;
                    }
                }
            }
        }
        // Old seqs after the commit: an identical message earlier in this batch is now stored.
        for (index, stored) in old {
            verdicts[index] = Some(self.judge_old(&stored).await);
        }
        let verdicts: Vec<Verdict> = verdicts
            .into_iter()
            .map(|verdict| verdict.expect("every message judged"))
            .collect();
        for verdict in &verdicts {
            self.metrics.count(verdict);
        }
        verdicts
    }
}
