//! The ingest stage (SPEC 4.2). Each message goes through, in order:
//!
//! 1. parsing (JSON) and the checks that need nothing but the message and the device set:
//!    network, seq range, onboarded and not suspended, timestamp window, epoch not sealed;
//! 2. the per-source rate limit — the only limit before any signature work (device keys are
//!    public: what a message merely names is never charged before its signature holds);
//! 3. the signature, under ZIP-215, verified in batches across the cores, within a global
//!    bound on signature work shared between sources (one batch per source at a time, first
//!    come first served);
//! 4. the per-device rate limit, for verified messages newer than the device's newest committed
//!    seq only (a replay of a message anyone can read back costs the device nothing);
//! 5. the store's commit, which decides the seq order (stored, duplicate of identical canonical
//!    bytes, conflicting copy, stale) and returns only once what it stored is durable.
//!
//! Nothing here walks every device or holds one lock across devices: the device set is read
//! per message and the rate-limit buckets are sharded.
//!
//! The stage's routes ([`api`]): `POST /v1/telemetry` (the ingest class), `GET
//! /v1/epochs/{n}/telemetry` (the peers' stream), `GET /v1/devices/{key}` and `GET
//! /v1/epochs/{n}` (reads); its task: [`Ingestor::sweep_limits_every_minute`].

pub mod api;
pub mod fair;

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use groundwork_oracle_core::clock::Clock;
use groundwork_oracle_core::devices::DeviceCache;
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::tasks::{FirstRound, StopSignal, Ticker};
use groundwork_oracle_core::{Rejection, Verdict};
use groundwork_oracle_store::{Candidate, Outcome, Store};
use groundwork_telemetry::{verify_batch, verify_signature, Key, SignedTelemetry};
use serde::{Deserialize, Serialize};

use groundwork_oracle_core::ratelimit::Limiter;

/// How often the rate limiters forget refilled buckets.
const LIMIT_SWEEP: Duration = Duration::from_secs(60);

/// Ingest limits (SPEC 4.2 defaults).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_body_bytes: usize,
    pub max_batch_messages: usize,
    /// Oldest accepted device timestamp, relative to now. Default (`None`): one slot of
    /// verified work (the epoch length / `verify.slots_per_epoch`, 30 min for daily epochs of
    /// 48 slots), so a device buffers through a short outage but cannot backfill hours it was
    /// not online for (SPEC 4.2).
    #[serde(with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub max_message_age: Option<Duration>,
    /// Furthest a device clock may run ahead.
    #[serde(with = "humantime_serde")]
    pub max_clock_skew: Duration,
    /// Per-device rate: sustained messages per second and burst.
    pub device_rate_per_s: f64,
    pub device_burst: u32,
    /// Per-source-address rate.
    pub source_rate_per_s: f64,
    pub source_burst: u32,
    /// Proxies whose `X-Forwarded-For` names the source (their own address otherwise).
    pub trusted_proxies: Vec<IpAddr>,
    /// Longest a request body may take to arrive.
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
    /// Longest a request may take from its headers to its reply.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Signatures being verified at once, across every request (the global bound on signature
    /// work, SPEC 4.2): beyond it, signatures wait their turns (64 at a time, source addresses
    /// taking turns, see [`fair`]) rather than piling work on the cores. Default (`None`): two
    /// turns per core (one running, one ready), so verification never crowds out the threads
    /// that serve requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_signatures_in_flight: Option<usize>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 256 * 1024,
            max_batch_messages: 1_000,
            max_message_age: None,
            max_clock_skew: Duration::from_secs(60),
            device_rate_per_s: 1.0,
            device_burst: 60,
            source_rate_per_s: 2_000.0,
            source_burst: 20_000,
            trusted_proxies: Vec::new(),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_signatures_in_flight: None,
        }
    }
}

impl LimitsConfig {
    /// `max_message_age` as configured, or one slot of an epoch of `epoch_length` cut into
    /// `slots_per_epoch` slots.
    pub fn message_age_or_one_slot(
        &self,
        epoch_length: Duration,
        slots_per_epoch: u32,
    ) -> Duration {
        self.max_message_age
            .unwrap_or_else(|| epoch_length / slots_per_epoch.max(1))
    }
}

/// Slots an epoch has when nothing says otherwise (SPEC 4.3's default).
const DEFAULT_SLOTS_PER_EPOCH: u32 = 48;

/// Lanes of the newest-seq map (locks spread by the device key's first byte).
const NEWEST_SEQ_LANES: usize = 256;

/// Below this many signatures a turn is verified on its own task rather than on the blocking
/// pool.
const INLINE_VERIFY_MAX: usize = 8;

/// One message as it arrived: JSON text still to parse (SPEC 4.1's JSON form), or a message
/// decoded from a binary batch.
#[derive(Clone, Debug)]
pub enum WireMessage {
    Json(String),
    Decoded(SignedTelemetry),
}

/// Below this many messages a request is parsed and verified on its own task; from it on, in
/// chunks across the machine's cores.
const PARALLEL_VERIFY_MIN: usize = 64;

/// Runs `work` over `items` split into one chunk per worker on the blocking pool; the results
/// keep the items' order. A chunk cancelled (only a runtime shutting down does that) yields
/// `cancelled()` for each of its items; a panic is propagated.
async fn across_cores<T: Send + 'static, R: Send + 'static>(
    items: Vec<T>,
    workers: usize,
    work: fn(Vec<T>) -> Vec<R>,
    cancelled: fn() -> R,
) -> Vec<R> {
    let chunk_len = items.len().div_ceil(workers.max(1)).max(1);
    let mut items = items.into_iter();
    let mut tasks = Vec::new();
    loop {
        let chunk: Vec<T> = items.by_ref().take(chunk_len).collect();
        if chunk.is_empty() {
            break;
        }
        let len = chunk.len();
        tasks.push((len, tokio::task::spawn_blocking(move || work(chunk))));
    }
    let mut results = Vec::new();
    for (len, task) in tasks {
        match task.await {
            Ok(chunk) => results.extend(chunk),
            Err(join_error) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            Err(_) => results.extend((0..len).map(|_| cancelled())),
        }
    }
    results
}

/// The ingest stage: shared by every request.
pub struct Ingestor {
    network: Key,
    limits: LimitsConfig,
    schedule: EpochSchedule,
    devices: Arc<DeviceCache>,
    clock: Arc<dyn Clock>,
    store: Store,
    pub metrics: Arc<Metrics>,
    device_limits: Limiter<Key>,
    source_limits: Limiter<IpAddr>,
    /// The oldest accepted timestamp, relative to now.
    max_message_age_ms: i64,
    /// The global bound on signature work, shared fairly between sources.
    signature_work: fair::FairShare,
    /// Each device's newest seq this process committed: a message at or below it (a replay of
    /// a message anyone can read back) is judged by the store without costing the device's
    /// budget.
    newest_seq: Vec<std::sync::Mutex<std::collections::HashMap<Key, u64>>>,
    workers: usize,
}

/// A message that passed the stateless checks and the limits, with its canonical bytes.
struct Checked {
    index: usize,
    signed: SignedTelemetry,
    canonical: Vec<u8>,
    epoch: u64,
}

impl Ingestor {
    /// The ingest stage for `network`. `limits.max_message_age` unset means one slot of an
    /// epoch of SPEC's default 48 slots; the service sets it from `[verify]`
    /// (see [`LimitsConfig::message_age_or_one_slot`]).
    pub fn new(
        network: Key,
        limits: LimitsConfig,
        schedule: EpochSchedule,
        devices: Arc<DeviceCache>,
        clock: Arc<dyn Clock>,
        store: Store,
        metrics: Arc<Metrics>,
    ) -> Self {
        let epoch_length = Duration::from_millis(u64::try_from(schedule.length_ms).unwrap_or(0));
        let max_message_age = limits.message_age_or_one_slot(epoch_length, DEFAULT_SLOTS_PER_EPOCH);
        let workers = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        let signatures_in_flight = limits
            .max_signatures_in_flight
            .unwrap_or(2 * workers * fair::QUANTUM);
        Ingestor {
            network,
            device_limits: Limiter::new(limits.device_rate_per_s, limits.device_burst),
            source_limits: Limiter::new(limits.source_rate_per_s, limits.source_burst),
            max_message_age_ms: i64::try_from(max_message_age.as_millis()).unwrap_or(i64::MAX),
            signature_work: fair::FairShare::new(signatures_in_flight),
            newest_seq: (0..NEWEST_SEQ_LANES)
                .map(|_| std::sync::Mutex::new(std::collections::HashMap::new()))
                .collect(),
            limits,
            schedule,
            devices,
            clock,
            store,
            metrics,
            workers,
        }
    }

    pub fn limits(&self) -> &LimitsConfig {
        &self.limits
    }

    pub fn schedule(&self) -> &EpochSchedule {
        &self.schedule
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn devices(&self) -> &DeviceCache {
        &self.devices
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The address a request's limits apply to: the peer, or — when the peer is a trusted
    /// proxy — the last address in `X-Forwarded-For` that is not itself a trusted proxy.
    pub fn source_of(&self, peer: SocketAddr, forwarded_for: Option<&str>) -> IpAddr {
        groundwork_oracle_core::server::source_address(
            peer.ip(),
            forwarded_for,
            &self.limits.trusted_proxies,
        )
    }

    /// Forgets refilled rate-limit buckets (run periodically: memory follows active devices).
    pub fn sweep_limits(&self) {
        let now = self.clock.now_ms();
        self.device_limits.forget_full(now);
        self.source_limits.forget_full(now);
    }

    /// The "limit-sweeper" task: [`Self::sweep_limits`] every minute, so the rate limiters'
    /// memory follows the devices and sources active now, not every one ever seen.
    pub async fn sweep_limits_every_minute(
        self: Arc<Self>,
        stop: StopSignal,
    ) -> anyhow::Result<()> {
        let mut ticker = Ticker::new(LIMIT_SWEEP, FirstRound::Now, stop);
        while ticker.next().await {
            self.sweep_limits();
        }
        Ok(())
    }

    /// The checks that need only the message, the device set and the clock.
    fn check_message(&self, signed: &SignedTelemetry, now_ms: i64) -> Result<u64, Rejection> {
        let message = &signed.message;
        if message.network != self.network {
            return Err(Rejection::WrongNetwork {
                message_network: message.network,
                oracle_network: self.network,
            });
        }
        if i64::try_from(message.seq).is_err() {
            return Err(Rejection::SeqOutOfRange);
        }
        match self.devices.get(&message.device) {
            None => return Err(Rejection::UnknownDevice(message.device)),
            Some(info) if info.suspended => return Err(Rejection::DeviceSuspended(message.device)),
            Some(_) => {}
        }
        let max_skew_ms = i64::try_from(self.limits.max_clock_skew.as_millis()).unwrap_or(i64::MAX);
        let max_age_ms = self.max_message_age_ms;
        if message.timestamp_ms > now_ms.saturating_add(max_skew_ms) {
            return Err(Rejection::TimestampInFuture {
                timestamp_ms: message.timestamp_ms,
                max_skew_ms,
            });
        }
        if message.timestamp_ms < now_ms.saturating_sub(max_age_ms) {
            return Err(Rejection::TimestampTooOld {
                timestamp_ms: message.timestamp_ms,
                max_age_ms,
            });
        }
        let epoch =
            self.schedule
                .epoch_of(message.timestamp_ms)
                .ok_or(Rejection::BeforeGenesis {
                    timestamp_ms: message.timestamp_ms,
                })?;
        if self.schedule.is_sealed(epoch, now_ms) {
            return Err(Rejection::EpochSealed { epoch });
        }
        Ok(epoch)
    }

    /// The limit before any signature work: the source's own rate (device keys are public, so
    /// nothing a message merely names is charged before its signature holds).
    fn check_source_limit(&self, source: IpAddr, now_ms: i64) -> Result<(), Rejection> {
        if !self.source_limits.allow(source, now_ms) {
            return Err(Rejection::SourceRateLimited {
                source_address: source.to_string(),
            });
        }
        Ok(())
    }

    /// The device's rate, charged only for messages whose signature verified: a forged flood
    /// naming a device never costs it an accepted message.
    fn check_device_limit(&self, device: Key, now_ms: i64) -> Result<(), Rejection> {
        if !self.device_limits.allow(device, now_ms) {
            return Err(Rejection::DeviceRateLimited {
                device,
                rate_per_s: self.limits.device_rate_per_s,
                burst: self.limits.device_burst,
            });
        }
        Ok(())
    }

    fn newest_lane(&self, device: &Key) -> &std::sync::Mutex<std::collections::HashMap<Key, u64>> {
        &self.newest_seq[usize::from(device.0[0]) % self.newest_seq.len()]
    }

    /// The newest seq this process committed for `device`.
    fn newest_committed(&self, device: &Key) -> Option<u64> {
        self.newest_lane(device)
            .lock()
            .expect("newest seq lock")
            .get(device)
            .copied()
    }

    fn committed(&self, device: Key, seq: u64) {
        let mut lane = self.newest_lane(&device).lock().expect("newest seq lock");
        let newest = lane.entry(device).or_insert(seq);
        *newest = (*newest).max(seq);
    }

    /// Signature verdicts for `checked`, in order, within the global bound on signature work
    /// shared fairly between sources (SPEC 4.2, see [`fair`]): the signatures are verified in
    /// turns of at most [`fair::QUANTUM`], granted by round robin over the sources waiting. A
    /// source's thousand-message batches queue behind its own earlier turns; another source's
    /// message starts within one round, however deep the first one's backlog: a flood from
    /// a few addresses slows the others by a share, never to a stop.
    async fn verify_in_turn(&self, source: IpAddr, checked: &[Checked]) -> Vec<bool> {
        /// A batch check costs about half of checking each signature when all hold, and is
        /// wasted when one does not: once a turn of this request found a bad signature (a
        /// forged batch), the later ones are checked one by one.
        fn verify_turn(turn: Vec<(Key, Vec<u8>, [u8; 64])>, forged_seen: &AtomicBool) -> Vec<bool> {
            let verdicts = if forged_seen.load(Ordering::Relaxed) {
                turn.iter()
                    .map(|(key, canonical, signature)| verify_signature(key, canonical, signature))
                    .collect()
            } else {
                let borrowed: Vec<(&Key, &[u8], &[u8; 64])> = turn
                    .iter()
                    .map(|(key, canonical, signature)| (key, canonical.as_slice(), signature))
                    .collect();
                verify_batch(&borrowed)
            };
            if verdicts.contains(&false) {
                forged_seen.store(true, Ordering::Relaxed);
            }
            verdicts
        }
        let forged_seen = Arc::new(AtomicBool::new(false));
        let turns = checked.chunks(fair::QUANTUM).map(|turn| {
            let forged_seen = forged_seen.clone();
            async move {
                let items: Vec<(Key, Vec<u8>, [u8; 64])> = turn
                    .iter()
                    .map(|item| {
                        (
                            item.signed.message.device,
                            item.canonical.clone(),
                            item.signed.signature,
                        )
                    })
                    .collect();
                let _turn = self.signature_work.turn(source, items.len()).await;
                if items.len() < INLINE_VERIFY_MAX {
                    return verify_turn(items, &forged_seen);
                }
                let len = items.len();
                match tokio::task::spawn_blocking(move || verify_turn(items, &forged_seen)).await {
                    Ok(verdicts) => verdicts,
                    Err(join_error) if join_error.is_panic() => {
                        std::panic::resume_unwind(join_error.into_panic())
                    }
                    // Cancelled by a runtime shutting down: not verified.
                    Err(_) => vec![false; len],
                }
            }
        });
        futures_util::future::join_all(turns).await.concat()
    }

    /// Parses the JSON messages, across the cores when there are many.
    async fn parse_all(
        &self,
        messages: Vec<WireMessage>,
    ) -> Vec<Result<SignedTelemetry, Rejection>> {
        fn parse_chunk(chunk: Vec<WireMessage>) -> Vec<Result<SignedTelemetry, Rejection>> {
            chunk
                .into_iter()
                .map(|wire| match wire {
                    WireMessage::Json(json) => SignedTelemetry::from_json(&json)
                        .map_err(|reason| Rejection::InvalidMessage(reason.to_string())),
                    WireMessage::Decoded(signed) => Ok(signed),
                })
                .collect()
        }
        let json = messages
            .iter()
            .filter(|wire| matches!(wire, WireMessage::Json(_)))
            .count();
        if json < PARALLEL_VERIFY_MIN || self.workers == 1 {
            return parse_chunk(messages);
        }
        across_cores(messages, self.workers, parse_chunk, || {
            Err(Rejection::ShuttingDown)
        })
        .await
    }

    /// Ingests messages from `source`; one verdict per message, in order. A verdict of
    /// accepted or duplicate means the message is durably stored.
    pub async fn ingest(&self, source: IpAddr, messages: Vec<WireMessage>) -> Vec<Verdict> {
        let now_ms = self.clock.now_ms();
        let mut verdicts: Vec<Option<Verdict>> = vec![None; messages.len()];
        let mut checked = Vec::new();
        for (index, parsed) in self.parse_all(messages).await.into_iter().enumerate() {
            let signed = match parsed {
                Ok(signed) => signed,
                Err(rejection) => {
                    verdicts[index] = Some(Verdict::Rejected(rejection));
                    continue;
                }
            };
            let outcome = self
                .check_message(&signed, now_ms)
                .and_then(|epoch| self.check_source_limit(source, now_ms).map(|()| epoch));
            match outcome {
                Ok(epoch) => checked.push(Checked {
                    index,
                    canonical: signed.message.canonical_bytes(),
                    signed,
                    epoch,
                }),
                Err(rejection) => verdicts[index] = Some(Verdict::Rejected(rejection)),
            }
        }
        let signatures = self.verify_in_turn(source, &checked).await;
        let mut charged = std::collections::HashSet::new();
        let mut candidates = Vec::new();
        let mut slots = Vec::new();
        for (item, valid) in checked.into_iter().zip(signatures) {
            if !valid {
                verdicts[item.index] = Some(Verdict::Rejected(Rejection::BadSignature));
                continue;
            }
            // Only a message newer than anything committed for its device, once per (device,
            // seq) in a request, is charged: copies of a real message (a replay) are not.
            let (device, seq) = (item.signed.message.device, item.signed.message.seq);
            let is_new = self
                .newest_committed(&device)
                .is_none_or(|newest| seq > newest)
                && charged.insert((device, seq));
            if is_new {
                if let Err(rejection) = self.check_device_limit(device, now_ms) {
                    verdicts[item.index] = Some(Verdict::Rejected(rejection));
                    continue;
                }
            }
            slots.push((
                item.index,
                item.signed.message.device,
                item.signed.message.seq,
                item.epoch,
            ));
            candidates.push(Candidate {
                device: item.signed.message.device,
                seq: item.signed.message.seq,
                epoch: item.epoch,
                canonical: item.canonical,
                signature: item.signed.signature,
                received_at_ms: now_ms,
            });
        }
        match self.store.commit(candidates).await {
            Ok(outcomes) => {
                for ((index, device, seq, epoch), outcome) in slots.into_iter().zip(outcomes) {
                    if outcome == Outcome::Stored {
                        self.committed(device, seq);
                    }
                    verdicts[index] = Some(match outcome {
                        Outcome::Stored => Verdict::Accepted,
                        Outcome::Duplicate => Verdict::Duplicate,
                        Outcome::Conflict { .. } => {
                            Verdict::Rejected(Rejection::SeqConflict { device, seq })
                        }
                        Outcome::Stale { last_seq } => Verdict::Rejected(Rejection::StaleSeq {
                            device,
                            seq,
                            last_seq,
                        }),
                        Outcome::EpochSealed => Verdict::Rejected(Rejection::EpochSealed { epoch }),
                    });
                }
            }
            Err(error) => {
                tracing::error!(%error, messages = slots.len(), "commit failed");
                for (index, ..) in slots {
                    verdicts[index] = Some(Verdict::Rejected(Rejection::StoreUnavailable(
                        error.to_string(),
                    )));
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_oracle_core::clock::FixedClock;

    fn ingestor(trusted_proxies: Vec<IpAddr>) -> Ingestor {
        let dir = std::env::temp_dir().join(format!(
            "groundwork-ingest-unit-{}-{}",
            std::process::id(),
            trusted_proxies.len()
        ));
        let store = groundwork_oracle_store::segments::SegmentStore::open(
            groundwork_oracle_store::segments::SegmentConfig::new(dir),
        )
        .unwrap();
        Ingestor::new(
            Key([1; 32]),
            LimitsConfig {
                trusted_proxies,
                ..LimitsConfig::default()
            },
            EpochSchedule::new(0, 1_000, 0).unwrap(),
            Arc::new(DeviceCache::default()),
            Arc::new(FixedClock::new(0)),
            Store::Segments(Arc::new(store)),
            Arc::new(Metrics::default()),
        )
    }

    #[test]
    fn the_source_is_the_peer_unless_a_trusted_proxy_forwards() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let inner_proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let ingestor = ingestor(vec![proxy, inner_proxy]);
        let from = |peer: &str, forwarded: Option<&str>| {
            ingestor.source_of(format!("{peer}:4000").parse().unwrap(), forwarded)
        };
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        // An untrusted peer cannot claim another address.
        assert_eq!(
            from("198.51.100.7", Some("203.0.113.9")),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A trusted proxy: the last hop that is not a trusted proxy (spoofed hops to its left
        // are ignored).
        assert_eq!(from("10.0.0.1", Some("1.2.3.4, 203.0.113.9")), client);
        assert_eq!(from("10.0.0.1", Some("203.0.113.9, 10.0.0.2")), client);
        // A trusted proxy that forwards nothing usable is the source itself.
        assert_eq!(from("10.0.0.1", None), proxy);
        assert_eq!(from("10.0.0.1", Some("garbage")), proxy);
    }
}
