//! The store's own tasks: the "sealer" seals each epoch at its end plus the grace, and
//! "retention" deletes the raw messages of settled epochs (and whatever other per-epoch data
//! registered with it, such as peers' pulled sets).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use groundwork_oracle_chain::Chain;
use groundwork_oracle_core::clock::Clock;
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::tasks::{FirstRound, HealthReport, StageHealth, StopSignal, Ticker};

use crate::Store;

/// The store's health: it takes writes (a failed write stops it until restarted).
impl StageHealth for Store {
    fn health(&self) -> HealthReport {
        HealthReport {
            problems: self
                .health()
                .err()
                .map(|reason| format!("store: {reason}"))
                .into_iter()
                .collect(),
            ..HealthReport::default()
        }
    }
}

/// How often the sealer looks at the clock.
const SEAL_CHECK: Duration = Duration::from_millis(500);

/// How often retention looks at the chain.
const RETENTION_CHECK: Duration = Duration::from_secs(60);

/// How often the sealer measures what the store holds on disk, and the longest a
/// measurement may take.
const STORE_SIZE_EVERY: Duration = Duration::from_secs(60);
const STORE_SIZE_TIMEOUT: Duration = Duration::from_secs(30);

/// The "sealer" task: seals every epoch whose seal time has come, as epochs end. A seal that
/// fails stops the oracle (its input would be undefined). It also keeps the store's gauges:
/// its size on disk (every [`STORE_SIZE_EVERY`] and after each seal) and how long the last
/// seal took.
pub struct Sealer {
    pub store: Store,
    pub schedule: EpochSchedule,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

impl Sealer {
    pub async fn run(self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(SEAL_CHECK, FirstRound::Now, stop);
        // Before genesis no epoch is sealed: -1, so the gauge is there from the start.
        self.metrics.set_gauge(
            "groundwork_newest_sealed_epoch",
            "The newest sealed epoch (-1: none).",
            -1,
        );
        self.metrics.set_gauge(
            "groundwork_seal_duration_ms",
            "How long the newest seal took, its manifests and indexes written (0: none yet).",
            0,
        );
        let mut sized_at: Option<std::time::Instant> = None;
        let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
        while ticker.next().await {
            if sized_at.is_none_or(|at| at.elapsed() >= STORE_SIZE_EVERY) {
                self.measure_size(&measuring);
                sized_at = Some(std::time::Instant::now());
            }
            let Some(newest) = self.schedule.newest_sealed(self.clock.now_ms()) else {
                continue;
            };
            let started = std::time::Instant::now();
            let sealed = self
                .store
                .seal_through(newest)
                .await
                .with_context(|| format!("sealing the epochs through {newest}"))?;
            if !sealed.is_empty() {
                self.metrics.set_gauge(
                    "groundwork_seal_duration_ms",
                    "How long the newest seal took, its manifests and indexes written (0: none yet).",
                    i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
                );
                self.measure_size(&measuring);
                sized_at = Some(std::time::Instant::now());
            }
            for manifest in sealed {
                tracing::info!(
                    epoch = manifest.epoch,
                    messages = manifest.messages,
                    conflicts = manifest.conflicts,
                    digest = %manifest.digest,
                    "epoch sealed"
                );
            }
            self.metrics.set_gauge(
                "groundwork_newest_sealed_epoch",
                "The newest sealed epoch (-1: none).",
                i64::try_from(newest).unwrap_or(i64::MAX),
            );
        }
        Ok(())
    }

    /// Sets `groundwork_store_bytes` from a task of its own (a walk of a large directory or a
    /// slow database never delays a seal; one measurement at a time, each bounded by
    /// [`STORE_SIZE_TIMEOUT`]; a failed one is logged and leaves the last value).
    fn measure_size(&self, measuring: &Arc<std::sync::atomic::AtomicBool>) {
        use std::sync::atomic::Ordering;
        if measuring.swap(true, Ordering::AcqRel) {
            return;
        }
        let store = self.store.clone();
        let metrics = self.metrics.clone();
        let measuring = measuring.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(STORE_SIZE_TIMEOUT, store.bytes_on_disk()).await {
                Ok(Ok(bytes)) => metrics.set_gauge(
                    "groundwork_store_bytes",
                    "What the store holds on disk: its segment files, or its PostgreSQL tables with their indexes.",
                    i64::try_from(bytes).unwrap_or(i64::MAX),
                ),
                Ok(Err(error)) => tracing::warn!(%error, "measuring the store's size"),
                Err(_) => tracing::warn!("measuring the store's size took longer than {STORE_SIZE_TIMEOUT:?}"),
            }
            measuring.store(false, Ordering::Release);
        });
    }
}

/// Other per-epoch data retention deletes with the raw messages (a stage registers it).
pub trait PruneSettled: Send + Sync {
    /// What it is, for the log ("peers' sets").
    fn what(&self) -> &'static str;
    /// Deletes its data of the epochs up to `through`; returns how many epochs it removed.
    fn prune_through(&self, through: u64) -> Result<usize>;
}

/// A stage that still needs the inputs of some epochs (retention keeps them).
pub trait KeepsInputs: Send + Sync {
    /// The oldest epoch whose raw messages (and peers' sets) must stay, if any.
    fn oldest_needed(&self) -> Option<u64>;
}

/// The "retention" task: deletes the raw messages of epochs `retention_epochs` before the
/// newest active root (and the registered per-epoch data with them), never an epoch a stage
/// in `keep` still needs. A failed delete stops the oracle; an unreadable chain is tried again
/// later.
pub struct Retention {
    pub store: Store,
    pub chain: Arc<dyn Chain>,
    pub retention_epochs: u64,
    pub also: Vec<Arc<dyn PruneSettled>>,
    pub keep: Vec<Arc<dyn KeepsInputs>>,
}

impl Retention {
    pub async fn run(self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(RETENTION_CHECK, FirstRound::Now, stop);
        while ticker.next().await {
            let active = match self.chain.active_root_epoch().await {
                Ok(active) => active,
                Err(error) => {
                    tracing::warn!(%error, "retention: cannot read the active root; trying later");
                    continue;
                }
            };
            let Some(mut through) =
                active.and_then(|active| active.checked_sub(self.retention_epochs))
            else {
                continue;
            };
            // An epoch a stage still needs stays, and every epoch after it.
            if let Some(needed) = self
                .keep
                .iter()
                .filter_map(|keep| keep.oldest_needed())
                .min()
            {
                match needed.checked_sub(1) {
                    Some(before) => through = through.min(before),
                    None => continue,
                }
            }
            let pruned = self
                .store
                .prune_through(through)
                .await
                .with_context(|| format!("pruning epochs through {through}"))?;
            if !pruned.epochs.is_empty() {
                tracing::info!(epochs = ?pruned.epochs, bytes = pruned.bytes, "pruned settled epochs");
            }
            for other in &self.also {
                let removed = other
                    .prune_through(through)
                    .with_context(|| format!("pruning {} through {through}", other.what()))?;
                if removed > 0 {
                    tracing::info!(epochs = removed, through, "pruned {}", other.what());
                }
            }
        }
        Ok(())
    }
}
