//! The "publisher" task (SPEC 4.6): once an epoch's report is stored, its epoch bundle — the
//! union it was computed over as one epoch stream, the chain snapshot's and the report's
//! canonical bytes, the `[verify]` parameters it was computed with, and the index — goes to
//! the configured bundle store (`groundwork_oracle_bundle`).
//!
//! The union is written again from the inputs the report names (this oracle's sealed set and
//! the peers' pulled sets, merged as the verify stage merged them) and checked against the
//! report's union manifest before anything is uploaded. A published epoch is marked in
//! `<data_dir>/bundles-work/<epoch>.published` with its report's digest (and the report file's
//! size and modification time, so a restart need not hash every report again): a restart
//! publishes what is missing, and an epoch computed again (after a veto) is published again.
//! A failure is retried with a growing pause (up to five minutes). Retention keeps the inputs
//! of every epoch not yet published — of every epoch until the first scan is done. An epoch
//! whose inputs fail three times in a row (gone, or no longer the union its report names) is
//! marked `<epoch>.unpublishable` with the reason, logged and reported by `/healthz`, and no
//! longer holds the epochs after it or retention. Reports this oracle adopted from a peer are
//! not published: it did not compute them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use groundwork_oracle_bundle::store::{IndexOutcome, PartSource};
use groundwork_oracle_bundle::{BundleIndex, BundleStore, PartName, PartRef, BUNDLE_FORMAT};
use groundwork_oracle_chainview::stored_snapshot;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::tasks::{FirstRound, HealthReport, StageHealth, StopSignal, Ticker};
use groundwork_oracle_rewards::report::{EpochReport, Reports};
use groundwork_oracle_rewards::union::UnionFilter;
use groundwork_oracle_store::manifest::{
    encode_stream_head, encode_stream_record, Manifest, ManifestBuilder,
};
use groundwork_oracle_store::tasks::KeepsInputs;
use groundwork_oracle_store::Store;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::shared::SharedInput;
use crate::stage::{input_set, params_path, MergedRecords};

/// How often the publisher looks for a report to publish.
const PUBLISH_EVERY: Duration = Duration::from_secs(2);
/// The longest pause after failures.
const MOST_BACKOFF: Duration = Duration::from_secs(300);
/// A backlog of this many epochs makes the oracle unhealthy.
const UNHEALTHY_BACKLOG: u64 = 3;
/// Failures in a row of an epoch's inputs after which it is marked unpublishable.
const INPUT_ATTEMPTS: u32 = 3;
/// `oldest_unpublished` before the first scan: retention keeps everything.
const NOT_SCANNED: i64 = -2;
/// How long the first scan may take before `/healthz` says it has not happened.
const UNSCANNED_GRACE: Duration = Duration::from_secs(300);

/// What the publisher stands at, for `/healthz`, `/metrics` and the API.
pub struct PublishStatus {
    created: std::time::Instant,
    url: String,
    /// Where the published marks are (`<epoch>.published`).
    mark_dir: PathBuf,
    /// Epochs with a report computed here and no bundle published.
    backlog: AtomicU64,
    /// The newest epoch published (-1: none).
    newest_published: AtomicI64,
    /// The oldest epoch not yet published (-1: none; [`NOT_SCANNED`] before the first scan):
    /// retention keeps its inputs.
    oldest_unpublished: AtomicI64,
    last_error: Mutex<Option<String>>,
    /// The epochs published (for the report stored now), read by the API.
    published: Mutex<std::collections::BTreeSet<u64>>,
    /// Epochs that cannot be published, and why.
    unpublishable: Mutex<std::collections::BTreeMap<u64, String>>,
    scan: Mutex<Scan>,
    /// Attempts that failed since the oracle started (each retried).
    failures: AtomicU64,
    metrics: Arc<Metrics>,
}

impl PublishStatus {
    pub fn new(url: &str, mark_dir: PathBuf, metrics: Arc<Metrics>) -> Self {
        PublishStatus {
            created: std::time::Instant::now(),
            url: url.to_string(),
            mark_dir,
            backlog: AtomicU64::new(0),
            newest_published: AtomicI64::new(-1),
            oldest_unpublished: AtomicI64::new(NOT_SCANNED),
            last_error: Mutex::new(None),
            published: Mutex::new(Default::default()),
            unpublishable: Mutex::new(Default::default()),
            scan: Mutex::new(Scan::default()),
            failures: AtomicU64::new(0),
            metrics,
        }
    }

    /// The bundle store's URL (without credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backlog(&self) -> u64 {
        self.backlog.load(Ordering::Relaxed)
    }

    pub fn newest_published(&self) -> Option<u64> {
        u64::try_from(self.newest_published.load(Ordering::Relaxed)).ok()
    }

    /// Where `epoch`'s published mark is.
    pub fn mark_path(&self, epoch: u64) -> PathBuf {
        self.mark_dir.join(format!("{epoch}.published"))
    }

    /// Whether `epoch`'s bundle is published (for the report stored now), as the publisher
    /// last found.
    pub fn is_published(&self, epoch: u64) -> bool {
        self.published
            .lock()
            .expect("publish status lock")
            .contains(&epoch)
    }

    /// Records that `epoch`'s bundle is published (for the report stored now).
    fn note_published(&self, epoch: u64) {
        self.published
            .lock()
            .expect("publish status lock")
            .insert(epoch);
        self.newest_published
            .fetch_max(i64::try_from(epoch).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    /// Why `epoch` cannot be published, if it cannot.
    pub fn unpublishable(&self, epoch: u64) -> Option<String> {
        self.unpublishable
            .lock()
            .expect("publish status lock")
            .get(&epoch)
            .cloned()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().expect("publish status lock").clone()
    }
}

impl StageHealth for PublishStatus {
    fn health(&self) -> HealthReport {
        let mut report = HealthReport::default();
        let backlog = self.backlog();
        let last_error = self.last_error();
        // Until its first scan the publisher holds every epoch's inputs from retention: a
        // scan that keeps failing must not hold them silently.
        if self.oldest_unpublished.load(Ordering::Relaxed) == NOT_SCANNED
            && self.created.elapsed() > UNSCANNED_GRACE
        {
            report.problems.push(format!(
                "publish: the stored reports could not be scanned for {} s (retention keeps every epoch meanwhile){}",
                self.created.elapsed().as_secs(),
                last_error
                    .as_ref()
                    .map(|error| format!(": {error}"))
                    .unwrap_or_default()
            ));
        }
        if backlog >= UNHEALTHY_BACKLOG {
            report.problems.push(format!(
                "publish: {backlog} epochs' bundles are not published{}",
                last_error
                    .as_ref()
                    .map(|error| format!(" (last error: {error})"))
                    .unwrap_or_default()
            ));
        }
        let unpublishable = self
            .unpublishable
            .lock()
            .expect("publish status lock")
            .clone();
        report.fields.insert(
            "publish".into(),
            json!({
                "url": self.url,
                "backlog_epochs": backlog,
                "newest_published_epoch": self.newest_published(),
                "last_error": last_error,
                "unpublishable_epochs": unpublishable,
            }),
        );
        report
    }

    fn update_gauges(&self) {
        self.metrics.set_gauge(
            "groundwork_publish_backlog_epochs",
            "Epochs whose report is stored and whose bundle is not published.",
            i64::try_from(self.backlog()).unwrap_or(i64::MAX),
        );
        self.metrics.set_gauge(
            "groundwork_publish_epoch",
            "The newest epoch whose bundle is published (-1: none).",
            self.newest_published.load(Ordering::Relaxed),
        );
        self.metrics.set_gauge(
            "groundwork_publish_failures",
            "Attempts to publish an epoch bundle that failed since the oracle started (each retried).",
            i64::try_from(self.failures.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
        );
    }
}

impl KeepsInputs for PublishStatus {
    fn oldest_needed(&self) -> Option<u64> {
        match self.oldest_unpublished.load(Ordering::Relaxed) {
            NOT_SCANNED => Some(0),
            oldest => u64::try_from(oldest).ok(),
        }
    }
}

/// Publishes epoch bundles (see the module documentation).
pub struct Publisher {
    pub store: Store,
    pub shared: Option<Arc<SharedInput>>,
    pub chain_view_dir: PathBuf,
    pub reports: Reports,
    pub bundles: BundleStore,
    /// Staging files (the published marks are in the status's folder).
    pub work_dir: PathBuf,
    pub status: Arc<PublishStatus>,
}

/// Why an epoch's bundle was not published: its inputs are not what its report names (the
/// report, parameters or snapshot gone or different, a merged set gone, another union) —
/// after [`INPUT_ATTEMPTS`] in a row it is set aside — or anything else, the bundle store or
/// a local disk (retried for as long as it takes).
#[derive(Debug)]
pub enum PublishFailure {
    Inputs(anyhow::Error),
    Transient(anyhow::Error),
}

impl std::fmt::Display for PublishFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublishFailure::Inputs(error) => write!(f, "the epoch's inputs: {error:#}"),
            PublishFailure::Transient(error) => write!(f, "the bundle store: {error:#}"),
        }
    }
}

/// What the publisher found in its scans: the reports scanned, the epochs waiting, and how
/// often each epoch's inputs failed in a row.
#[derive(Default)]
struct Scan {
    through: Option<u64>,
    pending: std::collections::BTreeSet<u64>,
    input_failures: std::collections::BTreeMap<u64, u32>,
}

/// A file's size and modification time (ns), as a mark records them.
fn file_stamp(path: &Path) -> std::io::Result<String> {
    let meta = std::fs::metadata(path)?;
    let modified = meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    Ok(format!("{}:{modified}", meta.len()))
}

/// What publishing one epoch did.
#[derive(Debug)]
pub struct Published {
    pub epoch: u64,
    pub index: BundleIndex,
    pub outcome: IndexOutcome,
}

impl Publisher {
    /// Runs until stopped: publishes every stored report's bundle, oldest first.
    pub async fn run(self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(PUBLISH_EVERY, FirstRound::Now, stop);
        let mut failures = 0u32;
        let mut next_try = tokio::time::Instant::now();
        while ticker.next().await {
            if tokio::time::Instant::now() < next_try {
                continue;
            }
            match self.publish_pending().await {
                Ok(published) => {
                    failures = 0;
                    *self.status.last_error.lock().expect("publish status lock") = None;
                    for done in published {
                        tracing::info!(
                            epoch = done.epoch,
                            store = %self.bundles.url(),
                            index = %groundwork_oracle_bundle::index_path(done.epoch),
                            bundle = %done.index.digest_hex(),
                            outcome = ?done.outcome,
                            "epoch bundle published"
                        );
                    }
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let pause = PUBLISH_EVERY
                        .saturating_mul(2u32.saturating_pow(failures.min(10)))
                        .min(MOST_BACKOFF);
                    next_try = tokio::time::Instant::now() + pause;
                    let message = format!("{error:#}");
                    tracing::warn!(error = %message, retry_in_s = pause.as_secs(), "publishing an epoch bundle failed; trying again");
                    self.status.failures.fetch_add(1, Ordering::Relaxed);
                    *self.status.last_error.lock().expect("publish status lock") = Some(message);
                }
            }
        }
        Ok(())
    }

    /// The epochs whose report was computed here and whose bundle is not published (for the
    /// report stored now), oldest first. The first call reads every report's mark; later
    /// calls only the reports stored since (a stored report is never replaced while the
    /// oracle runs).
    pub fn pending(&self) -> Result<Vec<u64>> {
        let epochs = self.reports.epochs()?;
        let mut scan = self.status.scan.lock().expect("publish status lock");
        let scanned_through = scan.through;
        for &epoch in epochs
            .iter()
            .filter(|epoch| scanned_through.is_none_or(|through| **epoch > through))
        {
            if !params_path(&self.reports, epoch).exists() {
                continue; // adopted from a peer: not computed here
            }
            if let Ok(reason) = std::fs::read_to_string(self.unpublishable_path(epoch)) {
                self.status
                    .unpublishable
                    .lock()
                    .expect("publish status lock")
                    .insert(epoch, reason);
                continue;
            }
            if self.marked(epoch)? {
                self.status.note_published(epoch);
            } else {
                scan.pending.insert(epoch);
            }
        }
        if let Some(newest) = epochs.last() {
            scan.through = Some(*newest);
        }
        scan.pending
            .retain(|epoch| epochs.binary_search(epoch).is_ok());
        Ok(scan.pending.iter().copied().collect())
    }

    fn mark_path(&self, epoch: u64) -> PathBuf {
        self.status.mark_path(epoch)
    }

    fn unpublishable_path(&self, epoch: u64) -> PathBuf {
        self.work_dir.join(format!("{epoch}.unpublishable"))
    }

    /// Whether `epoch`'s mark names the report stored now: by the report file's size and
    /// modification time when they match, else by its digest.
    fn marked(&self, epoch: u64) -> Result<bool> {
        let Ok(mark) = std::fs::read_to_string(self.mark_path(epoch)) else {
            return Ok(false);
        };
        let mut fields = mark.split_whitespace();
        let digest = fields.next().unwrap_or_default();
        let file = self.reports.path(epoch);
        if let (Some(stamp), Ok(now)) = (fields.next(), file_stamp(&file)) {
            if stamp == now {
                return Ok(true);
            }
        }
        let Some(bytes) = self.reports.load_bytes(epoch)? else {
            return Ok(false);
        };
        Ok(hex::encode(Sha256::digest(&bytes)) == digest)
    }

    /// Publishes every pending epoch, oldest first; stops at the first failure (an epoch
    /// whose inputs failed [`INPUT_ATTEMPTS`] times in a row is set aside as unpublishable
    /// and the next one goes on).
    pub async fn publish_pending(&self) -> Result<Vec<Published>> {
        let pending = self.pending()?;
        self.note_pending(&pending);
        let mut published = Vec::new();
        for (done, epoch) in pending.iter().enumerate() {
            match self.publish(*epoch).await {
                Ok(bundle) => published.push(bundle),
                Err(PublishFailure::Transient(error)) => return Err(error),
                Err(PublishFailure::Inputs(error)) => {
                    let attempts = {
                        let mut scan = self.status.scan.lock().expect("publish status lock");
                        let attempts = scan.input_failures.entry(*epoch).or_default();
                        *attempts += 1;
                        *attempts
                    };
                    if attempts < INPUT_ATTEMPTS {
                        return Err(error);
                    }
                    let reason = format!("{error:#}");
                    tracing::error!(
                        epoch,
                        %reason,
                        "this epoch's bundle cannot be published: its inputs failed {INPUT_ATTEMPTS} times in a row; it is set aside and the next epochs go on"
                    );
                    let path = self.unpublishable_path(*epoch);
                    groundwork_oracle_core::files::write_atomically(&path, reason.as_bytes())
                        .map_err(|error| anyhow::anyhow!("writing {}: {error}", path.display()))?;
                    self.status
                        .unpublishable
                        .lock()
                        .expect("publish status lock")
                        .insert(*epoch, reason);
                }
            }
            {
                let mut scan = self.status.scan.lock().expect("publish status lock");
                scan.pending.remove(epoch);
                scan.input_failures.remove(epoch);
            }
            self.note_pending(&pending[done + 1..]);
        }
        Ok(published)
    }

    fn note_pending(&self, pending: &[u64]) {
        self.status
            .backlog
            .store(pending.len() as u64, Ordering::Relaxed);
        self.status.oldest_unpublished.store(
            pending
                .first()
                .map_or(-1, |epoch| i64::try_from(*epoch).unwrap_or(i64::MAX)),
            Ordering::Relaxed,
        );
    }

    /// Publishes `epoch`'s bundle and marks it published.
    pub async fn publish(&self, epoch: u64) -> Result<Published, PublishFailure> {
        let (index, parts, staging, report_bytes) = self.prepare(epoch).await?;
        let outcome = self.bundles.publish(&index, parts).await;
        let _ = std::fs::remove_file(&staging);
        let outcome = outcome.map_err(|error| PublishFailure::Transient(error.into()))?;
        let mark = self.mark_path(epoch);
        let stamp = file_stamp(&self.reports.path(epoch)).unwrap_or_default();
        groundwork_oracle_core::files::write_atomically(
            &mark,
            format!("{} {stamp}", hex::encode(Sha256::digest(&report_bytes))).as_bytes(),
        )
        .map_err(|error| {
            PublishFailure::Transient(anyhow::anyhow!("writing {}: {error}", mark.display()))
        })?;
        self.status.note_published(epoch);
        Ok(Published {
            epoch,
            index,
            outcome,
        })
    }

    /// `epoch`'s index and parts, the union written into a staging file (removed again when
    /// anything fails), and the report's bytes. A failure that says the epoch's inputs are
    /// not what its report names (the report, its parameters or snapshot gone or different, a
    /// merged set gone, another union) is an input failure; any other (a disk, a read) is
    /// retried as long as it takes.
    async fn prepare(
        &self,
        epoch: u64,
    ) -> Result<(BundleIndex, Vec<(PartName, PartSource)>, PathBuf, Vec<u8>), PublishFailure> {
        let inputs = |message: String| PublishFailure::Inputs(anyhow::anyhow!(message));
        let retry = |error: anyhow::Error| PublishFailure::Transient(error);
        let report_bytes = self
            .reports
            .load_bytes(epoch)
            .map_err(|error| retry(error.into()))?
            .ok_or_else(|| inputs(format!("epoch {epoch}'s report disappeared")))?;
        let report = groundwork_oracle_rewards::report::decode_report(&report_bytes, epoch)
            .map_err(|error| inputs(format!("epoch {epoch}'s report: {error}")))?;
        let params_file = params_path(&self.reports, epoch);
        let params_bytes = match std::fs::read(&params_file) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(inputs(format!("{} is gone", params_file.display())))
            }
            Err(error) => {
                return Err(retry(anyhow::anyhow!(
                    "reading {}: {error}",
                    params_file.display()
                )))
            }
        };
        let snapshot = stored_snapshot(&self.chain_view_dir, epoch)
            .map_err(|error| retry(error.into()))?
            .ok_or_else(|| inputs(format!("epoch {epoch}'s chain snapshot is gone")))?;
        let snapshot_bytes = snapshot.encode();
        if snapshot.digest() != report.snapshot_digest {
            return Err(inputs(format!(
                "epoch {epoch}'s stored chain snapshot is not the one its report was computed over"
            )));
        }
        std::fs::create_dir_all(&self.work_dir).map_err(|error| {
            retry(anyhow::anyhow!(
                "creating {}: {error}",
                self.work_dir.display()
            ))
        })?;
        let staging = self.work_dir.join(format!("{epoch}.telemetry.tmp"));
        let written = self.write_union(&report, &snapshot, &staging).await;
        let (telemetry_digest, telemetry_bytes) = match written {
            Ok(written) => written,
            Err(error) => {
                let _ = std::fs::remove_file(&staging);
                return Err(error);
            }
        };
        let index = BundleIndex {
            format: BUNDLE_FORMAT.into(),
            epoch,
            root: hex::encode(report.rewards.root),
            cumulative_total: report.rewards.cumulative_total,
            parts: vec![
                PartRef::with_digest(PartName::Telemetry, telemetry_digest, telemetry_bytes),
                PartRef::of(PartName::Snapshot, &snapshot_bytes),
                PartRef::of(PartName::Report, &report_bytes),
                PartRef::of(PartName::Params, &params_bytes),
            ],
        };
        let parts = vec![
            (PartName::Telemetry, PartSource::File(staging.clone())),
            (PartName::Snapshot, PartSource::Bytes(snapshot_bytes)),
            (PartName::Report, PartSource::Bytes(report_bytes.clone())),
            (PartName::Params, PartSource::Bytes(params_bytes)),
        ];
        Ok((index, parts, staging, report_bytes))
    }

    /// Writes the union `report` was computed over into `path` as one epoch stream, from the
    /// inputs it names; checked against the report's union manifest. Returns its SHA-256 and
    /// length.
    async fn write_union(
        &self,
        report: &EpochReport,
        snapshot: &groundwork_oracle_rewards::snapshot::ChainSnapshot,
        path: &Path,
    ) -> Result<(String, u64), PublishFailure> {
        use anyhow::Context;
        let retry = |error: anyhow::Error| PublishFailure::Transient(error);
        let epoch = report.epoch;
        let mut peer_sources = Vec::new();
        if let Some(shared) = &self.shared {
            for set in shared.pulled(epoch).map_err(|error| retry(error.into()))? {
                if report.inputs.contains(&input_set(&set.manifest)) {
                    peer_sources.push(shared.records(&set).map_err(|error| retry(error.into()))?);
                }
            }
        }
        if peer_sources.len() + 1 < report.inputs.len() {
            return Err(PublishFailure::Inputs(anyhow::anyhow!(
                "epoch {epoch} merged {} sets, and only {} are here (a peer's set is gone)",
                report.inputs.len(),
                peer_sources.len() + 1
            )));
        }
        let own = self.store.stream_epoch(epoch);
        let union = Manifest {
            epoch,
            messages: report.union.messages,
            conflicts: report.union.conflicts,
            digest: report.union.digest.clone(),
        };
        let snapshot = snapshot.clone();
        let path = path.to_path_buf();
        let written = tokio::task::spawn_blocking(move || -> Result<_, PublishFailure> {
            let write = || -> Result<(Manifest, String, u64)> {
                let file = std::fs::File::create(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                let mut out =
                    HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
                out.write_all(&encode_stream_head(&union))?;
                let mut merged = MergedRecords::new(epoch, own, peer_sources)?;
                let mut filter = UnionFilter::new(&snapshot);
                let mut written = ManifestBuilder::new(epoch);
                let mut buffer = Vec::new();
                while let Some(record) = merged.next_record()? {
                    if !filter.admits(&record.device) {
                        continue;
                    }
                    written.add(record.kind, &record.device, record.seq, &record.hash);
                    buffer.clear();
                    encode_stream_record(&record, &mut buffer);
                    out.write_all(&buffer)?;
                }
                let (inner, digest, length) = out.finish();
                let file = inner.into_inner().map_err(|error| error.into_error())?;
                file.sync_all()?;
                Ok((written.finish(), digest, length))
            };
            let (written, digest, length) = write().map_err(PublishFailure::Transient)?;
            if written != union {
                return Err(PublishFailure::Inputs(anyhow::anyhow!(
                    "epoch {epoch}'s inputs no longer make the union its report was computed over ({} messages, {} conflicts, digest {}; the report: {} messages, {} conflicts, digest {})",
                    written.messages,
                    written.conflicts,
                    written.digest,
                    union.messages,
                    union.conflicts,
                    union.digest
                )));
            }
            Ok((digest, length))
        })
        .await
        .map_err(|error| retry(error.into()))?;
        written
    }
}

/// A writer that hashes and counts what passes through it.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    length: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            length: 0,
        }
    }

    fn finish(self) -> (W, String, u64) {
        (self.inner, hex::encode(self.hasher.finalize()), self.length)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        self.length += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// `GET /v1/epochs/{epoch}/bundle`: where `epoch`'s bundle is — the bundle store's public URL
/// and the index's path under it — and whether it is published yet (404 when this oracle has
/// no report of the epoch). What `groundwork rewards verify-epoch --oracle` reads.
pub fn router(status: Arc<PublishStatus>, public_url: String, reports: Reports) -> axum::Router {
    use axum::extract::{Path as RoutePath, State};
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    struct Where {
        status: Arc<PublishStatus>,
        public_url: String,
        reports: Reports,
    }
    async fn bundle(State(at): State<Arc<Where>>, RoutePath(epoch): RoutePath<u64>) -> Response {
        let refusal = groundwork_oracle_core::api::refusal;
        match at.reports.path(epoch).try_exists() {
            Ok(true) => {
                let published = at.status.is_published(epoch);
                let computed_here = params_path(&at.reports, epoch).exists();
                axum::Json(json!({
                    "epoch": epoch,
                    "store": at.public_url,
                    "index": groundwork_oracle_bundle::index_path(epoch),
                    "published": published,
                    "computed_here": computed_here,
                    "backlog_epochs": at.status.backlog(),
                    "unpublishable": at.status.unpublishable(epoch),
                }))
                .into_response()
            }
            Ok(false) => refusal(
                StatusCode::NOT_FOUND,
                "no_report",
                format!("this oracle has no report of epoch {epoch}"),
            ),
            Err(error) => refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_unreadable",
                error.to_string(),
            ),
        }
    }
    axum::Router::new()
        .route("/v1/epochs/{epoch}/bundle", axum::routing::get(bundle))
        .with_state(Arc::new(Where {
            status,
            public_url,
            reports,
        }))
}
