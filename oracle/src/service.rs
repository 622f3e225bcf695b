//! The composition root: configuration -> stages -> supervisor -> one router.
//!
//! [`serve`] opens the store, reads the chain's epoch timing, opens the stages (the store and
//! the chain view first: ingest needs both), and runs their tasks — listed below in the order
//! data flows, ingest -> store (seal, prune) -> chain view -> verify -> submit — under one
//! supervisor until `shutdown` resolves or a task fails:
//!
//! | task | stage | what it does |
//! |---|---|---|
//! | http | all | serves every stage's routes, `/healthz` and `/metrics`, each route class in its bounds |
//! | read-limit-sweeper | all | forgets the read routes' refilled per-source buckets |
//! | limit-sweeper | ingest | forgets refilled rate-limit buckets |
//! | sealer | store | seals each epoch at its end plus the grace |
//! | retention | store | prunes settled epochs (and peers' sets) |
//! | chain-view | chain view | follows finalized events, keeps the device set, makes snapshots |
//! | peer-puller | verify | pulls the peers' sealed sets (with `[shared_input] peers`) |
//! | verifier | verify | computes each ready epoch and stores its report |
//! | publisher | verify | publishes each stored report's epoch bundle (SPEC 4.6) |
//! | submitter | submit | votes each report's root (with `[submit]`) |
//!
//! The `groundwork-oracle` binary runs it until SIGTERM; `groundwork localnet` runs it
//! in-process. What each task does lives in its stage's crate; this file only wires them.

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context, Result};
use axum::Router;
use groundwork_oracle_bundle::BundleStore;
use groundwork_oracle_chain::{CachedOracleSet, Chain, RpcChain};
use groundwork_oracle_chainview::{epoch_schedule, epoch_timing, ChainViewStage};
use groundwork_oracle_core::clock::{Clock, SystemClock};
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::peers::{OracleSet, PeerKey, PeerSigner};
use groundwork_oracle_core::secret::redact_url;
use groundwork_oracle_core::server::{self, RouteClass, ServerBounds};
use groundwork_oracle_core::tasks::{health_router, StageHealth, Supervisor};
use groundwork_oracle_explorer::Explorer;
use groundwork_oracle_ingest::Ingestor;
use groundwork_oracle_rewards::report::Reports;
use groundwork_oracle_store::postgres::PgStore;
use groundwork_oracle_store::segments::{SegmentConfig, SegmentStore};
use groundwork_oracle_store::tasks::{KeepsInputs, PruneSettled, Retention, Sealer};
use groundwork_oracle_store::Store;
use groundwork_oracle_submit::{SubmitRoles, SubmitRpc, SubmitSettings, SubmitStage, Submitter};
use groundwork_oracle_verify::api::VerifyApi;
use groundwork_oracle_verify::publish::{PublishStatus, Publisher};
use groundwork_oracle_verify::shared::SharedInput;
use groundwork_oracle_verify::stage::Verifier;
use groundwork_oracle_verify::tasks::{PeerPuller, VerifyTask};

use crate::config::OracleConfig;

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

/// Runs the service with `config` until `shutdown` resolves or a task fails.
pub async fn serve(
    config: OracleConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics = Arc::new(Metrics::default());
    let data_dir = &config.store.data_dir;
    // One oracle per data directory, whichever store it uses (held until `serve` returns).
    let _data_lock = groundwork_oracle_core::files::lock_directory(data_dir)
        .with_context(|| format!("locking {}", data_dir.display()))?
        .with_context(|| {
            format!(
                "another oracle is running on {} (it holds {}): one oracle per data directory",
                data_dir.display(),
                data_dir
                    .join(groundwork_oracle_core::files::DATA_LOCK)
                    .display()
            )
        })?;
    let view_dir = data_dir.join("chain-view");
    let reports = Reports::new(data_dir.join("reports"));

    // Store and chain.
    let store = open_store(&config).await?;
    let chain: Arc<dyn Chain> = Arc::new(RpcChain::new(&config.network.rpc_urls));
    let timing = epoch_timing(chain.as_ref(), &view_dir.join("timing")).await?;
    let schedule = epoch_schedule(&timing, config.network.seal_grace)?;

    // Chain view: the device set ingest reads, the snapshots verify reads.
    let chain_view = ChainViewStage::open(
        &config.network.rpc_urls,
        view_dir.clone(),
        timing,
        &schedule,
        clock.clone(),
        metrics.clone(),
        config.network.device_refresh,
    )
    .await?;

    // Ingest: messages older than one slot of verified work are refused unless configured.
    let mut limits = config.limits.clone();
    limits.max_message_age = Some(limits.message_age_or_one_slot(
        std::time::Duration::from_millis(u64::try_from(schedule.length_ms).unwrap_or(0)),
        config.verify.slots_per_epoch,
    ));
    let ingestor = Arc::new(Ingestor::new(
        config.network.registry,
        limits,
        schedule,
        chain_view.devices(),
        clock.clone(),
        store.clone(),
        metrics.clone(),
    ));

    // Verify, with the peers' sets when the network has several oracles.
    let shared_input = match config.shared_input.peers.is_empty() {
        true => None,
        false => {
            let signer = match config.peer_keypair() {
                Some(path) => {
                    let key = groundwork_oracle_submit::read_keypair(path)
                        .context("the key that signs pulls from peers")?;
                    let seed: [u8; 32] = key.to_bytes()[..32].try_into().expect("32 bytes");
                    Some(PeerSigner::new(PeerKey::from_seed(seed), clock.clone()))
                }
                None => None,
            };
            let shared = SharedInput::new(
                data_dir.join("peers"),
                &config.shared_input.peers,
                config.network.registry,
                schedule,
                config.shared_input.peer_wait,
                config.shared_input.timeout,
                signer,
            )
            .context("shared input")?
            .with_chain_view(view_dir.clone());
            tracing::info!(
                peers = ?shared.peer_names().collect::<Vec<_>>(),
                "each epoch is computed over this oracle's and these peers' sealed sets"
            );
            Some(Arc::new(shared))
        }
    };
    let mut verifier = Verifier::new(
        store.clone(),
        view_dir.clone(),
        reports.dir(),
        config.verify.clone(),
    )
    .with_chain(chain.clone());
    if let Some(shared) = &shared_input {
        verifier = verifier.with_shared_input(shared.clone());
    }

    // Submit, when this oracle votes.
    let submit = match &config.submit {
        Some(submit) => {
            let key = groundwork_oracle_submit::read_keypair(&submit.keypair)
                .context("[submit] keypair")?;
            let submitter = Submitter::new(
                SubmitRpc::new(&config.network.rpc_urls),
                key,
                data_dir.join("submit"),
                SubmitSettings {
                    priority_fee_floor: submit.priority_fee_floor,
                    priority_fee_ceiling: submit.priority_fee_ceiling,
                    relay_reserve_lamports: submit.relay_reserve_lamports,
                },
            );
            let roles = SubmitRoles {
                activate_roots: submit.activate_roots,
                relay_claims_for: submit
                    .relay_claims_for
                    .iter()
                    .map(|key| anchor_lang::prelude::Pubkey::new_from_array(key.0))
                    .collect(),
                relay_pools: submit.sweeps_pools(),
            };
            Some(
                SubmitStage::new(
                    submitter,
                    reports.clone(),
                    roles,
                    metrics.clone(),
                    clock.clone(),
                )
                .await,
            )
        }
        None => {
            tracing::info!(
                "no [submit] section: this oracle computes and serves rewards but votes nothing"
            );
            None
        }
    };
    let submit_status = submit.as_ref().map(SubmitStage::status);

    // Publish: each stored report's epoch bundle.
    let publish_url = config.publish_url();
    let bundles = BundleStore::open(&publish_url, true).context("[publish] url")?;
    let publish_status = Arc::new(PublishStatus::new(
        bundles.url(),
        data_dir.join("bundles-work"),
        metrics.clone(),
    ));
    let publisher = Publisher {
        store: store.clone(),
        shared: shared_input.clone(),
        chain_view_dir: view_dir.clone(),
        reports: reports.clone(),
        bundles,
        work_dir: data_dir.join("bundles-work"),
        status: publish_status.clone(),
    };
    tracing::info!(store = %publish_status.url(), "epoch bundles are published here");

    // One router: every stage's routes, health and metrics.
    let mut supervisor = Supervisor::new();
    let mut stage_health: Vec<Arc<dyn StageHealth>> = vec![
        Arc::new(store.clone()),
        chain_view.health(),
        publish_status.clone(),
    ];
    if let Some(status) = &submit_status {
        stage_health.push(status.clone());
    }
    let health = health_router(
        supervisor.states(),
        stage_health,
        &["submit"],
        metrics.clone(),
    );
    let stage_reads = chain_view
        .router()
        .merge(VerifyApi::new(reports.clone(), chain.clone(), config.verify.clone()).router())
        .merge(groundwork_oracle_submit::stage::router(submit_status))
        .merge(groundwork_oracle_verify::publish::router(
            publish_status.clone(),
            config
                .publish
                .public_url
                .clone()
                .unwrap_or_else(|| publish_status.url().to_string()),
            reports.clone(),
        ))
        .merge(
            Explorer::new(
                reports.clone(),
                view_dir.clone(),
                chain.clone(),
                config.verify.clone(),
            )
            .router(),
        );
    let (app, read_class) = routes(
        &config,
        &ingestor,
        Arc::new(CachedOracleSet::new(chain.clone())),
        stage_reads,
        health,
        clock.clone(),
    );
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

    // The tasks, in the order data flows.
    let bounds = ServerBounds {
        header_read_timeout: config.http.header_read_timeout,
        max_connections: config.http.max_connections,
        ..ServerBounds::default()
    };
    let stop = supervisor.stop_signal();
    supervisor.spawn("http", async move {
        server::serve(listener, app, bounds, stop)
            .await
            .context("serving HTTP")?;
        tracing::info!("HTTP stopped: in-flight requests finished");
        Ok(())
    });
    supervisor.spawn(
        "read-limit-sweeper",
        read_class.sweep_every_minute(supervisor.stop_signal()),
    );
    supervisor.spawn(
        "limit-sweeper",
        ingestor
            .clone()
            .sweep_limits_every_minute(supervisor.stop_signal()),
    );
    let sealer = Sealer {
        store: store.clone(),
        schedule,
        clock: clock.clone(),
        metrics: metrics.clone(),
    };
    supervisor.spawn("sealer", sealer.run(supervisor.stop_signal()));
    let retention = Retention {
        store: store.clone(),
        chain,
        retention_epochs: config.store.retention_epochs,
        also: shared_input
            .iter()
            .map(|shared| shared.clone() as Arc<dyn PruneSettled>)
            .collect(),
        keep: vec![publish_status as Arc<dyn KeepsInputs>],
    };
    supervisor.spawn("retention", retention.run(supervisor.stop_signal()));
    supervisor.spawn("chain-view", chain_view.run(supervisor.stop_signal()));
    if let Some(shared) = shared_input {
        let puller = PeerPuller {
            shared,
            store: store.clone(),
            reports: reports.clone(),
            chain_view_dir: view_dir,
            schedule,
            clock: clock.clone(),
            metrics: metrics.clone(),
            pull_every: config.shared_input.pull_every,
        };
        supervisor.spawn("peer-puller", puller.run(supervisor.stop_signal()));
    }
    let verify = VerifyTask {
        verifier,
        clock,
        metrics,
    };
    supervisor.spawn("verifier", verify.run(supervisor.stop_signal()));
    supervisor.spawn("publisher", publisher.run(supervisor.stop_signal()));
    if let Some(submit) = submit {
        supervisor.spawn("submitter", submit.run(supervisor.stop_signal()));
    }

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

/// One router: each route class inside its own bounds (SPEC 4.5) — ingest, the peers'
/// stream (the network's `oracles` only), reads (the stages' `stage_reads` and ingest's,
/// rated per source) and health — so no number of slow or curious readers takes ingest's
/// capacity. Returns the read class too (its per-source buckets are swept).
fn routes(
    config: &OracleConfig,
    ingestor: &Arc<Ingestor>,
    oracles: Arc<dyn OracleSet>,
    stage_reads: Router,
    health: Router,
    clock: Arc<dyn Clock>,
) -> (Router, Arc<RouteClass>) {
    use groundwork_oracle_ingest::api as ingest_api;
    let http = &config.http;
    let limits = &config.limits;
    let class = |name, max_in_flight, timeout| {
        RouteClass::new(name, max_in_flight, timeout)
            .sources_behind(limits.trusted_proxies.clone())
            .per_source_in_flight(http.max_requests_per_source)
    };
    let ingest = Arc::new(class(
        "ingest",
        http.max_ingest_requests,
        limits.body_timeout + limits.request_timeout,
    ));
    let peers = Arc::new(
        class("peer stream", http.max_peer_streams, http.read_timeout).bodies_hold_permits(),
    );
    let reads = Arc::new(
        class("read", http.max_read_requests, http.read_timeout).per_source(
            http.read_rate_per_s,
            http.read_burst,
            clock,
        ),
    );
    let health_class = Arc::new(RouteClass::new("health", 16, http.read_timeout));
    let read_routes = ingest_api::read_router(ingestor.clone()).merge(stage_reads);
    let app = ingest
        .bound(ingest_api::telemetry_router(ingestor.clone()))
        .merge(peers.bound(ingest_api::peer_router(ingestor.clone(), oracles)))
        .merge(reads.bound(read_routes))
        .merge(health_class.bound(health));
    (app, reads)
}
