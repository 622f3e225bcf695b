//! The chain view as a stage of the oracle: it opens the view (resumed from its files or
//! loaded from chain), follows the programs' finalized events with the task
//! [`ChainViewStage::run`] ("chain-view"), keeps the device set ingest reads, makes each closed
//! epoch's chain snapshot, and serves `GET /v1/epochs/{n}/chain`. Its health: the device set
//! is stale after three missed polls.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use axum::extract::{Path as RoutePath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use groundwork_oracle_chain::{Chain, EpochTiming};
use groundwork_oracle_core::api::{octet_stream, refusal, wants_bytes};
use groundwork_oracle_core::clock::Clock;
use groundwork_oracle_core::devices::DeviceCache;
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::tasks::{FirstRound, HealthReport, StageHealth, StopSignal, Ticker};
use serde_json::json;

use crate::snapshot::Standing;
use crate::{stored_snapshot, ChainView};

/// The chain's epoch timing (fixed on chain at initialize), kept in `timing_file` so the oracle
/// starts again while its RPC endpoints are down.
pub async fn epoch_timing(chain: &dyn Chain, timing_file: &Path) -> Result<EpochTiming> {
    Ok(match chain.epoch_timing().await {
        Ok(timing) => {
            groundwork_oracle_core::files::write_atomically(
                timing_file,
                format!("{} {}", timing.genesis_unix_s, timing.epoch_len_s).as_bytes(),
            )
            .with_context(|| format!("writing {}", timing_file.display()))?;
            timing
        }
        Err(error) => {
            let kept = std::fs::read_to_string(timing_file).ok().and_then(|text| {
                let mut fields = text.split_whitespace().map(str::parse::<i64>);
                Some(EpochTiming {
                    genesis_unix_s: fields.next()?.ok()?,
                    epoch_len_s: fields.next()?.ok()?,
                })
            });
            match kept {
                Some(timing) => {
                    tracing::warn!(%error, "the chain is unreachable: using the epoch timing kept from an earlier start");
                    timing
                }
                None => {
                    return Err(anyhow!(error)).context(
                        "reading the epoch timing from chain (is network.rpc_urls reachable and the network bootstrapped?)",
                    )
                }
            }
        }
    })
}

/// The epoch schedule from the chain's timing and the configured grace.
pub fn epoch_schedule(timing: &EpochTiming, seal_grace: Duration) -> Result<EpochSchedule> {
    let grace_ms = i64::try_from(seal_grace.as_millis()).context("seal_grace is too long")?;
    EpochSchedule::new(
        timing.genesis_unix_s.saturating_mul(1_000),
        timing.epoch_len_s.saturating_mul(1_000),
        grace_ms,
    )
    .ok_or_else(|| {
        anyhow!(
            "the chain's epoch length {} s is not positive",
            timing.epoch_len_s
        )
    })
}

/// Where the chain view stands, for `/healthz`: when it last polled the chain successfully
/// (unix ms), the slot it stands at, the endpoint's finalized slot then, and the newest epoch
/// whose snapshot is made (-1: none yet).
pub struct Freshness {
    last_ms: AtomicI64,
    slot: AtomicU64,
    finalized: AtomicU64,
    newest_snapshot: AtomicI64,
}

impl Default for Freshness {
    fn default() -> Self {
        Freshness {
            last_ms: AtomicI64::new(0),
            slot: AtomicU64::new(0),
            finalized: AtomicU64::new(0),
            newest_snapshot: AtomicI64::new(-1),
        }
    }
}

impl Freshness {
    pub fn mark(&self, now_ms: i64) {
        self.last_ms.store(now_ms, Ordering::Relaxed);
    }

    pub fn last_ms(&self) -> i64 {
        self.last_ms.load(Ordering::Relaxed)
    }

    fn record_position(&self, slot: u64, finalized: u64) {
        self.slot.store(slot, Ordering::Relaxed);
        self.finalized.store(finalized.max(slot), Ordering::Relaxed);
    }

    fn record_snapshot(&self, epoch: u64) {
        self.newest_snapshot
            .fetch_max(i64::try_from(epoch).unwrap_or(i64::MAX), Ordering::Relaxed);
    }
}

/// The chain view stage's health: whether its device set is fresh, and where it stands.
pub struct ChainViewHealth {
    freshness: Arc<Freshness>,
    devices: Arc<DeviceCache>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    stale_after_ms: i64,
}

impl ChainViewHealth {
    fn device_set_age_ms(&self) -> i64 {
        self.clock.now_ms() - self.freshness.last_ms()
    }
}

impl StageHealth for ChainViewHealth {
    fn update_gauges(&self) {
        self.metrics.set_gauge(
            "groundwork_device_set_age_seconds",
            "Seconds since the device set was last loaded from chain.",
            self.device_set_age_ms() / 1_000,
        );
    }

    fn health(&self) -> HealthReport {
        let age_ms = self.device_set_age_ms();
        let mut report = HealthReport::default();
        if age_ms > self.stale_after_ms {
            report.problems.push(format!(
                "chain: the device set was last loaded {} s ago",
                age_ms / 1_000
            ));
        }
        let slot = self.freshness.slot.load(Ordering::Relaxed);
        report
            .fields
            .insert("devices".into(), json!(self.devices.len()));
        report
            .fields
            .insert("device_set_age_ms".into(), json!(age_ms));
        report.fields.insert(
            "chain_view".into(),
            json!({
                "slot": slot,
                "lag_slots": self.freshness.finalized.load(Ordering::Relaxed).saturating_sub(slot),
                "newest_snapshot_epoch": match self.freshness.newest_snapshot.load(Ordering::Relaxed) {
                    -1 => serde_json::Value::Null,
                    epoch => json!(epoch),
                },
            }),
        );
        report
    }
}

/// The chain view stage: the view, the device set it keeps for ingest, and how often it polls.
pub struct ChainViewStage {
    view: ChainView,
    devices: Arc<DeviceCache>,
    freshness: Arc<Freshness>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    period: Duration,
    dir: PathBuf,
}

impl ChainViewStage {
    /// Opens the view in `dir` over `rpc_urls`: resumed from its files, or loaded once from
    /// chain (an unreachable chain is then an error). At first start it goes back to the start
    /// of the epoch before the current one (whose root may still be voted); older epochs are
    /// reached on demand.
    pub async fn open(
        rpc_urls: &[String],
        dir: PathBuf,
        timing: EpochTiming,
        schedule: &EpochSchedule,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        period: Duration,
    ) -> Result<Self> {
        let first_epoch = schedule
            .epoch_of(clock.now_ms())
            .unwrap_or(0)
            .saturating_sub(1);
        let mut view = ChainView::open(rpc_urls, &dir, timing, first_epoch)
            .with_context(|| format!("opening the chain view in {}", dir.display()))?;
        if !view.is_loaded() {
            let report = view
                .poll()
                .await
                .context("loading the chain (is network.rpc_urls reachable?)")?;
            tracing::info!(slot = report.slot, "chain view loaded from chain");
        }
        let device_set = view.devices();
        tracing::info!(
            devices = device_set.len(),
            slot = view.position().map_or(0, |position| position.slot),
            "device set ready"
        );
        let freshness = Arc::new(Freshness::default());
        freshness.mark(clock.now_ms());
        if let Some(position) = view.position() {
            freshness.record_position(position.slot, position.slot);
        }
        Ok(ChainViewStage {
            view,
            devices: Arc::new(DeviceCache::new(device_set)),
            freshness,
            clock,
            metrics,
            period,
            dir,
        })
    }

    /// The device set ingest reads (kept current by [`Self::run`]).
    pub fn devices(&self) -> Arc<DeviceCache> {
        self.devices.clone()
    }

    /// The stage's health: stale after three missed polls.
    pub fn health(&self) -> Arc<ChainViewHealth> {
        Arc::new(ChainViewHealth {
            freshness: self.freshness.clone(),
            devices: self.devices.clone(),
            clock: self.clock.clone(),
            metrics: self.metrics.clone(),
            stale_after_ms: i64::try_from(self.period.as_millis().saturating_mul(3))
                .unwrap_or(i64::MAX),
        })
    }

    /// `GET /v1/epochs/{n}/chain`, served from the stored snapshots.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/v1/epochs/{epoch}/chain", get(chain_snapshot))
            .with_state(Arc::new(self.dir.clone()))
    }

    /// The "chain-view" task: follows the programs' finalized events every period, applying
    /// each device change to the set ingest reads and making the chain snapshot of each epoch
    /// closed on chain; a failed poll keeps the set and says so (`/healthz` reports it stale
    /// after three missed periods).
    pub async fn run(mut self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(self.period, FirstRound::AfterOnePeriod, stop);
        while ticker.next().await {
            self.poll_once().await;
        }
        Ok(())
    }

    async fn poll_once(&mut self) {
        let report = match self.view.poll().await {
            Ok(report) => report,
            Err(error) => {
                tracing::warn!(%error, "chain view poll failed; keeping the device set");
                return;
            }
        };
        if report.full_load {
            self.devices.replace(self.view.devices());
        } else if !report.changes.is_empty() {
            self.devices.apply(&report.changes);
            tracing::info!(
                changes = report.changes.len(),
                slot = report.slot,
                "device set updated from finalized events"
            );
        }
        self.freshness.mark(self.clock.now_ms());
        self.freshness
            .record_position(report.slot, report.finalized);
        self.make_snapshots().await;
        self.metrics.set_gauge(
            "groundwork_chain_view_bytes_read",
            "Bytes of JSON the RPC endpoints sent the chain view since the oracle started.",
            i64::try_from(self.view.bytes_read()).unwrap_or(i64::MAX),
        );
        self.metrics.set_gauge(
            "groundwork_chain_view_slot",
            "The finalized slot the chain view has applied.",
            i64::try_from(report.slot).unwrap_or(i64::MAX),
        );
        self.metrics.set_gauge(
            "groundwork_chain_view_lag_slots",
            "Finalized slots the chain view has yet to apply.",
            i64::try_from(report.finalized.saturating_sub(report.slot)).unwrap_or(i64::MAX),
        );
    }

    /// Makes (and stores) the chain snapshot of every epoch closed on chain since the view's
    /// base; a failure is logged and tried again at the next poll.
    async fn make_snapshots(&mut self) {
        let base_epoch = self.view.base_epoch().unwrap_or(0);
        for epoch in self.view.closed_epochs() {
            if epoch < base_epoch {
                continue;
            }
            match self.view.snapshot(epoch).await {
                Ok(Some(snapshot)) => {
                    tracing::info!(
                        epoch,
                        devices = snapshot.devices.len(),
                        operators = snapshot.operators.len(),
                        digest = %snapshot.digest_hex(),
                        "chain snapshot made"
                    );
                    self.freshness.record_snapshot(epoch);
                    self.metrics.set_gauge(
                        "groundwork_chain_view_snapshot_epoch",
                        "The newest epoch whose chain snapshot is made.",
                        i64::try_from(epoch).unwrap_or(i64::MAX),
                    );
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(epoch, %error, "making the chain snapshot failed; trying again next poll");
                    return;
                }
            }
        }
    }
}

/// `GET /v1/epochs/{n}/chain`: the chain snapshot of epoch `n` (the chain input of its
/// verified work) — a JSON summary with its digest, or with `Accept:
/// application/octet-stream` its canonical bytes, whose SHA-256 is the digest.
async fn chain_snapshot(
    State(dir): State<Arc<PathBuf>>,
    RoutePath(epoch): RoutePath<u64>,
    headers: HeaderMap,
) -> Response {
    let stored = tokio::task::spawn_blocking(move || stored_snapshot(dir.as_path(), epoch)).await;
    let snapshot = match stored {
        Ok(Ok(Some(snapshot))) => snapshot,
        Ok(Ok(None)) => return refusal(
            StatusCode::NOT_FOUND,
            "snapshot_not_made",
            format!("epoch {epoch}'s chain snapshot is not made: it is made once the epoch is closed on chain and the oracle's chain view has followed its close"),
        ),
        Ok(Err(error)) => {
            tracing::error!(epoch, %error, "reading a stored chain snapshot");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "snapshot_unreadable",
                error.to_string(),
            );
        }
        Err(error) => {
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                error.to_string(),
            )
        }
    };
    if wants_bytes(&headers) {
        return octet_stream(snapshot.encode());
    }
    let suspended = snapshot
        .devices
        .iter()
        .filter(|device| {
            device
                .standing
                .iter()
                .any(|span| matches!(span.standing, Standing::Suspended { .. }))
        })
        .count();
    let params = snapshot.params;
    Json(json!({
        "epoch": snapshot.epoch,
        "start_ts": snapshot.start_ts,
        "end_ts": snapshot.end_ts,
        "digest": snapshot.digest_hex(),
        "params": {
            "closed_at": params.closed_at,
            "minted": params.minted,
            "device_share": params.device_share,
            "staker_share": params.staker_share,
            "treasury_share": params.treasury_share,
            "device_pool_cumulative": params.device_pool_cumulative,
            "split_bps": [params.devices_bps, params.stakers_bps, params.treasury_bps],
        },
        "credit_prices": snapshot.credit_prices.iter().map(|price| json!({
            "purchased_at": price.purchased_at,
            "network_tokens_burned": price.network_tokens_burned,
            "credits_minted": price.credits_minted,
            "exact": price.exact.map(|exact| json!({
                "price": exact.price,
                "exponent": exact.exponent,
                "usd_per_credit_e9": exact.usd_per_credit_e9,
                "token_decimals": exact.token_decimals,
            })),
        })).collect::<Vec<_>>(),
        "classes": snapshot.classes.iter().map(|class| json!({
            "class_id": class.class_id,
            "reward_weight_bps": class.reward_weight_bps,
        })).collect::<Vec<_>>(),
        "operators": snapshot.operators.len(),
        "devices": snapshot.devices.len(),
        "devices_suspended_during_epoch": suspended,
        "credits_paid": snapshot.devices.iter().map(|device| u128::from(device.credits_paid)).sum::<u128>().to_string(),
    }))
    .into_response()
}
