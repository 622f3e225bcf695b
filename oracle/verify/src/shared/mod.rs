//! Shared input (SPEC 4.3): an epoch is computed over the union of the sets every oracle of
//! the network accepted, so oracles whose devices reached different oracles still agree.
//!
//! Once this oracle's own epoch is sealed, each configured peer's sealed set is pulled
//! (`GET /v1/epochs/{n}/telemetry`, sorted records after a manifest) and checked while it
//! streams: the records must come in the manifest's order and add up to its count and digest,
//! or nothing of the pull is kept. Records this oracle holds with the same bytes are known
//! good; every other one is checked again against the rules that do not depend on arrival —
//! it decodes, names this network, its timestamp lies inside the epoch, its signature holds
//! (whether the device was onboarded at that time is the computation's rule, from the chain
//! snapshot) — and kept in `peers/<epoch>/<peer>.records` (an epoch stream of the kept
//! records under the peer's manifest), with a `.pulled` summary written last: a pull is
//! either whole on disk or absent. A peer that has not delivered its set delays the epoch's
//! computation until `peer_wait` after the seal; then the epoch is computed without it and
//! the report names it.
//!
//! Only whole sealed sets are merged. A set pulled while the epoch is open could not be
//! merged without making the result depend on when it was pulled (two oracles pulling a dead
//! peer at different moments would compute different roots and neither would reach quorum).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::files::write_atomically;
use groundwork_oracle_core::peers::PeerSigner;
use groundwork_oracle_core::secret::redact_url;
use groundwork_oracle_store::frame::FrameKind;
use groundwork_oracle_store::manifest::{EpochRecord, Manifest, ManifestBuilder, StreamDecoder};
use groundwork_oracle_store::{EpochStream, Store};

use groundwork_oracle_rewards::union::MAX_MESSAGES_PER_DEVICE;

mod records;

use groundwork_telemetry::Key;
pub use records::{check_records, PulledRecords, ReadAhead};
use records::{Checker, RecordsWriter};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Records checked in one batch (signatures verified together).
const CHECK_BATCH: usize = 4_096;

/// The largest report adopted from a peer (a million devices' report is about 250 MB).
const MAX_REPORT_BYTES: usize = 1 << 30;

/// A peer's answer for its report of an epoch.
#[derive(Debug, PartialEq, Eq)]
pub enum ReportAnswer {
    Report(Vec<u8>),
    /// The peer answered that it has none (404).
    NotThere(String),
    /// No usable answer (unreachable, an error, too slow or too large).
    Failed(String),
}

/// What one peer's sealed set of one epoch gave this oracle: kept on disk next to the
/// records, the proof that the pull was whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledSet {
    pub peer: String,
    pub epoch: u64,
    /// The peer's manifest, which the streamed records matched.
    pub manifest: Manifest,
    /// Records this oracle did not hold, checked and kept.
    pub kept: u64,
    /// Records refused, by reason.
    pub refused: BTreeMap<String, u64>,
    /// SHA-256 of the records file.
    pub file_sha256: String,
}

/// What a pull did.
#[derive(Debug, PartialEq, Eq)]
pub enum PullOutcome {
    Pulled(PulledSet),
    /// The peer answered that the epoch is not sealed on its side yet.
    NotSealed(String),
    /// This oracle cannot bound the pull yet: the epoch's chain snapshot (which devices
    /// exist) is not made.
    NoSnapshot,
}

#[derive(Debug, thiserror::Error)]
pub enum SharedInputError {
    #[error("peer {peer}: {message}")]
    Peer { peer: String, message: String },
    #[error("peer {peer} served a set that does not match its manifest: announced {announced_messages} messages, {announced_conflicts} conflicts, digest {announced_digest}; streamed {streamed_messages}, {streamed_conflicts}, {streamed_digest}")]
    ManifestMismatch {
        peer: String,
        announced_messages: u64,
        announced_conflicts: u64,
        announced_digest: String,
        streamed_messages: u64,
        streamed_conflicts: u64,
        streamed_digest: String,
    },
    #[error("{path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} does not parse: {source}")]
    Summary {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is damaged: {message}")]
    Damaged { path: String, message: String },
    #[error("this oracle's own set: {0}")]
    Store(#[from] groundwork_oracle_store::StoreError),
    #[error("the {what} stopped: {source}")]
    TaskStopped {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("the configuration: {0}")]
    Config(String),
}

fn file_error(path: &Path, source: std::io::Error) -> SharedInputError {
    SharedInputError::File {
        path: path.display().to_string(),
        source,
    }
}

fn stopped(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> SharedInputError {
    move |source| SharedInputError::TaskStopped { what, source }
}

/// Whether an epoch's shared input is complete enough to compute it.
#[derive(Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Compute over these sets; `missing` peers (with their last failure) did not deliver
    /// before the deadline.
    Ready {
        merged: Vec<PulledSet>,
        missing: Vec<(String, String)>,
    },
    Waiting(String),
}

/// How far a pull under way has come: what the report names when the wait for the peer
/// ends before the pull does (a peer that trickles, announces more than it sends, or streams
/// records that are dropped).
#[derive(Debug, Default)]
struct PullProgress {
    bytes: AtomicU64,
    /// The manifest's message count once its head arrived.
    announced: Mutex<Option<u64>>,
    records: AtomicU64,
    unknown_device: AtomicU64,
    over_device_cap: AtomicU64,
}

impl PullProgress {
    fn count(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// "12 bytes, no whole manifest yet" or "1,000 of the 1,000,000,000 records its manifest
    /// announced (10 of devices the chain does not know, 0 beyond one device's cap), 150000
    /// bytes".
    fn describe(&self) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let Some(announced) = *self.announced.lock().expect("progress lock") else {
            return format!("{bytes} bytes, no whole manifest yet");
        };
        format!(
            "{} of the {announced} records its manifest announced ({} of devices the chain does not know, {} beyond one device's {MAX_MESSAGES_PER_DEVICE}), {bytes} bytes",
            self.records.load(Ordering::Relaxed),
            self.unknown_device.load(Ordering::Relaxed),
            self.over_device_cap.load(Ordering::Relaxed),
        )
    }
}

/// The last attempt at one peer's set of one epoch.
#[derive(Debug, Clone)]
enum Attempt {
    UnderWay(Arc<PullProgress>),
    Failed(String),
}

impl Attempt {
    fn describe(&self) -> String {
        match self {
            Attempt::UnderWay(progress) => format!("still pulling: {}", progress.describe()),
            Attempt::Failed(failure) => failure.clone(),
        }
    }
}

/// One configured peer.
#[derive(Clone, Debug)]
struct Peer {
    url: String,
    /// The URL with any password replaced: what logs, files and the API name it by.
    name: String,
    /// File-name-safe and stable: the first 8 bytes of the URL's SHA-256, in hex.
    file_stem: String,
}

/// The peers' sets: pulling, checking, keeping and reading them.
pub struct SharedInput {
    dir: PathBuf,
    peers: Vec<Peer>,
    network: Key,
    schedule: EpochSchedule,
    peer_wait_ms: i64,
    chunk_timeout: Duration,
    /// The longest one pull may take, start to end, however the peer trickles: `peer_wait`
    /// (at least one request timeout).
    pull_deadline: Duration,
    /// This oracle's key: its pulls are signed (peers serve only the network's oracles).
    signer: Option<PeerSigner>,
    /// The chain view's folder: a pull keeps only records of devices in the epoch's chain
    /// snapshot (unset: of any device).
    chain_view_dir: Option<PathBuf>,
    client: reqwest::Client,
    /// The last attempt per (epoch, peer) that did not pull the set, for "waiting for"
    /// messages and the report's missing peers.
    last_failures: Mutex<BTreeMap<(u64, String), Attempt>>,
}

impl SharedInput {
    /// `dir` holds the pulled sets; `peers` are the other oracles' base URLs (`http://...`);
    /// `signer`, this oracle's key, signs every pull (peers refuse unsigned ones).
    pub fn new(
        dir: impl Into<PathBuf>,
        peers: &[String],
        network: Key,
        schedule: EpochSchedule,
        peer_wait: Duration,
        request_timeout: Duration,
        signer: Option<PeerSigner>,
    ) -> Result<Self, SharedInputError> {
        let mut unique = Vec::<Peer>::new();
        for url in peers {
            let url = url.trim_end_matches('/').to_string();
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(SharedInputError::Config(format!(
                    "peer {url:?} is not an http:// or https:// URL"
                )));
            }
            if unique.iter().any(|peer| peer.url == url) {
                continue;
            }
            let digest = Sha256::digest(url.as_bytes());
            let file_stem = hex::encode(&digest[..8]);
            let name = redact_url(&url);
            unique.push(Peer {
                url,
                name,
                file_stem,
            });
        }
        let client = reqwest::Client::builder()
            .connect_timeout(request_timeout)
            .build()
            .map_err(|error| SharedInputError::Config(error.to_string()))?;
        Ok(SharedInput {
            dir: dir.into(),
            peers: unique,
            network,
            schedule,
            peer_wait_ms: i64::try_from(peer_wait.as_millis()).unwrap_or(i64::MAX),
            chunk_timeout: request_timeout,
            pull_deadline: peer_wait.max(request_timeout),
            signer,
            chain_view_dir: None,
            client,
            last_failures: Mutex::new(BTreeMap::new()),
        })
    }

    /// The peers as logs and the API name them (passwords replaced).
    pub fn peer_names(&self) -> impl Iterator<Item = &str> {
        self.peers.iter().map(|peer| peer.name.as_str())
    }

    fn epoch_dir(&self, epoch: u64) -> PathBuf {
        self.dir.join(epoch.to_string())
    }

    fn summary_path(&self, epoch: u64, peer: &Peer) -> PathBuf {
        self.epoch_dir(epoch)
            .join(format!("{}.pulled", peer.file_stem))
    }

    fn records_path(&self, epoch: u64, peer: &Peer) -> PathBuf {
        self.epoch_dir(epoch)
            .join(format!("{}.records", peer.file_stem))
    }

    fn peer_named(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|peer| peer.name == name)
    }

    /// The sets of `epoch` pulled whole so far, in the configuration's peer order.
    pub fn pulled(&self, epoch: u64) -> Result<Vec<PulledSet>, SharedInputError> {
        let mut sets = Vec::new();
        for peer in &self.peers {
            let path = self.summary_path(epoch, peer);
            match std::fs::read(&path) {
                Ok(bytes) => sets.push(serde_json::from_slice(&bytes).map_err(|source| {
                    SharedInputError::Summary {
                        path: path.display().to_string(),
                        source,
                    }
                })?),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(file_error(&path, error)),
            }
        }
        Ok(sets)
    }

    /// Ready when every peer's set is pulled, or once `peer_wait` has passed since the seal
    /// and this process has tried each missing peer at least once (then without them: an
    /// oracle back from downtime asks before it gives up on anyone).
    pub fn readiness(&self, epoch: u64, now_ms: i64) -> Result<Readiness, SharedInputError> {
        let merged = self.pulled(epoch)?;
        let missing: Vec<&Peer> = self
            .peers
            .iter()
            .filter(|peer| !merged.iter().any(|set| set.peer == peer.name))
            .collect();
        if missing.is_empty() {
            return Ok(Readiness::Ready {
                merged,
                missing: Vec::new(),
            });
        }
        let deadline = self
            .schedule
            .seal_ms(epoch)
            .saturating_add(self.peer_wait_ms);
        let failures = self.last_failures.lock().expect("failures lock");
        let tried: Vec<Option<String>> = missing
            .iter()
            .map(|peer| {
                failures
                    .get(&(epoch, peer.name.clone()))
                    .map(Attempt::describe)
            })
            .collect();
        if now_ms >= deadline && tried.iter().all(Option::is_some) {
            return Ok(Readiness::Ready {
                merged,
                missing: missing
                    .iter()
                    .zip(tried)
                    .map(|(peer, failure)| (peer.name.clone(), failure.unwrap_or_default()))
                    .collect(),
            });
        }
        let waiting: Vec<String> = missing
            .iter()
            .zip(tried)
            .map(|(peer, failure)| match failure {
                Some(failure) => format!("{} ({failure})", peer.name),
                None => format!("{} (not pulled yet)", peer.name),
            })
            .collect();
        Ok(Readiness::Waiting(format!(
            "epoch {epoch}: the sealed sets of {}; computed without them from unix ms {deadline}",
            waiting.join(", ")
        )))
    }

    /// Keeps only records of devices in each epoch's chain snapshot (read from the chain
    /// view's folder `dir`), so a pulled set can never outgrow the network: a peer streaming
    /// records under throw-away keys fills no disk.
    pub fn with_chain_view(mut self, dir: impl Into<PathBuf>) -> Self {
        self.chain_view_dir = Some(dir.into());
        self
    }

    /// The peers whose set of `epoch` is not pulled yet.
    pub fn peers_to_pull(&self, epoch: u64) -> Vec<String> {
        self.peers
            .iter()
            .filter(|peer| !self.summary_path(epoch, peer).exists())
            .map(|peer| peer.name.clone())
            .collect()
    }

    /// Pulls every peer's set of the sealed `epoch` that is not pulled yet, all at once;
    /// returns what each attempt did (see [`SharedInput::pull_peer`]).
    pub async fn pull_epoch(
        &self,
        store: &Store,
        epoch: u64,
    ) -> Vec<(String, Result<PullOutcome, SharedInputError>)> {
        let pulls = self
            .peers_to_pull(epoch)
            .into_iter()
            .map(|peer| async move {
                let outcome = self.pull_peer(store, epoch, &peer).await;
                (peer, outcome)
            });
        futures_util::future::join_all(pulls).await
    }

    /// Pulls `peer`'s set of the sealed `epoch`, within the pull deadline however the peer
    /// trickles. The attempt is recorded when it starts (so the wait for a peer that never
    /// finishes still ends at `peer_wait`), and its outcome when it ends, for
    /// [`SharedInput::readiness`].
    pub async fn pull_peer(
        &self,
        store: &Store,
        epoch: u64,
        peer: &str,
    ) -> Result<PullOutcome, SharedInputError> {
        let Some(peer) = self.peer_named(peer) else {
            return Err(SharedInputError::Config(format!(
                "{peer} is not a configured peer"
            )));
        };
        let progress = Arc::new(PullProgress::default());
        self.record_attempt(epoch, peer, Some(Attempt::UnderWay(progress.clone())));
        let pull = self.pull(store, epoch, peer, &progress);
        let outcome = match tokio::time::timeout(self.pull_deadline, pull).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // What was written of the cut-off pull goes now, not at the next pull.
                remove_temporary_files(&self.epoch_dir(epoch), &peer.file_stem);
                Err(SharedInputError::Peer {
                    peer: peer.name.clone(),
                    message: format!(
                        "the pull did not finish within {} s: {}",
                        self.pull_deadline.as_secs(),
                        progress.describe()
                    ),
                })
            }
        };
        let failure = match &outcome {
            Ok(PullOutcome::Pulled(_)) => None,
            Ok(PullOutcome::NotSealed(message)) => Some(format!("not sealed: {message}")),
            Ok(PullOutcome::NoSnapshot) => {
                Some("this oracle's chain snapshot of the epoch is not made yet".into())
            }
            Err(error) => Some(error.to_string()),
        };
        let failure = failure.map(Attempt::Failed);
        self.record_attempt(epoch, peer, failure);
        outcome
    }

    /// Remembers how the last attempt at `peer`'s set of `epoch` stands (`None`: pulled).
    fn record_attempt(&self, epoch: u64, peer: &Peer, failure: Option<Attempt>) {
        let mut failures = self.last_failures.lock().expect("failures lock");
        match failure {
            Some(failure) => failures.insert((epoch, peer.name.clone()), failure),
            None => failures.remove(&(epoch, peer.name.clone())),
        };
        failures.retain(|(failed_epoch, _), _| *failed_epoch + 64 > epoch);
    }

    async fn pull(
        &self,
        store: &Store,
        epoch: u64,
        peer: &Peer,
        progress: &PullProgress,
    ) -> Result<PullOutcome, SharedInputError> {
        let peer_error = |message: String| SharedInputError::Peer {
            peer: peer.name.clone(),
            message,
        };
        let path = format!("/v1/epochs/{epoch}/telemetry");
        let mut request = self.client.get(format!("{}{path}", peer.url));
        if let Some(signer) = &self.signer {
            for (name, value) in signer.headers("GET", &path) {
                request = request.header(name, value);
            }
        }
        let mut response = tokio::time::timeout(self.chunk_timeout, request.send())
            .await
            .map_err(|_| peer_error("no answer in time".into()))?
            .map_err(|error| peer_error(error.to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::CONFLICT {
            let body = self.short_body(response).await;
            return Ok(PullOutcome::NotSealed(body));
        }
        if !status.is_success() {
            let body = self.short_body(response).await;
            return Err(peer_error(format!("{status}: {body}")));
        }
        let known: Option<std::collections::HashSet<[u8; 32]>> = match &self.chain_view_dir {
            Some(view_dir) => {
                let snapshot = groundwork_oracle_chainview::stored_snapshot(view_dir, epoch)
                    .map_err(|error| SharedInputError::Damaged {
                        path: view_dir.display().to_string(),
                        message: error.to_string(),
                    })?;
                let Some(snapshot) = snapshot else {
                    return Ok(PullOutcome::NoSnapshot);
                };
                Some(
                    snapshot
                        .devices
                        .iter()
                        .map(|entry| entry.device.to_bytes())
                        .collect(),
                )
            }
            None => None,
        };
        // Records of the current device seen so far in the stream: beyond the most one
        // device's messages count (the lowest seqs), they are not kept.
        let mut device_records: Option<([u8; 32], usize)> = None;
        let dir = self.epoch_dir(epoch);
        std::fs::create_dir_all(&dir).map_err(|error| file_error(&dir, error))?;
        remove_temporary_files(&dir, &peer.file_stem);
        let final_path = self.records_path(epoch, peer);
        let temporary = final_path.with_extension(format!("records.tmp.{}", std::process::id()));
        let mut own = store.stream_epoch(epoch);
        let mut own_next = next_own(&mut own).await?;
        let mut decoder = StreamDecoder::new();
        let mut announced: Option<Manifest> = None;
        let mut streamed = ManifestBuilder::new(epoch);
        let mut previous: Option<([u8; 32], u64, FrameKind, [u8; 32])> = None;
        let mut pending = Vec::new();
        let mut checker: Option<Checker> = None;
        loop {
            let chunk = tokio::time::timeout(self.chunk_timeout, response.chunk())
                .await
                .map_err(|_| peer_error("the stream stalled".into()))?
                .map_err(|error| peer_error(format!("the stream broke: {error}")))?;
            let Some(chunk) = chunk else { break };
            PullProgress::count(&progress.bytes, chunk.len() as u64);
            decoder.push(&chunk);
            if announced.is_none() {
                let Some(manifest) = decoder.head().map_err(&peer_error)? else {
                    continue;
                };
                if manifest.epoch != epoch {
                    return Err(peer_error(format!(
                        "asked for epoch {epoch}, served epoch {}",
                        manifest.epoch
                    )));
                }
                checker = Some(Checker {
                    epoch,
                    network: self.network,
                    schedule: self.schedule,
                    in_flight: std::collections::VecDeque::new(),
                    parallel: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
                    writer: Some(RecordsWriter::create(&temporary, &manifest)?),
                    refused: BTreeMap::new(),
                    kept: 0,
                });
                *progress.announced.lock().expect("progress lock") = Some(manifest.messages);
                announced = Some(manifest);
            }
            while let Some(record) = decoder.next_record().map_err(&peer_error)? {
                let key = (record.device.0, record.seq, record.kind, record.hash);
                if let Some(previous) = &previous {
                    if *previous >= key {
                        return Err(peer_error(
                            "records out of (device, seq, kind, hash) order".into(),
                        ));
                    }
                }
                streamed.add(record.kind, &record.device, record.seq, &record.hash);
                PullProgress::count(&progress.records, 1);
                let (messages, conflicts) = streamed.counts();
                let announced = announced.as_ref().expect("read before records");
                if messages > announced.messages || conflicts > announced.conflicts {
                    return Err(peer_error(format!(
                        "the stream holds more than its manifest's {} messages and {} conflicts",
                        announced.messages, announced.conflicts
                    )));
                }
                while own_next
                    .as_ref()
                    .is_some_and(|own| own.sort_key() < record.sort_key())
                {
                    own_next = next_own(&mut own).await?;
                }
                // Held here: the same message, under a signature no larger than the peer's
                // (a copy under a smaller signature is kept: every oracle's union keeps the
                // smallest, so their published bundles are byte-identical).
                let held = own_next.as_ref().is_some_and(|own| {
                    own.sort_key() == record.sort_key() && own.signature <= record.signature
                });
                previous = Some(key);
                let position = match &mut device_records {
                    Some((device, count)) if *device == record.device.0 => {
                        *count += 1;
                        *count
                    }
                    _ => {
                        device_records = Some((record.device.0, 1));
                        1
                    }
                };
                if known
                    .as_ref()
                    .is_some_and(|known| !known.contains(&record.device.0))
                {
                    PullProgress::count(&progress.unknown_device, 1);
                    continue;
                }
                if position > MAX_MESSAGES_PER_DEVICE {
                    PullProgress::count(&progress.over_device_cap, 1);
                    continue;
                }
                if held {
                    continue;
                }
                pending.push(record);
                if pending.len() >= CHECK_BATCH {
                    let checker = checker.as_mut().expect("created with the head");
                    checker.submit(std::mem::take(&mut pending)).await?;
                }
            }
        }
        decoder.finish().map_err(&peer_error)?;
        let (Some(announced), Some(mut checker)) = (announced, checker) else {
            return Err(peer_error("the stream ends before its manifest".into()));
        };
        checker.submit(pending).await?;
        let (writer, kept, mut refused) = checker.finish().await?;
        let dropped = [
            ("unknown_device", &progress.unknown_device),
            ("over_device_cap", &progress.over_device_cap),
        ];
        for (reason, count) in dropped {
            let count = count.load(Ordering::Relaxed);
            if count > 0 {
                *refused.entry(reason.into()).or_default() += count;
            }
        }
        let streamed = streamed.finish();
        if streamed != announced {
            let _ = std::fs::remove_file(&temporary);
            return Err(SharedInputError::ManifestMismatch {
                peer: peer.name.clone(),
                announced_messages: announced.messages,
                announced_conflicts: announced.conflicts,
                announced_digest: announced.digest,
                streamed_messages: streamed.messages,
                streamed_conflicts: streamed.conflicts,
                streamed_digest: streamed.digest,
            });
        }
        let file_sha256 = tokio::task::spawn_blocking(move || writer.finish())
            .await
            .map_err(stopped("write"))??;
        std::fs::rename(&temporary, &final_path).map_err(|error| file_error(&final_path, error))?;
        let set = PulledSet {
            peer: peer.name.clone(),
            epoch,
            manifest: announced,
            kept,
            refused,
            file_sha256,
        };
        let summary = serde_json::to_vec_pretty(&set).expect("a summary serialises");
        write_atomically(&self.summary_path(epoch, peer), &summary)
            .map_err(|error| file_error(&self.summary_path(epoch, peer), error))?;
        Ok(PullOutcome::Pulled(set))
    }

    /// Each peer's stored report of `epoch` (canonical bytes), or why it could not be had:
    /// the candidates for the base of an oracle that did not compute that epoch.
    pub async fn fetch_reports(&self, epoch: u64) -> Vec<(String, ReportAnswer)> {
        let fetches = self.peers.iter().map(|peer| async move {
            let url = format!("{}/v1/epochs/{epoch}/rewards", peer.url);
            let request = self
                .client
                .get(&url)
                .header(reqwest::header::ACCEPT, "application/octet-stream")
                .send();
            let answer = match tokio::time::timeout(self.chunk_timeout, request).await {
                Err(_) => ReportAnswer::Failed("no answer in time".to_string()),
                Ok(Err(error)) => ReportAnswer::Failed(error.to_string()),
                Ok(Ok(response)) if response.status() == reqwest::StatusCode::NOT_FOUND => {
                    ReportAnswer::NotThere(self.short_body(response).await)
                }
                Ok(Ok(response)) if !response.status().is_success() => {
                    let status = response.status();
                    ReportAnswer::Failed(format!("{status}: {}", self.short_body(response).await))
                }
                Ok(Ok(response)) => match self.body_up_to(response, MAX_REPORT_BYTES).await {
                    Ok(bytes) => ReportAnswer::Report(bytes),
                    Err(failure) => ReportAnswer::Failed(failure),
                },
            };
            (peer.name.clone(), answer)
        });
        futures_util::future::join_all(fetches).await
    }

    /// A refusal's body, for messages: at most 4 KiB, read within the timeout.
    async fn short_body(&self, response: reqwest::Response) -> String {
        match self.body_up_to(response, 4_096).await {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(failure) => failure,
        }
    }

    /// A response's body, chunk by chunk (each within the timeout), refused past `limit`.
    async fn body_up_to(
        &self,
        mut response: reqwest::Response,
        limit: usize,
    ) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        loop {
            match tokio::time::timeout(self.chunk_timeout, response.chunk()).await {
                Err(_) => return Err("the answer stalled".into()),
                Ok(Err(error)) => return Err(error.to_string()),
                Ok(Ok(None)) => return Ok(body),
                Ok(Ok(Some(chunk))) => {
                    if body.len() + chunk.len() > limit {
                        return Err(format!("the answer is over {limit} bytes"));
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
    }

    /// Reads a pulled set's kept records, in order; the file's digest is checked at its end.
    pub fn records(&self, set: &PulledSet) -> Result<PulledRecords, SharedInputError> {
        let peer = self.peer_named(&set.peer).ok_or_else(|| {
            SharedInputError::Config(format!("{} is no longer a configured peer", set.peer))
        })?;
        let path = self.records_path(set.epoch, peer);
        let file = std::fs::File::open(&path).map_err(|error| file_error(&path, error))?;
        Ok(PulledRecords {
            path,
            file,
            decoder: StreamDecoder::new(),
            hasher: Sha256::new(),
            expected_sha256: set.file_sha256.clone(),
            head_read: false,
            done: false,
        })
    }

    /// Deletes the pulled sets of every epoch up to and including `through`.
    pub fn prune_through(&self, through: u64) -> Result<u64, SharedInputError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(file_error(&self.dir, error)),
        };
        let mut removed = 0;
        for entry in entries.flatten() {
            let Some(epoch) = entry
                .file_name()
                .to_str()
                .and_then(|name| name.parse::<u64>().ok())
            else {
                continue;
            };
            if epoch <= through {
                std::fs::remove_dir_all(entry.path())
                    .map_err(|error| file_error(&entry.path(), error))?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Removes what an interrupted pull of this peer left (its temporary records files).
fn remove_temporary_files(dir: &Path, file_stem: &str) {
    let prefix = format!("{file_stem}.records.tmp.");
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(&prefix))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

async fn next_own(own: &mut EpochStream) -> Result<Option<EpochRecord>, SharedInputError> {
    own.next()
        .await
        .transpose()
        .map_err(SharedInputError::Store)
}
