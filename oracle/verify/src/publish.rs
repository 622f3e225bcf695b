//! The "publisher" task (SPEC 4.6): once an epoch's report is stored, its epoch bundle — the
//! union it was computed over as one epoch stream, the chain snapshot's and the report's
//! canonical bytes, the `[verify]` parameters it was computed with, and the index — goes to
//! the configured bundle store (`groundwork_oracle_bundle`).
//!
//! The union is written again from the inputs the report names (this oracle's sealed set and
//! the peers' pulled sets, merged as the verify stage merged them) and checked against the
//! report's union manifest before anything is uploaded. A published epoch is marked in
//! `<data_dir>/bundles-work/<epoch>.published` with its report's digest: a restart publishes
//! what is missing, and an epoch computed again (after a veto) is published again. A failure
//! is retried with a growing pause (up to five minutes); retention keeps the inputs of every
//! epoch not yet published. Reports this oracle adopted from a peer are not published: it did
//! not compute them.

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
use groundwork_oracle_store::manifest::{encode_stream_head, encode_stream_record, Manifest, ManifestBuilder};
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

/// What the publisher stands at, for `/healthz`, `/metrics` and the API.
pub struct PublishStatus {
    url: String,
    /// Where the published marks are (`<epoch>.published`).
    mark_dir: PathBuf,
    /// Epochs with a report computed here and no bundle published.
    backlog: AtomicU64,
    /// The newest epoch published (-1: none).
    newest_published: AtomicI64,
    /// The oldest epoch not yet published (-1: none): retention keeps its inputs.
    oldest_unpublished: AtomicI64,
    last_error: Mutex<Option<String>>,
    /// Attempts that failed since the oracle started (each retried).
    failures: AtomicU64,
    metrics: Arc<Metrics>,
}

impl PublishStatus {
    pub fn new(url: &str, mark_dir: PathBuf, metrics: Arc<Metrics>) -> Self {
        PublishStatus {
            url: url.to_string(),
            mark_dir,
            backlog: AtomicU64::new(0),
            newest_published: AtomicI64::new(-1),
            oldest_unpublished: AtomicI64::new(-1),
            last_error: Mutex::new(None),
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

    /// Whether `epoch`'s bundle is published for the report whose canonical bytes are
    /// `report_bytes`.
    pub fn is_published(&self, epoch: u64, report_bytes: &[u8]) -> bool {
        let digest = hex::encode(Sha256::digest(report_bytes));
        std::fs::read_to_string(self.mark_path(epoch)).is_ok_and(|mark| mark.trim() == digest)
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
        if backlog >= UNHEALTHY_BACKLOG {
            report.problems.push(format!(
                "publish: {backlog} epochs' bundles are not published{}",
                last_error
                    .as_ref()
                    .map(|error| format!(" (last error: {error})"))
                    .unwrap_or_default()
            ));
        }
        report.fields.insert(
            "publish".into(),
            json!({
                "url": self.url,
                "backlog_epochs": backlog,
                "newest_published_epoch": self.newest_published(),
                "last_error": last_error,
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
        u64::try_from(self.oldest_unpublished.load(Ordering::Relaxed)).ok()
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
    /// report stored now), oldest first.
    pub fn pending(&self) -> Result<Vec<u64>> {
        let mut pending = Vec::new();
        for epoch in self.reports.epochs()? {
            if !params_path(&self.reports, epoch).exists() {
                continue;
            }
            let Some(bytes) = self.reports.load_bytes(epoch)? else {
                continue;
            };
            if !self.status.is_published(epoch, &bytes) {
                pending.push(epoch);
            }
        }
        Ok(pending)
    }

    fn mark_path(&self, epoch: u64) -> PathBuf {
        self.status.mark_path(epoch)
    }

    /// Publishes every pending epoch, oldest first; stops at the first failure.
    pub async fn publish_pending(&self) -> Result<Vec<Published>> {
        let pending = self.pending()?;
        self.note_pending(&pending);
        let mut published = Vec::new();
        for (done, epoch) in pending.iter().enumerate() {
            published.push(self.publish(*epoch).await?);
            self.note_pending(&pending[done + 1..]);
            self.status
                .newest_published
                .fetch_max(i64::try_from(*epoch).unwrap_or(i64::MAX), Ordering::Relaxed);
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
    pub async fn publish(&self, epoch: u64) -> Result<Published> {
        use anyhow::Context;
        let report_bytes = self
            .reports
            .load_bytes(epoch)?
            .with_context(|| format!("epoch {epoch}'s report disappeared"))?;
        let report = self
            .reports
            .load(epoch)?
            .with_context(|| format!("epoch {epoch}'s report disappeared"))?;
        let params_file = params_path(&self.reports, epoch);
        let params_bytes = std::fs::read(&params_file)
            .with_context(|| format!("reading {}", params_file.display()))?;
        let snapshot = stored_snapshot(&self.chain_view_dir, epoch)?
            .with_context(|| format!("epoch {epoch}'s chain snapshot is gone"))?;
        let snapshot_bytes = snapshot.encode();
        anyhow::ensure!(
            snapshot.digest() == report.snapshot_digest,
            "epoch {epoch}'s stored chain snapshot is not the one its report was computed over"
        );
        std::fs::create_dir_all(&self.work_dir)
            .with_context(|| format!("creating {}", self.work_dir.display()))?;
        let staging = self.work_dir.join(format!("{epoch}.telemetry.tmp"));
        let (telemetry_digest, telemetry_bytes) =
            self.write_union(&report, &snapshot, &staging).await?;
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
        let outcome = self
            .bundles
            .publish(
                &index,
                vec![
                    (PartName::Telemetry, PartSource::File(staging.clone())),
                    (PartName::Snapshot, PartSource::Bytes(snapshot_bytes)),
                    (PartName::Report, PartSource::Bytes(report_bytes.clone())),
                    (PartName::Params, PartSource::Bytes(params_bytes)),
                ],
            )
            .await;
        let _ = std::fs::remove_file(&staging);
        let outcome = outcome?;
        let mark = self.mark_path(epoch);
        groundwork_oracle_core::files::write_atomically(
            &mark,
            hex::encode(Sha256::digest(&report_bytes)).as_bytes(),
        )
        .with_context(|| format!("writing {}", mark.display()))?;
        Ok(Published {
            epoch,
            index,
            outcome,
        })
    }

    /// Writes the union `report` was computed over into `path` as one epoch stream, from the
    /// inputs it names; checked against the report's union manifest. Returns its SHA-256 and
    /// length.
    async fn write_union(
        &self,
        report: &EpochReport,
        snapshot: &groundwork_oracle_rewards::snapshot::ChainSnapshot,
        path: &Path,
    ) -> Result<(String, u64)> {
        use anyhow::Context;
        let epoch = report.epoch;
        let mut peer_sources = Vec::new();
        if let Some(shared) = &self.shared {
            for set in shared.pulled(epoch)? {
                if report.inputs.contains(&input_set(&set.manifest)) {
                    peer_sources.push(shared.records(&set)?);
                }
            }
        }
        anyhow::ensure!(
            peer_sources.len() + 1 >= report.inputs.len(),
            "epoch {epoch} merged {} sets, and only {} are here (a peer's set is gone)",
            report.inputs.len(),
            peer_sources.len() + 1
        );
        let own = self.store.stream_epoch(epoch);
        let union = Manifest {
            epoch,
            messages: report.union.messages,
            conflicts: report.union.conflicts,
            digest: report.union.digest.clone(),
        };
        let snapshot = snapshot.clone();
        let path = path.to_path_buf();
        tokio::task::spawn_blocking(move || -> Result<(String, u64)> {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut out = HashingWriter::new(std::io::BufWriter::with_capacity(1 << 20, file));
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
            let written = written.finish();
            anyhow::ensure!(
                written == union,
                "epoch {epoch}'s inputs no longer make the union its report was computed over ({} messages, {} conflicts, digest {}; the report: {} messages, {} conflicts, digest {})",
                written.messages,
                written.conflicts,
                written.digest,
                union.messages,
                union.conflicts,
                union.digest
            );
            let (inner, digest, length) = out.finish();
            let file = inner.into_inner().map_err(|error| error.into_error())?;
            file.sync_all()?;
            Ok((digest, length))
        })
        .await?
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
        match at.reports.load_bytes(epoch) {
            Ok(Some(bytes)) => {
                let published = at.status.is_published(epoch, &bytes);
                let computed_here = params_path(&at.reports, epoch).exists();
                axum::Json(json!({
                    "epoch": epoch,
                    "store": at.public_url,
                    "index": groundwork_oracle_bundle::index_path(epoch),
                    "published": published,
                    "computed_here": computed_here,
                    "backlog_epochs": at.status.backlog(),
                }))
                .into_response()
            }
            Ok(None) => refusal(
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
