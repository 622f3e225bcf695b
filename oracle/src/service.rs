//! The oracle as one call: open the store, read the chain (epoch timing, onboarded devices),
//! and run the long-lived tasks under one supervisor — the HTTP API, the device refresh, the
//! sealer (each epoch sealed at its end plus the grace), the retention pruner and the
//! rate-limit sweeper — until `shutdown` resolves or a task fails. The `groundwork-oracle`
//! binary runs it until SIGTERM; `groundwork localnet` runs it in-process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use groundwork_oracle_chain::{Chain, EpochTiming, RpcChain};
use groundwork_oracle_chainview::ChainView;
use groundwork_oracle_core::clock::{Clock, SystemClock};
use groundwork_oracle_core::devices::DeviceCache;
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::secret::redact_url;
use groundwork_oracle_ingest::Ingestor;
use groundwork_oracle_store::postgres::PgStore;
use groundwork_oracle_store::segments::{SegmentConfig, SegmentStore};
use groundwork_oracle_store::Store;
use groundwork_oracle_submit::{
    State as SubmitState, Step, SubmitRpc, SubmitSettings, Submitter, Vote,
};
use groundwork_oracle_verify::shared::{PullOutcome, SharedInput};
use groundwork_oracle_verify::stage::{next_epoch_to_compute, EpochReport, Reports, Verifier};
use serde_json::json;

use crate::config::OracleConfig;
use crate::supervisor::{StopSignal, Supervisor, TaskStates};

/// Opens the configured store: segment files in the data directory, or PostgreSQL.
pub async fn open_store(config: &OracleConfig) -> Result<Store> {
    let url = config.store.url.expose();
    if url.is_empty() {
        let mut segments = SegmentConfig::new(config.store.data_dir.join("telemetry"));
        segments.commit_window = config.store.commit_window;
        segments.checkpoint_every = config.store.checkpoint_every;
        segments.max_conflicts_per_device_epoch = config.store.max_conflicts_per_device_epoch;
        let dir = segments.dir.clone();
        let store = tokio::task::spawn_blocking(move || SegmentStore::open(segments))
            .await
            .context("opening the store")?
            .with_context(|| format!("opening the store in {}", dir.display()))?;
        return Ok(Store::Segments(Arc::new(store)));
    }
    let store = PgStore::open(
        url,
        config.store.max_conflicts_per_device_epoch,
        config.store.commit_window,
    )
    .await
    .with_context(|| format!("opening the store {}", redact_url(url)))?;
    Ok(Store::Postgres(store))
}

/// The chain's epoch timing (fixed on chain at initialize), kept in `timing_file` so the oracle
/// starts again while its RPC endpoints are down.
pub async fn epoch_timing(chain: &dyn Chain, timing_file: &std::path::Path) -> Result<EpochTiming> {
    Ok(match chain.epoch_timing().await {
        Ok(timing) => {
            if let Some(parent) = timing_file.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            std::fs::write(
                timing_file,
                format!("{} {}", timing.genesis_unix_s, timing.epoch_len_s),
            )
            .with_context(|| format!("writing {}", timing_file.display()))?;
            timing
        }
        Err(error) => {
            let kept = std::fs::read_to_string(timing_file).ok().and_then(|text| {
                let mut fields = text.split_whitespace().map(str::parse::<i64>);
                Some(groundwork_oracle_chain::EpochTiming {
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

/// Runs the service with `config` until `shutdown` resolves or a task fails.
pub async fn serve(
    config: OracleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::default());
    let store = open_store(&config).await?;
    let chain: Arc<dyn Chain> = Arc::new(RpcChain::new(&config.network.rpc_urls));
    let view_dir = config.store.data_dir.join("chain-view");
    let timing = epoch_timing(chain.as_ref(), &view_dir.join("timing")).await?;
    let schedule = epoch_schedule(&timing, config.network.seal_grace)?;
    // The chain view: resumed from its files, or loaded once from chain. At first start it
    // goes back to the start of the epoch before the current one (whose root may still be
    // voted); older epochs are reached on demand.
    let first_epoch = schedule
        .epoch_of(clock.now_ms())
        .unwrap_or(0)
        .saturating_sub(1);
    let mut view = ChainView::open(&config.network.rpc_urls, &view_dir, timing, first_epoch)
        .with_context(|| format!("opening the chain view in {}", view_dir.display()))?;
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
    let devices = Arc::new(DeviceCache::new(device_set));
    let shared_input = if config.shared_input.peers.is_empty() {
        None
    } else {
        let shared = SharedInput::new(
            config.store.data_dir.join("peers"),
            &config.shared_input.peers,
            config.network.registry,
            schedule,
            config.shared_input.peer_wait,
            config.shared_input.timeout,
        )
        .context("shared input")?;
        tracing::info!(
            peers = ?shared.peer_names().collect::<Vec<_>>(),
            "each epoch is computed over this oracle's and these peers' sealed sets"
        );
        Some(Arc::new(shared))
    };
    let (submitter, submit_status) = match &config.submit {
        Some(submit) => {
            let oracle = groundwork_oracle_submit::read_keypair(&submit.keypair)
                .context("[submit] keypair")?;
            let submitter = Submitter::new(
                SubmitRpc::new(&config.network.rpc_urls),
                oracle,
                config.store.data_dir.join("submit"),
                SubmitSettings {
                    priority_fee_floor: submit.priority_fee_floor,
                    priority_fee_ceiling: submit.priority_fee_ceiling,
                },
            );
            let status = Arc::new(SubmitStatus::new(
                submitter.oracle(),
                submitter.submissions().clone(),
            ));
            check_membership(&submitter, &status).await;
            (Some(submitter), Some(status))
        }
        None => {
            tracing::info!(
                "no [submit] section: this oracle computes and serves rewards but votes nothing"
            );
            (None, None)
        }
    };
    let freshness = Arc::new(Freshness::default());
    freshness.mark(clock.now_ms());
    if let Some(position) = view.position() {
        freshness.record_position(position.slot, position.slot);
    }
    let ingestor = Arc::new(Ingestor::new(
        config.network.registry,
        config.limits.clone(),
        schedule,
        devices.clone(),
        clock.clone(),
        store.clone(),
        metrics.clone(),
    ));

    let mut supervisor = Supervisor::new();
    let health = Arc::new(Health {
        tasks: supervisor.states(),
        store: store.clone(),
        freshness: freshness.clone(),
        devices: devices.clone(),
        clock: clock.clone(),
        stale_after_ms: i64::try_from(config.network.device_refresh.as_millis() * 3)
            .unwrap_or(i64::MAX),
        metrics: metrics.clone(),
        chain_view_dir: view_dir.clone(),
        reports_dir: config.store.data_dir.join("reports"),
        report_cache: ReportCache::default(),
        chain: chain.clone(),
        verify_params: config.verify.clone(),
        submit_status: submit_status.clone(),
    });
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("listening on {}", config.http.listen))?;
    tracing::info!(
        listen = %config.http.listen,
        network = %config.network.registry,
        epoch_length_ms = schedule.length_ms,
        seal_grace_ms = schedule.grace_ms,
        "serving"
    );
    let app = groundwork_oracle_ingest::api::router(ingestor.clone())
        .merge(service_routes(health))
        .into_make_service_with_connect_info::<SocketAddr>();
    let mut stop = supervisor.stop_signal();
    supervisor.spawn("http", async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.stopped().await })
            .await
            .context("serving HTTP")?;
        tracing::info!("HTTP stopped: in-flight requests finished");
        Ok(())
    });
    supervisor.spawn(
        "chain-view",
        follow_chain(
            view,
            devices,
            freshness,
            clock.clone(),
            metrics.clone(),
            config.network.device_refresh,
            supervisor.stop_signal(),
        ),
    );
    let mut verifier = Verifier::new(
        store.clone(),
        view_dir.clone(),
        config.store.data_dir.join("reports"),
        config.verify.clone(),
    );
    verifier = verifier.with_chain(chain.clone());
    if let Some(shared) = &shared_input {
        verifier = verifier.with_shared_input(shared.clone());
        supervisor.spawn(
            "peer-puller",
            pull_peer_sets(
                shared.clone(),
                store.clone(),
                Reports::new(config.store.data_dir.join("reports")),
                view_dir.clone(),
                schedule,
                clock.clone(),
                metrics.clone(),
                config.shared_input.pull_every,
                supervisor.stop_signal(),
            ),
        );
    }
    if let Some(submitter) = submitter {
        supervisor.spawn(
            "submitter",
            submit_votes(
                submitter,
                Reports::new(config.store.data_dir.join("reports")),
                config
                    .submit
                    .as_ref()
                    .is_some_and(|submit| submit.activate_roots),
                config
                    .submit
                    .as_ref()
                    .map(|submit| {
                        submit
                            .relay_claims_for
                            .iter()
                            .map(|key| anchor_lang::prelude::Pubkey::new_from_array(key.0))
                            .collect()
                    })
                    .unwrap_or_default(),
                submit_status.clone().expect("set with the submitter"),
                metrics.clone(),
                supervisor.stop_signal(),
            ),
        );
    }
    supervisor.spawn(
        "verifier",
        verify_epochs(
            verifier,
            clock.clone(),
            metrics.clone(),
            supervisor.stop_signal(),
        ),
    );
    supervisor.spawn(
        "sealer",
        seal_epochs(
            store.clone(),
            schedule,
            clock.clone(),
            metrics.clone(),
            supervisor.stop_signal(),
        ),
    );
    supervisor.spawn(
        "retention",
        prune_settled_epochs(
            store.clone(),
            shared_input.clone(),
            chain,
            config.store.retention_epochs,
            supervisor.stop_signal(),
        ),
    );
    let sweeper = ingestor.clone();
    let mut stop = supervisor.stop_signal();
    supervisor.spawn("limit-sweeper", async move {
        let mut ticker = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = ticker.tick() => sweeper.sweep_limits(),
                () = stop.stopped() => return Ok(()),
            }
        }
    });
    let outcome = supervisor.run_until(shutdown).await;
    drop(ingestor);
    if let Store::Segments(segments) = store {
        // The last holder closes the store: a final checkpoint shortens the next start.
        tokio::task::spawn_blocking(move || drop(segments))
            .await
            .ok();
    }
    outcome
}

/// Follows the programs' finalized events every `period`, applying each device change to the
/// set ingest reads and making the chain snapshot of each epoch closed on chain; a failed poll
/// keeps the set and says so (`/healthz` reports it stale after three missed periods).
async fn follow_chain(
    mut view: ChainView,
    devices: Arc<DeviceCache>,
    freshness: Arc<Freshness>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    period: Duration,
    mut stop: StopSignal,
) -> Result<()> {
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return Ok(()),
        }
        match view.poll().await {
            Ok(report) => {
                if report.full_load {
                    devices.replace(view.devices());
                } else if !report.changes.is_empty() {
                    devices.apply(&report.changes);
                    tracing::info!(
                        changes = report.changes.len(),
                        slot = report.slot,
                        "device set updated from finalized events"
                    );
                }
                freshness.mark(clock.now_ms());
                freshness.record_position(report.slot, report.finalized);
                make_snapshots(&mut view, &metrics, &freshness).await;
                metrics.set_gauge(
                    "groundwork_chain_view_bytes_read",
                    "Bytes of JSON the RPC endpoints sent the chain view since the oracle started.",
                    i64::try_from(view.bytes_read()).unwrap_or(i64::MAX),
                );
                metrics.set_gauge(
                    "groundwork_chain_view_slot",
                    "The finalized slot the chain view has applied.",
                    i64::try_from(report.slot).unwrap_or(i64::MAX),
                );
                metrics.set_gauge(
                    "groundwork_chain_view_lag_slots",
                    "Finalized slots the chain view has yet to apply.",
                    i64::try_from(report.finalized.saturating_sub(report.slot)).unwrap_or(i64::MAX),
                );
            }
            Err(error) => tracing::warn!(%error, "chain view poll failed; keeping the device set"),
        }
    }
}

/// Makes (and stores) the chain snapshot of every epoch closed on chain since the view's base;
/// a failure is logged and tried again at the next poll.
async fn make_snapshots(view: &mut ChainView, metrics: &Metrics, freshness: &Freshness) {
    let base_epoch = view.base_epoch().unwrap_or(0);
    for epoch in view.closed_epochs() {
        if epoch < base_epoch {
            continue;
        }
        match view.snapshot(epoch).await {
            Ok(Some(snapshot)) => {
                tracing::info!(
                    epoch,
                    devices = snapshot.devices.len(),
                    operators = snapshot.operators.len(),
                    digest = %snapshot.digest_hex(),
                    "chain snapshot made"
                );
                freshness.record_snapshot(epoch);
                metrics.set_gauge(
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

/// Computes and stores the verified work of every epoch that is sealed and whose chain
/// snapshot is made, in order. A failure is logged and tried again; a determinism alarm (the
/// newest stored report computed again differs) is logged loudly and counted, and the stored
/// report stays.
async fn verify_epochs(
    mut verifier: Verifier,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    mut stop: StopSignal,
) -> Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_secs(2));
    let mut last_waiting = String::new();
    let mut diverged_logged = false;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return Ok(()),
        }
        let pass = match verifier.pass(clock.now_ms()).await {
            Ok(pass) => pass,
            Err(error) => {
                tracing::warn!(%error, "verifying epochs failed; trying again");
                continue;
            }
        };
        if let Some((epoch, stored, again)) = pass.determinism_alarm {
            tracing::error!(
                epoch,
                stored = %hex(&stored),
                recomputed = %hex(&again),
                "DETERMINISM ALARM: the stored report of this epoch, computed again from the same inputs, differs; the stored report is kept"
            );
            metrics.set_gauge(
                "groundwork_verify_determinism_alarms",
                "Stored reports that differed when computed again (should be 0).",
                1,
            );
        }
        if let Some((epoch, peer)) = &pass.adopted {
            tracing::warn!(
                epoch,
                peer = %peer,
                "this oracle has no report of the epoch before its first: adopted the peer's (its totals match what the chain paid)"
            );
        }
        if let Some(unchecked) = &pass.unchecked {
            tracing::warn!(%unchecked, "the newest stored report was not computed again at start");
        }
        if let Some((epoch, own, active)) = pass.diverged {
            if !diverged_logged {
                tracing::error!(
                    epoch,
                    this_oracle = %hex(&own),
                    active_on_chain = %hex(&active),
                    "DIVERGED: this oracle's report of the chain's active epoch has another root; nothing more is computed on its totals"
                );
                diverged_logged = true;
            }
            metrics.set_gauge(
                "groundwork_verify_diverged_from_chain",
                "1 while this oracle's report of the active epoch has another root than the chain's.",
                1,
            );
        } else if diverged_logged {
            diverged_logged = false;
            metrics.set_gauge(
                "groundwork_verify_diverged_from_chain",
                "1 while this oracle's report of the active epoch has another root than the chain's.",
                0,
            );
        }
        for report in &pass.stored {
            if report.missing_peer_sets > 0 {
                let peers = verifier
                    .reports()
                    .load_peers(report.epoch)
                    .unwrap_or_default();
                tracing::warn!(
                    epoch = report.epoch,
                    missing = ?peers.missing,
                    "computed without these peers' sets: they were not delivered before shared_input.peer_wait ended"
                );
            }
            let rewards = &report.rewards;
            let counts = rewards.device_counts();
            tracing::info!(
                epoch = report.epoch,
                root = %hex(&rewards.root),
                devices = rewards.rows.len(),
                rewarded = counts.rewarded,
                zeroed_for_fraud = counts.zeroed,
                pool = rewards.pool,
                dust = rewards.dust,
                cumulative_total = rewards.cumulative_total,
                inputs = report.inputs.len(),
                union_messages = report.union.messages,
                "epoch verified and its report stored"
            );
            metrics.set_gauge(
                "groundwork_verify_epoch",
                "The newest epoch whose verified work is stored.",
                i64::try_from(report.epoch).unwrap_or(i64::MAX),
            );
        }
        if let Some(waiting) = pass.waiting {
            if waiting != last_waiting {
                tracing::info!(waiting = %waiting, "verify is waiting");
                last_waiting = waiting;
            }
        }
    }
}

/// Pulls the peers' sealed sets of every epoch this oracle has sealed and not yet computed,
/// until each is pulled whole (a failure is logged when it changes, and asked again every
/// `pull_every`).
#[allow(clippy::too_many_arguments)]
async fn pull_peer_sets(
    shared: Arc<SharedInput>,
    store: Store,
    reports: Reports,
    chain_view_dir: std::path::PathBuf,
    schedule: EpochSchedule,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    pull_every: Duration,
    mut stop: StopSignal,
) -> Result<()> {
    let mut ticker = tokio::time::interval(pull_every);
    let mut last_failures = std::collections::BTreeMap::<(u64, String), String>::new();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return Ok(()),
        }
        let Some(newest_sealed) = schedule.newest_sealed(clock.now_ms()) else {
            continue;
        };
        // From the epoch the verify stage computes next (pulls of later sealed epochs go on
        // while it waits for an earlier one).
        let first = match next_epoch_to_compute(&reports, &chain_view_dir) {
            Ok(Some(first)) => first,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(%error, "shared input: cannot tell the next epoch to verify; trying again");
                continue;
            }
        };
        for epoch in first..=newest_sealed {
            match store.manifest(epoch).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(epoch, %error, "shared input: this oracle's seal is unreadable");
                    break;
                }
            }
            for (peer, outcome) in shared.pull_epoch(&store, epoch).await {
                let key = (epoch, peer.clone());
                match outcome {
                    Ok(PullOutcome::Pulled(set)) => {
                        last_failures.remove(&key);
                        tracing::info!(
                            epoch,
                            peer = %peer,
                            messages = set.manifest.messages,
                            conflicts = set.manifest.conflicts,
                            digest = %set.manifest.digest,
                            new_to_this_oracle = set.kept,
                            refused = ?set.refused,
                            "pulled a peer's sealed set"
                        );
                        metrics.set_gauge(
                            "groundwork_shared_input_epoch",
                            "The newest epoch a peer's sealed set was pulled for.",
                            i64::try_from(epoch).unwrap_or(i64::MAX),
                        );
                    }
                    Ok(PullOutcome::NotSealed(_)) => {}
                    Err(error) => {
                        let failure = error.to_string();
                        if last_failures.get(&key) != Some(&failure) {
                            tracing::warn!(epoch, peer = %peer, error = %failure, "pulling a peer's sealed set failed; asking again");
                            last_failures.insert(key, failure);
                        }
                    }
                }
            }
        }
        last_failures.retain(|(epoch, _), _| *epoch >= first);
    }
}

/// What `/healthz` and `GET /v1/submissions` say of the vote.
struct SubmitStatus {
    oracle: String,
    /// The submission files.
    submissions: groundwork_oracle_submit::Submissions,
    /// 1 in the on-chain oracle set, 0 not, -1 not known yet.
    in_set: AtomicI64,
    /// What the stage waits for, in words.
    waiting: std::sync::Mutex<String>,
    /// Epochs whose vote failed for good: `/healthz` reports them.
    problems: std::sync::Mutex<Vec<String>>,
}

impl SubmitStatus {
    fn new(
        oracle: anchor_lang::prelude::Pubkey,
        submissions: groundwork_oracle_submit::Submissions,
    ) -> Self {
        SubmitStatus {
            oracle: oracle.to_string(),
            submissions,
            in_set: AtomicI64::new(-1),
            waiting: std::sync::Mutex::new(String::new()),
            problems: std::sync::Mutex::new(Vec::new()),
        }
    }
}

/// Reads the oracle set and records whether this oracle's key is in it, saying clearly when
/// it is not (a key outside the set votes nothing). Returns whether it is.
async fn check_membership(submitter: &Submitter, status: &SubmitStatus) -> bool {
    let oracle = submitter.oracle();
    match submitter.reward_config().await {
        Ok(config) => {
            let member = config.oracles.contains(&oracle);
            let before = status.in_set.swap(i64::from(member), Ordering::Relaxed);
            if member && before != 1 {
                tracing::info!(%oracle, quorum = config.quorum, oracles = config.oracles.len(), "this oracle's key is in the on-chain oracle set: it votes each epoch's root");
            }
            if !member && before != 0 {
                tracing::error!(
                    %oracle,
                    set = ?config.oracles.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "this oracle's key is NOT in the on-chain oracle set: it votes nothing until the authority adds it (groundwork authority set-oracles)"
                );
            }
            member
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the oracle set; trying again");
            status.in_set.load(Ordering::Relaxed) == 1
        }
    }
}

/// How often the submit stage looks at the chain.
const SUBMIT_EVERY: Duration = Duration::from_secs(2);

/// Votes every stored report's root not yet settled, oldest first, a step each round (see
/// `groundwork_oracle_submit`), and with `activate_roots` activates roots whose challenge
/// period has ended.
#[allow(clippy::too_many_arguments)]
async fn submit_votes(
    submitter: Submitter,
    reports: Reports,
    activate_roots: bool,
    relay_for: Vec<anchor_lang::prelude::Pubkey>,
    status: Arc<SubmitStatus>,
    metrics: Arc<Metrics>,
    mut stop: StopSignal,
) -> Result<()> {
    let mut ticker = tokio::time::interval(SUBMIT_EVERY);
    let mut last_waiting = String::new();
    let mut relayed = std::collections::HashMap::new();
    let mut memory = SubmitMemory::default();
    let mut relay_leaves = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return Ok(()),
        }
        let member = check_membership(&submitter, &status).await;
        metrics.set_gauge(
            "groundwork_submit_in_oracle_set",
            "1 when this oracle's key is in the on-chain oracle set.",
            i64::from(member),
        );
        let waiting = match submit_round(
            &submitter,
            &reports,
            member,
            activate_roots,
            &metrics,
            &status,
            &mut memory,
        )
        .await
        {
            Ok(waiting) => waiting,
            Err(error) => format!("a round failed and is tried again: {error}"),
        };
        if !relay_for.is_empty() {
            if let Err(error) = relay_claims(
                &submitter,
                &reports,
                &relay_for,
                &mut relayed,
                &mut relay_leaves,
            )
            .await
            {
                tracing::warn!(%error, "relaying claims failed; trying again");
            }
        }
        if waiting != last_waiting {
            tracing::info!(waiting = %waiting, "submit");
            last_waiting.clone_from(&waiting);
        }
        *status.waiting.lock().expect("status lock") = waiting;
    }
}

/// The active epoch's leaves as this oracle's report holds them, and their tree.
struct RelayLeaves {
    epoch: u64,
    cumulative: std::collections::BTreeMap<anchor_lang::prelude::Pubkey, u64>,
    tree: groundwork_merkle::RewardTree,
}

/// How long a relayed claim is given to land before it is sent again.
const RELAY_RETRY: Duration = Duration::from_secs(30);

/// Claims for the opted-in recipients what the active root owes them beyond what they were
/// paid, when this oracle's report of the active epoch is the active root (its leaves and
/// proofs are then the chain's). `relayed` remembers what was sent and when, so a claim is
/// not sent again while it may still land.
async fn relay_claims(
    submitter: &Submitter,
    reports: &Reports,
    recipients: &[anchor_lang::prelude::Pubkey],
    relayed: &mut std::collections::HashMap<
        anchor_lang::prelude::Pubkey,
        (u64, std::time::Instant),
    >,
    leaves: &mut Option<RelayLeaves>,
) -> Result<()> {
    let config = submitter.reward_config().await?;
    let Some(active) = config.active_root_epoch else {
        return Ok(());
    };
    // The active epoch's leaves and tree, built once per active root.
    if leaves.as_ref().map(|leaves| leaves.epoch) != Some(active) {
        let Some(report) = reports.load(active)? else {
            return Ok(());
        };
        let (tree, _) = groundwork_oracle_verify::cumulative_tree(&report.rewards.cumulative)?;
        *leaves = Some(RelayLeaves {
            epoch: active,
            cumulative: report.rewards.cumulative.clone(),
            tree,
        });
    }
    let Some(RelayLeaves {
        cumulative, tree, ..
    }) = leaves.as_ref()
    else {
        return Ok(());
    };
    if tree.root() != config.active_root {
        return Ok(());
    }
    for recipient in recipients {
        let Some(leaf) = cumulative.get(recipient).copied() else {
            continue;
        };
        if relayed
            .get(recipient)
            .is_some_and(|(amount, at)| *amount == leaf && at.elapsed() < RELAY_RETRY)
        {
            continue;
        }
        let Some((_, proof)) = tree.proof_for(&recipient.to_bytes()) else {
            continue;
        };
        // One recipient's failure does not hold up the others.
        let relay = async {
            if submitter.claimed(recipient).await? >= leaf {
                return Ok(None);
            }
            submitter.relay_claim(recipient, leaf, proof).await
        };
        match relay.await {
            Ok(Some(signature)) => {
                tracing::info!(%recipient, cumulative = leaf, %signature, "claimed for an opted-in recipient");
                relayed.insert(*recipient, (leaf, std::time::Instant::now()));
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%recipient, %error, "relaying a claim failed; trying again")
            }
        }
    }
    Ok(())
}

/// One round of the submit stage: what it waits for, in words.
/// What the submit stage keeps between rounds, per unsettled epoch.
#[derive(Default)]
struct SubmitMemory {
    /// Failed steps in a row, and when the next may run (RPC errors back off exponentially,
    /// from one round to a minute).
    backoff: std::collections::HashMap<u64, (u32, std::time::Instant)>,
    /// The vote of each stored report (a stored report never changes: it is read and
    /// digested once, not every round).
    votes: std::collections::HashMap<u64, Vote>,
}

async fn submit_round(
    submitter: &Submitter,
    reports: &Reports,
    member: bool,
    activate_roots: bool,
    metrics: &Metrics,
    status: &SubmitStatus,
    memory: &mut SubmitMemory,
) -> Result<String> {
    let SubmitMemory { backoff, votes } = memory;
    let config = submitter.reward_config().await?;
    let first = config.active_root_epoch.map_or(0, |active| active + 1);
    votes.retain(|epoch, _| *epoch >= first);
    let epochs: Vec<u64> = reports
        .epochs()?
        .into_iter()
        .filter(|epoch| *epoch >= first)
        .collect();
    let mut waiting = Vec::new();
    let mut pending = 0i64;
    let mut problems = Vec::new();
    let mut by_state: std::collections::BTreeMap<&'static str, i64> = [
        "computed",
        "signed",
        "sent",
        "vetoed",
        "confirmed",
        "superseded",
        "failed",
    ]
    .into_iter()
    .map(|state| (state, 0))
    .collect();
    for epoch in &epochs {
        if activate_roots {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| {
                    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
                });
            if let Err(error) = submitter.activate_if_due(*epoch, now).await {
                tracing::warn!(epoch, %error, "activating the root failed; trying again");
            }
        }
        if !member {
            continue;
        }
        let vote = match votes.get(epoch) {
            Some(vote) => vote.clone(),
            None => {
                let Some(report) = reports.load(*epoch)? else {
                    continue;
                };
                let vote = Vote {
                    epoch: *epoch,
                    root: report.rewards.root,
                    cumulative_total: report.rewards.cumulative_total,
                    leaf_count: u64::try_from(report.rewards.cumulative.len()).unwrap_or(u64::MAX),
                    report_digest: report.digest(),
                };
                votes.insert(*epoch, vote.clone());
                vote
            }
        };
        if let Some((failures, retry_at)) = backoff.get(epoch) {
            if std::time::Instant::now() < *retry_at {
                waiting.push(format!(
                    "epoch {epoch}: a retry after {failures} failed step{} (backing off)",
                    if *failures == 1 { "" } else { "s" }
                ));
                pending += 1;
                continue;
            }
        }
        let stepped = submitter.step(&vote).await;
        match &stepped {
            Err(_) => {
                let failures = backoff.get(epoch).map_or(0, |(failures, _)| *failures) + 1;
                let wait = SUBMIT_EVERY
                    .saturating_mul(1 << failures.min(5))
                    .min(Duration::from_secs(60));
                backoff.insert(*epoch, (failures, std::time::Instant::now() + wait));
            }
            Ok(_) => {
                backoff.remove(epoch);
            }
        }
        match stepped {
            Ok(Step::Now(state)) => {
                *by_state.entry(state.name()).or_default() += 1;
                if let SubmitState::Failed { reason } = &state {
                    problems.push(format!("submit: epoch {epoch}'s vote failed: {reason}"));
                }
                if !state.is_final() {
                    pending += 1;
                    let held_up = submitter
                        .submissions()
                        .load(*epoch)
                        .ok()
                        .flatten()
                        .and_then(|submission| submission.last_problem);
                    waiting.push(match held_up {
                        Some(problem) => format!("epoch {epoch}: {} — {problem}", state.name()),
                        None => {
                            format!("epoch {epoch}: {} (its transaction to land)", state.name())
                        }
                    });
                }
                if matches!(state, SubmitState::Confirmed { .. }) {
                    metrics.set_gauge(
                        "groundwork_submit_confirmed_epoch",
                        "The newest epoch whose vote is confirmed on chain.",
                        i64::try_from(*epoch).unwrap_or(i64::MAX),
                    );
                }
            }
            Ok(Step::NotClosed) => waiting.push(format!("epoch {epoch}: its close on chain")),
            Err(error) => {
                tracing::error!(epoch, %error, "the vote's step failed; trying again");
                waiting.push(format!("epoch {epoch}: {error}"));
            }
        }
    }
    metrics.set_gauge(
        "groundwork_submit_pending_epochs",
        "Epochs whose vote is signed or sent and not confirmed yet.",
        pending,
    );
    for (state, count) in by_state {
        let (name, help) = match state {
            "computed" => (
                "groundwork_submit_epochs_computed",
                "Unsettled epochs whose vote is not signed yet.",
            ),
            "signed" => (
                "groundwork_submit_epochs_signed",
                "Unsettled epochs whose vote is signed, not sent.",
            ),
            "sent" => (
                "groundwork_submit_epochs_sent",
                "Unsettled epochs whose vote is sent, not confirmed.",
            ),
            "vetoed" => (
                "groundwork_submit_epochs_vetoed",
                "Unsettled epochs whose confirmed vote was vetoed.",
            ),
            "confirmed" => (
                "groundwork_submit_epochs_confirmed",
                "Unsettled epochs whose vote is confirmed.",
            ),
            "superseded" => (
                "groundwork_submit_epochs_superseded",
                "Unsettled epochs that need no vote.",
            ),
            _ => (
                "groundwork_submit_epochs_failed",
                "Epochs whose vote failed for good (an operator acts).",
            ),
        };
        metrics.set_gauge(name, help, count);
    }
    *status.problems.lock().expect("status lock") = problems;
    Ok(if !member {
        "this oracle's key to be added to the on-chain oracle set".to_string()
    } else if waiting.is_empty() {
        format!("the next epoch's report (every vote from epoch {first} is settled)")
    } else {
        waiting.join("; ")
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Seals every epoch whose seal time has come, as epochs end. A seal that fails stops the
/// oracle (its input would be undefined).
pub async fn seal_epochs(
    store: Store,
    schedule: EpochSchedule,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    mut stop: StopSignal,
) -> Result<()> {
    let mut ticker = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return Ok(()),
        }
        let Some(newest) = schedule.newest_sealed(clock.now_ms()) else {
            continue;
        };
        let sealed = store
            .seal_through(newest)
            .await
            .with_context(|| format!("sealing the epochs through {newest}"))?;
        for manifest in sealed {
            tracing::info!(
                epoch = manifest.epoch,
                messages = manifest.messages,
                conflicts = manifest.conflicts,
                digest = %manifest.digest,
                "epoch sealed"
            );
        }
        metrics.set_gauge(
            "groundwork_newest_sealed_epoch",
            "The newest sealed epoch.",
            i64::try_from(newest).unwrap_or(i64::MAX),
        );
    }
}

/// How often retention looks at the chain.
const RETENTION_CHECK: Duration = Duration::from_secs(60);

/// Deletes the raw messages of epochs `retention_epochs` before the newest active root.
async fn prune_settled_epochs(
    store: Store,
    shared_input: Option<Arc<SharedInput>>,
    chain: Arc<dyn Chain>,
    retention_epochs: u64,
    mut stop: StopSignal,
) -> Result<()> {
    let mut ticker = tokio::time::interval(RETENTION_CHECK);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.stopped() => return Ok(()),
        }
        let active = match chain.active_root_epoch().await {
            Ok(active) => active,
            Err(error) => {
                tracing::warn!(%error, "retention: cannot read the active root; trying later");
                continue;
            }
        };
        let Some(through) = active.and_then(|active| active.checked_sub(retention_epochs)) else {
            continue;
        };
        let pruned = store
            .prune_through(through)
            .await
            .with_context(|| format!("pruning epochs through {through}"))?;
        if !pruned.epochs.is_empty() {
            tracing::info!(epochs = ?pruned.epochs, bytes = pruned.bytes, "pruned settled epochs");
        }
        if let Some(shared) = &shared_input {
            let removed = shared
                .prune_through(through)
                .with_context(|| format!("pruning peers' sets through {through}"))?;
            if removed > 0 {
                tracing::info!(epochs = removed, through, "pruned peers' settled sets");
            }
        }
    }
}

/// What `/healthz` checks.
struct Health {
    tasks: Arc<TaskStates>,
    store: Store,
    freshness: Arc<Freshness>,
    devices: Arc<DeviceCache>,
    clock: Arc<dyn Clock>,
    stale_after_ms: i64,
    metrics: Arc<Metrics>,
    /// The chain view's directory (its stored snapshots).
    chain_view_dir: std::path::PathBuf,
    /// The verify stage's reports.
    reports_dir: std::path::PathBuf,
    /// The newest reports read, decoded (a device's rows are read from them).
    report_cache: ReportCache,
    chain: Arc<dyn Chain>,
    verify_params: groundwork_oracle_verify::VerifyParams,
    /// The vote's state, when this oracle votes.
    submit_status: Option<Arc<SubmitStatus>>,
}

/// The last few reports read, decoded and shared (at 1,000,000 devices a report holds about
/// 200 MB of rows: decoding one per request would not do).
#[derive(Default)]
struct ReportCache {
    entries: std::sync::Mutex<Vec<(u64, Arc<EpochReport>)>>,
}

/// Reports kept decoded.
const CACHED_REPORTS: usize = 3;

impl ReportCache {
    async fn get(
        &self,
        dir: &std::path::Path,
        epoch: u64,
    ) -> Result<Option<Arc<EpochReport>>, String> {
        if let Some((_, report)) = self
            .entries
            .lock()
            .expect("report cache lock")
            .iter()
            .find(|(cached, _)| *cached == epoch)
        {
            return Ok(Some(report.clone()));
        }
        let reports = Reports::new(dir.to_path_buf());
        let loaded = tokio::task::spawn_blocking(move || reports.load(epoch))
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?;
        let Some(report) = loaded else {
            return Ok(None);
        };
        let report = Arc::new(report);
        let mut entries = self.entries.lock().expect("report cache lock");
        entries.retain(|(cached, _)| *cached != epoch);
        entries.push((epoch, report.clone()));
        entries.sort_by_key(|(cached, _)| std::cmp::Reverse(*cached));
        entries.truncate(CACHED_REPORTS);
        Ok(Some(report))
    }
}

fn service_routes(health: Arc<Health>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/v1/epochs/{epoch}/chain", get(chain_snapshot))
        .route("/v1/epochs/{epoch}/rewards", get(epoch_rewards))
        .route("/v1/rewards/{recipient}", get(recipient_rewards))
        .route("/v1/devices/{key}/rewards", get(device_rewards))
        .route("/v1/submissions", get(submissions))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// 200 when every task runs, the store takes writes and the device set is fresh; 503 with
/// the problems otherwise.
async fn healthz(State(health): State<Arc<Health>>) -> Response {
    let mut problems = health.tasks.stopped();
    if let Err(reason) = health.store.health() {
        problems.push(format!("store: {reason}"));
    }
    if let Some(status) = &health.submit_status {
        problems.extend(status.problems.lock().expect("status lock").iter().cloned());
    }
    let age_ms = health.clock.now_ms() - health.freshness.last_ms();
    if age_ms > health.stale_after_ms {
        problems.push(format!(
            "chain: the device set was last loaded {} s ago",
            age_ms / 1_000
        ));
    }
    let body = json!({
        "status": if problems.is_empty() { "ok" } else { "unhealthy" },
        "problems": problems,
        "devices": health.devices.len(),
        "device_set_age_ms": age_ms,
        "chain_view": {
            "slot": health.freshness.slot.load(Ordering::Relaxed),
            "lag_slots": health
                .freshness
                .finalized
                .load(Ordering::Relaxed)
                .saturating_sub(health.freshness.slot.load(Ordering::Relaxed)),
            "newest_snapshot_epoch": match health.freshness.newest_snapshot.load(Ordering::Relaxed) {
                -1 => serde_json::Value::Null,
                epoch => json!(epoch),
            },
        },
        "submit": health.submit_status.as_ref().map(|status| json!({
            "oracle": status.oracle,
            "in_oracle_set": match status.in_set.load(Ordering::Relaxed) {
                -1 => serde_json::Value::Null,
                member => json!(member == 1),
            },
            "waiting_for": status.waiting.lock().expect("status lock").clone(),
        })),
    });
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

/// `GET /v1/submissions`: each epoch's vote — its state, root and every transaction signed
/// for it — and what the submit stage waits for.
async fn submissions(State(health): State<Arc<Health>>) -> Response {
    let Some(status) = &health.submit_status else {
        return refusal(
            StatusCode::NOT_FOUND,
            "not_voting",
            "this oracle has no [submit] section: it votes nothing".to_string(),
        );
    };
    let files = &status.submissions;
    let epochs = match files.epochs() {
        Ok(epochs) => epochs,
        Err(error) => {
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "submissions_unreadable",
                error.to_string(),
            )
        }
    };
    let mut listed = Vec::new();
    for epoch in epochs.iter().rev().take(32) {
        match files.load(*epoch) {
            Ok(Some(submission)) => listed.push(json!(submission)),
            Ok(None) => {}
            Err(error) => listed.push(json!({ "epoch": epoch, "error": error.to_string() })),
        }
    }
    Json(json!({
        "oracle": status.oracle,
        "in_oracle_set": match status.in_set.load(Ordering::Relaxed) {
            -1 => serde_json::Value::Null,
            member => json!(member == 1),
        },
        "waiting_for": status.waiting.lock().expect("status lock").clone(),
        "epochs": listed,
    }))
    .into_response()
}

/// `GET /v1/epochs/{n}/chain`: the chain snapshot of epoch `n` (the chain input of its
/// verified work) — a JSON summary with its digest, or with `Accept:
/// application/octet-stream` its canonical bytes, whose SHA-256 is the digest.
async fn chain_snapshot(
    State(health): State<Arc<Health>>,
    axum::extract::Path(epoch): axum::extract::Path<u64>,
    headers: axum::http::HeaderMap,
) -> Response {
    let dir = health.chain_view_dir.clone();
    let stored = tokio::task::spawn_blocking(move || {
        groundwork_oracle_chainview::stored_snapshot(&dir, epoch)
    })
    .await;
    let snapshot = match stored {
        Ok(Ok(Some(snapshot))) => snapshot,
        Ok(Ok(None)) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({
                    "error": "snapshot_not_made",
                    "message": format!("epoch {epoch}'s chain snapshot is not made: it is made once the epoch is closed on chain and the oracle's chain view has followed its close"),
                })),
            )
                .into_response()
        }
        Ok(Err(error)) => {
            tracing::error!(epoch, %error, "reading a stored chain snapshot");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "snapshot_unreadable", "message": error.to_string() })),
            )
                .into_response();
        }
        Err(error) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "internal", "message": error.to_string() })),
            )
                .into_response()
        }
    };
    if wants_bytes(&headers) {
        return octet_stream(snapshot.encode());
    }
    let suspended = snapshot
        .devices
        .iter()
        .filter(|device| {
            device.standing.iter().any(|span| {
                matches!(
                    span.standing,
                    groundwork_oracle_chainview::snapshot::Standing::Suspended { .. }
                )
            })
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
        "credit_price": snapshot.credit_price.map(|price| json!({
            "purchased_at": price.purchased_at,
            "network_tokens_burned": price.network_tokens_burned,
            "credits_minted": price.credits_minted,
        })),
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

/// `GET /v1/epochs/{n}/rewards`: epoch n's verified work — the pool, the split, the root, the
/// devices rewarded and zeroed (by reason), and the digests of its inputs.
async fn epoch_rewards(
    State(health): State<Arc<Health>>,
    axum::extract::Path(epoch): axum::extract::Path<u64>,
    headers: axum::http::HeaderMap,
) -> Response {
    let report = match health.report_cache.get(&health.reports_dir, epoch).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({
                    "error": "epoch_not_verified",
                    "message": format!("epoch {epoch} is not verified yet: it needs its chain snapshot (made once it is closed on chain) and its seal (its end plus the seal grace)"),
                })),
            )
                .into_response()
        }
        Err(message) => {
            tracing::error!(epoch, %message, "reading a stored report");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "report_unreadable", message);
        }
    };
    if wants_bytes(&headers) {
        return octet_stream(report.encode());
    }
    let peers = Reports::new(&health.reports_dir)
        .load_peers(epoch)
        .unwrap_or_default();
    let rewards = &report.rewards;
    let counts = rewards.device_counts();
    Json(json!({
        "epoch": report.epoch,
        "root": hex(&rewards.root),
        "report_digest": hex(&report.digest()),
        "pool": rewards.pool,
        "carried_dust_in": report.carried_dust_in,
        "coverage_pool": rewards.coverage_pool,
        "data_pool": rewards.data_pool,
        "data_to_coverage": rewards.data_to_coverage,
        "dust": rewards.dust,
        "paid": rewards.pool - rewards.dust,
        "cumulative_total": rewards.cumulative_total,
        "recipients": rewards.cumulative.len(),
        "base_epoch": report.base_epoch,
        "devices": {
            "total": rewards.rows.len(),
            "rewarded": counts.rewarded,
            "zeroed_by_reason": counts.zeroed_by_reason,
            "earned_nothing_without_fraud": counts.earned_nothing_without_fraud,
        },
        "unknown_device_messages": rewards.unknown_device_messages,
        "not_onboarded_messages": rewards.not_onboarded_messages,
        "inputs": {
            "chain_snapshot_digest": hex(&report.snapshot_digest),
            "telemetry_sets": report.inputs.iter().map(|set| json!({
                "messages": set.messages,
                "conflicts": set.conflicts,
                "digest": set.digest,
            })).collect::<Vec<_>>(),
            "union": {
                "messages": report.union.messages,
                "conflicts": report.union.conflicts,
                "digest": report.union.digest,
            },
            "missing_peer_sets": report.missing_peer_sets,
            "peers_missing": peers.missing.iter().map(|(peer, failure)| json!({
                "peer": peer,
                "last_failure": failure,
            })).collect::<Vec<_>>(),
            "peers_merged": peers.merged.iter().map(|set| json!({
                "peer": set.peer,
                "messages": set.manifest.messages,
                "conflicts": set.manifest.conflicts,
                "digest": set.manifest.digest,
                "new_to_this_oracle": set.kept,
                "refused": set.refused,
            })).collect::<Vec<_>>(),
        },
    }))
    .into_response()
}

/// `GET /v1/devices/{key}/rewards[?epoch=N]`: the device's rows of the newest verified epochs
/// (or of epoch N) — every number that decided its reward and every fraud reason — with the
/// reasons in plain words (`groundwork device report`).
async fn device_rewards(
    State(health): State<Arc<Health>>,
    axum::extract::Path(key): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let Ok(device) = key.parse::<anchor_lang::prelude::Pubkey>() else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "invalid_key",
            format!("{key:?} is not a base58 public key"),
        );
    };
    let epochs: Vec<u64> = match query.get("epoch") {
        Some(epoch) => match epoch.parse() {
            Ok(epoch) => vec![epoch],
            Err(_) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "invalid_epoch",
                    format!("{epoch:?} is not an epoch number"),
                )
            }
        },
        None => {
            let reports = Reports::new(health.reports_dir.clone());
            match tokio::task::spawn_blocking(move || reports.epochs()).await {
                Ok(Ok(mut epochs)) => {
                    epochs.reverse();
                    epochs.truncate(CACHED_REPORTS);
                    epochs
                }
                _ => Vec::new(),
            }
        }
    };
    let mut rows = Vec::new();
    for epoch in epochs {
        let report = match health.report_cache.get(&health.reports_dir, epoch).await {
            Ok(Some(report)) => report,
            Ok(None) => continue,
            Err(message) => {
                return refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "report_unreadable",
                    message,
                )
            }
        };
        let found = report
            .rewards
            .rows
            .binary_search_by(|row| row.device.cmp(&device))
            .ok()
            .map(|index| &report.rewards.rows[index]);
        let Some(row) = found else {
            continue;
        };
        rows.push(json!({
            "epoch": epoch,
            "amount": row.amount,
            "coverage_reward": row.coverage_reward,
            "data_reward": row.data_reward,
            "recipient": row.recipient.to_string(),
            "uptime_slots": row.uptime_slots,
            "heartbeats": row.heartbeats,
            "median_distance_m": row.median_distance_m,
            "trust_bps": row.trust_bps,
            "weight_bps": row.weight_bps,
            "stake_multiplier_bps": row.stake_multiplier_bps,
            "density_cell": row.density_cell.map(|cell| format!("{cell:x}")),
            "density_devices": row.density_devices,
            "coverage_score": row.coverage_score.to_string(),
            "credits_paid": row.credits_paid,
            "data_sessions": row.data_sessions,
            "data_uncapped": row.data_uncapped,
            "data_cap": row.data_cap,
            "fraud": row.fraud.iter().map(|fraud| fraud.code()).collect::<Vec<_>>(),
            "explanation": row.explain(&health.verify_params),
        }));
    }
    if rows.is_empty() {
        return refusal(
            StatusCode::NOT_FOUND,
            "no_verified_epochs",
            format!("device {device} has no row in the verified epochs asked for (it was not onboarded then, or nothing is verified yet)"),
        );
    }
    Json(json!({ "device": device.to_string(), "epochs": rows })).into_response()
}

/// Whether the request asks for canonical bytes (`Accept: application/octet-stream`).
fn wants_bytes(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("application/octet-stream"))
}

fn octet_stream(bytes: Vec<u8>) -> Response {
    ([("content-type", "application/octet-stream")], bytes).into_response()
}

fn refusal(status: StatusCode, error: &str, message: String) -> Response {
    (status, Json(json!({ "error": error, "message": message }))).into_response()
}

/// `GET /v1/rewards/{recipient}`: the recipient's leaf in the newest active root — everything
/// it earned since genesis —, what claims paid it so far, and the merkle proof a claim needs
/// (`groundwork rewards claim --oracle URL`).
async fn recipient_rewards(
    State(health): State<Arc<Health>>,
    axum::extract::Path(recipient): axum::extract::Path<String>,
) -> Response {
    let Ok(recipient) = recipient.parse::<anchor_lang::prelude::Pubkey>() else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "bad_recipient",
            format!("{recipient:?} is not a base58 public key"),
        );
    };
    let active = match health.chain.active_root().await {
        Ok(Some(active)) => active,
        Ok(None) => {
            return refusal(
                StatusCode::NOT_FOUND,
                "no_active_root",
                "no reward root is active on chain yet".into(),
            )
        }
        Err(error) => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unreachable",
                error.to_string(),
            )
        }
    };
    let claimed = match health.chain.claimed(recipient).await {
        Ok(claimed) => claimed,
        Err(error) => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unreachable",
                error.to_string(),
            )
        }
    };
    let epoch = active.epoch;
    let report = match health.report_cache.get(&health.reports_dir, epoch).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            return refusal(
                StatusCode::NOT_FOUND,
                "active_root_not_verified_here",
                format!("the newest active root is epoch {epoch}'s, which this oracle has not verified: ask another oracle of the network"),
            )
        }
        Err(message) => {
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "report_unreadable", message)
        }
    };
    if report.rewards.root != active.root {
        return refusal(
            StatusCode::CONFLICT,
            "root_mismatch",
            format!(
                "this oracle's root for epoch {epoch} ({}) is not the active one on chain ({}): its proofs would not verify; ask another oracle of the network",
                hex(&report.rewards.root),
                hex(&active.root)
            ),
        );
    }
    let tree = groundwork_merkle::RewardTree::new(
        report
            .rewards
            .cumulative
            .iter()
            .map(|(recipient, amount)| groundwork_merkle::Leaf {
                recipient: recipient.to_bytes(),
                cumulative_amount: *amount,
            })
            .collect(),
    );
    let Some((leaf, proof)) = tree
        .ok()
        .and_then(|tree| tree.proof_for(&recipient.to_bytes()))
    else {
        return refusal(
            StatusCode::NOT_FOUND,
            "no_rewards",
            format!("{recipient} has no leaf in epoch {epoch}'s root (claimed so far: {claimed})"),
        );
    };
    Json(json!({
        "recipient": recipient.to_string(),
        "epoch": epoch,
        "root": hex(&active.root),
        "cumulative_amount": leaf.cumulative_amount,
        "claimed": claimed,
        "claimable": leaf.cumulative_amount.saturating_sub(claimed),
        "proof": proof.iter().map(|hash| hex(hash)).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn metrics(State(health): State<Arc<Health>>) -> Response {
    let age_ms = health.clock.now_ms() - health.freshness.last_ms();
    health.metrics.set_gauge(
        "groundwork_device_set_age_seconds",
        "Seconds since the device set was last loaded from chain.",
        age_ms / 1_000,
    );
    (
        [("content-type", "text/plain; version=0.0.4")],
        health.metrics.render(),
    )
        .into_response()
}
