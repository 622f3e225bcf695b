//! The verify stage's routes: an epoch's verified work (`GET /v1/epochs/{n}/rewards`, JSON or
//! its report's canonical bytes), a device's rows with the reasons in plain words (`GET
//! /v1/devices/{key}/rewards`), a fleet's rows over the newest epochs (`POST
//! /v1/rewards/history`, bounded in devices and epochs), and a recipient's leaf with its merkle proof in the newest
//! active root (`GET /v1/rewards/{recipient}`). Expensive answers are made once, never per
//! request (SPEC 4.5): decoded reports sit in a small cache of the newest epochs (a request
//! for an older epoch is answered without evicting them), the active root is read from chain
//! at most every [`ACTIVE_ROOT_FRESH`], the proof tree is built once per active root, and a
//! report's canonical bytes are streamed from its file.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use axum::extract::{Path as RoutePath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use groundwork_merkle::{Hash32, Leaf, RewardTree};
use groundwork_oracle_chain::{ActiveRoot, Chain, ChainError};
use groundwork_oracle_core::api::{refusal, wants_bytes};
use groundwork_oracle_rewards::report::{EpochReport, Reports};
use groundwork_oracle_rewards::{cumulative_tree, VerifyParams};
use serde_json::json;

use crate::stage::load_peers;

/// What the verify stage's routes read: its reports (through the cache), the chain (the active
/// root, what claims paid) and the network's verify parameters (for the explanations).
pub struct VerifyApi {
    reports: Reports,
    report_cache: ReportCache,
    chain: Arc<dyn Chain>,
    params: VerifyParams,
    /// The newest active root read, and when the read that found it started.
    active: Mutex<Option<(Instant, Option<ActiveRoot>)>>,
    /// Held while the chain's active root is read: one read at a time, which the requests
    /// that waited for it then share; it holds when the last read that failed ended, and its
    /// error, so waiters share a failure too.
    reading_active: tokio::sync::Mutex<Option<(Instant, String)>>,
    /// How long a read active root is used before it is read again.
    active_root_fresh: Duration,
    /// The proof tree of the active root.
    active_tree: tokio::sync::Mutex<Option<ActiveTree>>,
}

/// A report's proof tree, kept while its root is the active one.
struct ActiveTree {
    epoch: u64,
    root: [u8; 32],
    tree: Arc<RewardTree>,
}

/// How long an active root read from chain is used before it is read again.
pub const ACTIVE_ROOT_FRESH: Duration = Duration::from_secs(2);
/// How long one read of the active root may take before it counts as failed.
pub const ACTIVE_ROOT_READ_LIMIT: Duration = Duration::from_secs(5);

impl VerifyApi {
    pub fn new(reports: Reports, chain: Arc<dyn Chain>, params: VerifyParams) -> Self {
        VerifyApi {
            reports,
            report_cache: ReportCache::default(),
            chain,
            params,
            active: Mutex::new(None),
            reading_active: tokio::sync::Mutex::new(None),
            active_root_fresh: ACTIVE_ROOT_FRESH,
            active_tree: tokio::sync::Mutex::new(None),
        }
    }

    /// Uses a read active root for `fresh` instead of [`ACTIVE_ROOT_FRESH`].
    #[cfg(test)]
    fn with_active_root_fresh(mut self, fresh: Duration) -> Self {
        self.active_root_fresh = fresh;
        self
    }

    /// The chain's active root, read one request at a time.
    ///
    /// With `started_after: None`, a root read less than the freshness ago is served, and
    /// when the chain cannot be read the last root read is served. With `Some(instant)`, the
    /// root comes from a read started after `instant`: the kept one if its read did (requests
    /// waiting for the same newer root share one read), else the chain is read now, and an
    /// unreadable chain is an error. A read never replaces a newer root than it found (a
    /// lagging endpoint cannot bring the older root back).
    async fn read_active_root(
        &self,
        started_after: Option<Instant>,
    ) -> Result<Option<ActiveRoot>, ChainError> {
        if let Some(kept) = self.kept_active_root(started_after) {
            return Ok(kept);
        }
        let mut last_failure = self.reading_active.lock().await;
        // A request holding the lock before may have read what this one needs, or failed to
        // since this one asked (then that failure is this one's too).
        if let Some(kept) = self.kept_active_root(started_after) {
            return Ok(kept);
        }
        let kept = *self.active.lock().expect("active root lock");
        let shared_failure = last_failure.as_ref().and_then(|(failed_at, error)| {
            let recent = match started_after {
                // The chain could not be read after this request's instant: an honest answer.
                Some(instant) => *failed_at >= instant,
                None => failed_at.elapsed() < self.active_root_fresh,
            };
            recent.then(|| ChainError::AllEndpointsFailed(error.clone()))
        });
        let started = Instant::now();
        let read = match shared_failure {
            Some(failure) => Err(failure),
            None => {
                let read = tokio::time::timeout(ACTIVE_ROOT_READ_LIMIT, self.chain.active_root())
                    .await
                    .unwrap_or_else(|_| {
                        Err(ChainError::AllEndpointsFailed(format!(
                            "no answer within {ACTIVE_ROOT_READ_LIMIT:?}"
                        )))
                    });
                *last_failure = read
                    .as_ref()
                    .err()
                    .map(|error| (Instant::now(), error.to_string()));
                read
            }
        };
        match read {
            Ok(read) => {
                let epoch_of = |root: Option<ActiveRoot>| root.map(|root| root.epoch);
                let entry = match kept {
                    // An older root than the kept one (a lagging endpoint): the kept one stays,
                    // with the time of the read that found it.
                    Some((at, newer)) if epoch_of(read) < epoch_of(newer) => (at, newer),
                    _ => (started, read),
                };
                *self.active.lock().expect("active root lock") = Some(entry);
                Ok(entry.1)
            }
            Err(error) => match (kept, started_after) {
                (Some((_, active)), None) => {
                    tracing::warn!(%error, "the active root cannot be read now: serving the last one read");
                    Ok(active)
                }
                _ => Err(error),
            },
        }
    }

    /// The kept active root, when it serves a request with `started_after` (see
    /// [`VerifyApi::read_active_root`]).
    fn kept_active_root(&self, started_after: Option<Instant>) -> Option<Option<ActiveRoot>> {
        let (read_at, active) = (*self.active.lock().expect("active root lock"))?;
        let serves = match started_after {
            Some(instant) => read_at >= instant,
            None => read_at.elapsed() < self.active_root_fresh,
        };
        serves.then_some(active)
    }

    /// The proof tree of `report`, built once per active root.
    /// Built once, off the async threads (a million leaves take seconds); requests that
    /// arrive meanwhile wait for that one build instead of each building it.
    async fn tree_of(&self, report: &Arc<EpochReport>) -> Option<Arc<RewardTree>> {
        let mut cached = self.active_tree.lock().await;
        if let Some(active) = cached.as_ref() {
            if active.epoch == report.epoch && active.root == report.rewards.root {
                return Some(active.tree.clone());
            }
        }
        let leaves = report.clone();
        let (tree, _) =
            tokio::task::spawn_blocking(move || cumulative_tree(&leaves.rewards.cumulative))
                .await
                .ok()?
                .ok()?;
        let tree = Arc::new(tree);
        *cached = Some(ActiveTree {
            epoch: report.epoch,
            root: report.rewards.root,
            tree: tree.clone(),
        });
        Some(tree)
    }

    /// Epoch `epoch`'s report through the cache (`None`: not verified), or the reply refusing
    /// the request when it cannot be read.
    async fn stored_report(&self, epoch: u64) -> Result<Option<Arc<EpochReport>>, Response> {
        self.report_cache
            .get(&self.reports, epoch)
            .await
            .map_err(|message| {
                refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "report_unreadable",
                    message,
                )
            })
    }

    /// The stage's routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/epochs/{epoch}/rewards", get(epoch_rewards))
            .route("/v1/rewards/{recipient}", get(recipient_rewards))
            .route("/v1/devices/{key}/rewards", get(device_rewards))
            .route("/v1/rewards/history", post(rewards_history))
            .with_state(Arc::new(self))
    }
}

/// The last few reports read, decoded and shared (at 1,000,000 devices a report holds about
/// 200 MB of rows: decoding one per request would not do).
#[derive(Default)]
struct ReportCache {
    entries: Mutex<Vec<(u64, Arc<EpochReport>)>>,
}

/// Reports kept decoded.
const CACHED_REPORTS: usize = 3;

impl ReportCache {
    async fn get(&self, reports: &Reports, epoch: u64) -> Result<Option<Arc<EpochReport>>, String> {
        if let Some((_, report)) = self
            .entries
            .lock()
            .expect("report cache lock")
            .iter()
            .find(|(cached, _)| *cached == epoch)
        {
            return Ok(Some(report.clone()));
        }
        let reports = reports.clone();
        let loaded = tokio::task::spawn_blocking(move || reports.load(epoch))
            .await
            .map_err(|error| error.to_string())?
            .map_err(|error| error.to_string())?;
        let Some(report) = loaded else {
            return Ok(None);
        };
        let report = Arc::new(report);
        let mut entries = self.entries.lock().expect("report cache lock");
        // Kept only when among the newest: a reader of old epochs never evicts the ones
        // everyone reads.
        let among_newest =
            entries.len() < CACHED_REPORTS || entries.iter().any(|(cached, _)| *cached < epoch);
        if among_newest && !entries.iter().any(|(cached, _)| *cached == epoch) {
            entries.push((epoch, report.clone()));
            entries.sort_by_key(|(cached, _)| std::cmp::Reverse(*cached));
            entries.truncate(CACHED_REPORTS);
        }
        Ok(Some(report))
    }
}

/// A stored report's canonical bytes, streamed from its file (a report of a million devices is
/// about 250 MB: never held whole per request).
async fn report_bytes(reports: &Reports, epoch: u64) -> Response {
    use tokio::io::AsyncReadExt;
    let path = reports.path(epoch);
    let file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return refusal(
                StatusCode::NOT_FOUND,
                "epoch_not_verified",
                format!("epoch {epoch} is not verified yet"),
            )
        }
        Err(error) => {
            tracing::error!(epoch, %error, "reading a stored report");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_unreadable",
                error.to_string(),
            );
        }
    };
    let length = file.metadata().await.map(|metadata| metadata.len()).ok();
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0; 64 * 1024];
        match file.read(&mut buffer).await {
            Ok(0) => None,
            Ok(read) => {
                buffer.truncate(read);
                Some((
                    Ok::<_, std::io::Error>(axum::body::Bytes::from(buffer)),
                    file,
                ))
            }
            Err(error) => Some((Err(error), file)),
        }
    });
    let mut response = (
        [(axum::http::header::CONTENT_TYPE, "application/octet-stream")],
        axum::body::Body::from_stream(chunks),
    )
        .into_response();
    if let Some(length) = length {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_LENGTH, length.into());
    }
    response
}

/// `GET /v1/epochs/{n}/rewards`: epoch n's verified work — the pool, the split, the root, the
/// devices rewarded and zeroed (by reason), and the digests of its inputs.
async fn epoch_rewards(
    State(api): State<Arc<VerifyApi>>,
    RoutePath(epoch): RoutePath<u64>,
    headers: HeaderMap,
) -> Response {
    if wants_bytes(&headers) {
        return report_bytes(&api.reports, epoch).await;
    }
    let report = match api.report_cache.get(&api.reports, epoch).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            return refusal(
                StatusCode::NOT_FOUND,
                "epoch_not_verified",
                format!("epoch {epoch} is not verified yet: it needs its chain snapshot (made once it is closed on chain) and its seal (its end plus the seal grace)"),
            )
        }
        Err(message) => {
            tracing::error!(epoch, %message, "reading a stored report");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "report_unreadable", message);
        }
    };
    let peers = load_peers(&api.reports, epoch).unwrap_or_default();
    let rewards = &report.rewards;
    let counts = rewards.device_counts();
    Json(json!({
        "epoch": report.epoch,
        "root": hex::encode(rewards.root),
        "report_digest": hex::encode(report.digest()),
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
            "coverage_verified": counts.coverage_verified,
            "coverage_unverified": counts.coverage_unverified,
        },
        "unknown_device_messages": rewards.unknown_device_messages,
        "not_onboarded_messages": rewards.not_onboarded_messages,
        "inputs": {
            "chain_snapshot_digest": hex::encode(report.snapshot_digest),
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
    State(api): State<Arc<VerifyApi>>,
    RoutePath(key): RoutePath<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Ok(device) = key.parse::<Pubkey>() else {
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
            let reports = api.reports.clone();
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
        let report = match api.stored_report(epoch).await {
            Ok(Some(report)) => report,
            Ok(None) => continue,
            Err(refused) => return refused,
        };
        let Some(row) = report.rewards.row_of(&device) else {
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
            "multiplier_added": row.multiplier_added,
            "pool_share": row.pool_share,
            "paid_to_recipient": row.amount - row.pool_share,
            "beacons": row.beacons,
            "witnesses": row.witnesses,
            "witness_factor_bps": row.witness_factor_bps,
            "witnessed_devices": row.witnessed_devices,
            "witness_reports_dropped": {
                "beacon_not_in_input": row.witness_reports_dropped.beacon_not_in_input,
                "beaconer_not_active": row.witness_reports_dropped.beaconer_not_active,
                "too_far": row.witness_reports_dropped.too_far,
                "too_close": row.witness_reports_dropped.too_close,
                "before_beacon": row.witness_reports_dropped.before_beacon,
                "over_max_witnessed": row.witness_reports_dropped.over_max_witnessed,
            },
            "density_cell": row.density_cell.map(|cell| format!("{cell:x}")),
            "density_seconds": row.density_seconds,
            "density_devices": row.density_devices,
            "coverage_score": row.coverage_score.to_string(),
            "credits_paid": row.credits_paid,
            "data_sessions": row.data_sessions,
            "data_uncapped": row.data_uncapped,
            "data_cap": row.data_cap,
            "fraud": row.fraud.iter().map(|fraud| fraud.code()).collect::<Vec<_>>(),
            "fraud_meanings": row.fraud.iter().map(|fraud| json!({
                "rule": fraud.code(),
                "meaning": fraud.meaning(&api.params),
            })).collect::<Vec<_>>(),
            "headline": row.headline(&api.params),
            "explanation": row.explain(&api.params),
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

/// Most devices one history request names, most epochs it covers, and most rows (devices x
/// epochs) it may ask for: a request reads at most `HISTORY_MAX_EPOCHS` reports and its reply
/// stays under about 12 MB (a row is about 250 bytes of JSON).
pub const HISTORY_MAX_DEVICES: usize = 10_000;
pub const HISTORY_MAX_EPOCHS: usize = 30;
pub const HISTORY_MAX_ROWS: usize = 50_000;

/// What `POST /v1/rewards/history` is asked.
#[derive(serde::Deserialize)]
struct HistoryRequest {
    devices: Vec<String>,
    /// The newest this many verified epochs (default 10).
    epochs: Option<usize>,
    /// Only epochs up to this one: a client asking in several requests pins the first
    /// request's newest epoch, so every request covers the same epochs.
    through_epoch: Option<u64>,
}

/// `POST /v1/rewards/history` with `{"devices": [keys], "epochs": n, "through_epoch": e}`
/// (`through_epoch` optional): each device's row in each of the newest `n` verified epochs
/// (up to `e`; newest first), with its amount, its parts, the
/// fraud rules that zeroed it and a one-line reason. A device with no row in an epoch (not
/// onboarded then) has none in the answer.
async fn rewards_history(State(api): State<Arc<VerifyApi>>, body: axum::body::Bytes) -> Response {
    let request: HistoryRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!(
                    "expected {{\"devices\": [\"<base58 key>\", ...], \"epochs\": n}}: {error}"
                ),
            )
        }
    };
    let epochs_wanted = request.epochs.unwrap_or(10);
    if request.devices.is_empty()
        || request.devices.len() > HISTORY_MAX_DEVICES
        || epochs_wanted == 0
        || epochs_wanted > HISTORY_MAX_EPOCHS
        || request.devices.len() * epochs_wanted > HISTORY_MAX_ROWS
    {
        return refusal(
            StatusCode::BAD_REQUEST,
            "too_much",
            format!("ask for 1 to {HISTORY_MAX_DEVICES} devices over 1 to {HISTORY_MAX_EPOCHS} epochs, at most {HISTORY_MAX_ROWS} devices x epochs (asked: {} devices, {epochs_wanted} epochs)", request.devices.len()),
        );
    }
    let mut devices = Vec::with_capacity(request.devices.len());
    for key in &request.devices {
        match key.parse::<Pubkey>() {
            Ok(device) => devices.push(device),
            Err(_) => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "invalid_key",
                    format!("{key:?} is not a base58 public key"),
                )
            }
        }
    }
    devices.sort_unstable();
    devices.dedup();
    let reports = api.reports.clone();
    let mut epochs = match tokio::task::spawn_blocking(move || reports.epochs()).await {
        Ok(Ok(epochs)) => epochs,
        _ => {
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "reports_unreadable",
                "listing the stored reports failed".to_string(),
            )
        }
    };
    if let Some(through) = request.through_epoch {
        epochs.retain(|epoch| *epoch <= through);
    }
    epochs.reverse();
    epochs.truncate(epochs_wanted);
    let mut rows = Vec::new();
    for &epoch in &epochs {
        let report = match api.stored_report(epoch).await {
            Ok(Some(report)) => report,
            Ok(None) => continue,
            Err(refused) => return refused,
        };
        for device in &devices {
            let Some(row) = report.rewards.row_of(device) else {
                continue;
            };
            rows.push(json!({
                "epoch": epoch,
                "device": device.to_string(),
                "recipient": row.recipient.to_string(),
                "amount": row.amount,
                "coverage_reward": row.coverage_reward,
                "data_reward": row.data_reward,
                "fraud": row.fraud.iter().map(|fraud| fraud.code()).collect::<Vec<_>>(),
                "reason": row.headline(&api.params),
            }));
        }
    }
    Json(json!({ "epochs": epochs, "rows": rows })).into_response()
}

/// `GET /v1/rewards/{recipient}`: the recipient's leaf in the newest active root — everything
/// it earned since genesis —, what claims paid it so far, and the merkle proof a claim needs
/// (`groundwork rewards claim --oracle URL`).
async fn recipient_rewards(
    State(api): State<Arc<VerifyApi>>,
    RoutePath(recipient): RoutePath<String>,
) -> Response {
    let Ok(recipient) = recipient.parse::<Pubkey>() else {
        return refusal(
            StatusCode::BAD_REQUEST,
            "bad_recipient",
            format!("{recipient:?} is not a base58 public key"),
        );
    };
    let claimed = match api.chain.claimed(recipient).await {
        Ok(claimed) => claimed,
        Err(error) => {
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unreachable",
                error.to_string(),
            )
        }
    };
    let claim_read_at = Instant::now();
    // The active root served may be a few seconds old. Claims go only against the active root
    // and a leaf never shrinks, so a claim record holding more than the recipient's leaf (or
    // a claim and no leaf at all) proves a newer root activated since that root was read: the
    // root is then taken from a read started after the claim record's.
    let mut found = match leaf_in_active_root(&api, recipient, None).await {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    let behind_claims = |found: &ActiveLeaf| {
        found
            .leaf
            .as_ref()
            .map_or(0, |(leaf, _)| leaf.cumulative_amount)
            < claimed
    };
    if behind_claims(&found) {
        found = match leaf_in_active_root(&api, recipient, Some(claim_read_at)).await {
            Ok(found) => found,
            Err(refused) => return refused,
        };
        if behind_claims(&found) {
            // Endpoints answering from different states get here (the claim from a newer
            // one), or a root that pays the recipient less than it was paid (a network whose
            // oracles broke the cumulative rule): a leaf served now would be wrong.
            return refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_inconsistent",
                format!(
                    "the chain's claim record of {recipient} ({claimed}) is beyond its leaf in epoch {}'s root, read after it: the RPC endpoints disagree (ask again), or, if this lasts, the active root pays it less than it was paid",
                    found.active.epoch
                ),
            );
        }
    }
    let ActiveLeaf {
        active,
        report,
        leaf,
    } = found;
    let epoch = active.epoch;
    let Some((leaf, proof)) = leaf else {
        return refusal(
            StatusCode::NOT_FOUND,
            "no_rewards",
            format!("{recipient} has no leaf in epoch {epoch}'s root (claimed so far: {claimed})"),
        );
    };
    // A delegation pool's rewards account: whose pool, and what the epoch paid it.
    let pool = report
        .rewards
        .pools
        .iter()
        .find(|pool| pool.rewards_account == recipient)
        .map(|pool| {
            json!({
                "operator": pool.operator.to_string(),
                "commission_bps": pool.commission_bps,
                "active_stake": pool.active_stake,
                "epoch_multiplier_added": pool.multiplier_added,
                "epoch_commission": pool.commission,
                "epoch_pool_share": pool.pool_share,
            })
        });
    Json(json!({
        "recipient": recipient.to_string(),
        "epoch": epoch,
        "root": hex::encode(active.root),
        "cumulative_amount": leaf.cumulative_amount,
        "claimed": claimed,
        "claimable": leaf.cumulative_amount.saturating_sub(claimed),
        "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        "pool": pool,
    }))
    .into_response()
}

/// The active root, this oracle's report of its epoch, and `recipient`'s leaf and proof in it
/// (`None`: no leaf).
struct ActiveLeaf {
    active: ActiveRoot,
    report: Arc<EpochReport>,
    leaf: Option<(Leaf, Vec<Hash32>)>,
}

/// [`ActiveLeaf`] for `recipient`, the active root as [`VerifyApi::read_active_root`] gives it
/// for `started_after`; or the reply refusing the request (no active root, the chain
/// unreachable, the root not verified here or not this oracle's).
async fn leaf_in_active_root(
    api: &VerifyApi,
    recipient: Pubkey,
    started_after: Option<Instant>,
) -> Result<ActiveLeaf, Response> {
    let active = match api.read_active_root(started_after).await {
        Ok(Some(active)) => active,
        Ok(None) => {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                "no_active_root",
                "no reward root is active on chain yet",
            ))
        }
        Err(error) => {
            return Err(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "chain_unreachable",
                error.to_string(),
            ))
        }
    };
    let epoch = active.epoch;
    let report = match api.report_cache.get(&api.reports, epoch).await {
        Ok(Some(report)) => report,
        Ok(None) => {
            return Err(refusal(
                StatusCode::NOT_FOUND,
                "active_root_not_verified_here",
                format!("the newest active root is epoch {epoch}'s, which this oracle has not verified: ask another oracle of the network"),
            ))
        }
        Err(message) => {
            return Err(refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "report_unreadable",
                message,
            ))
        }
    };
    if report.rewards.root != active.root {
        return Err(refusal(
            StatusCode::CONFLICT,
            "root_mismatch",
            format!(
                "this oracle's root for epoch {epoch} ({}) is not the active one on chain ({}): its proofs would not verify; ask another oracle of the network",
                hex::encode(report.rewards.root),
                hex::encode(active.root)
            ),
        ));
    }
    let leaf = api
        .tree_of(&report)
        .await
        .and_then(|tree| tree.proof_for(&recipient.to_bytes()));
    Ok(ActiveLeaf {
        active,
        report,
        leaf,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use groundwork_oracle_chain::{EpochTiming, StaticChain};
    use groundwork_oracle_rewards::report::{InputSet, REPORT_VERSION};
    use groundwork_oracle_rewards::EpochRewards;

    use super::*;

    /// Epoch `epoch`'s report paying `cumulative` since genesis (its leaves and root).
    fn report_paying(epoch: u64, cumulative: BTreeMap<Pubkey, u64>) -> EpochReport {
        let (tree, cumulative_total) = cumulative_tree(&cumulative).unwrap();
        EpochReport {
            version: REPORT_VERSION,
            epoch,
            snapshot_digest: [0; 32],
            inputs: Vec::new(),
            union: InputSet {
                messages: 0,
                conflicts: 0,
                digest: String::new(),
            },
            missing_peer_sets: 0,
            carried_dust_in: 0,
            base_epoch: epoch.checked_sub(1),
            rewards: EpochRewards {
                epoch,
                pool: 0,
                coverage_pool: 0,
                data_pool: 0,
                data_to_coverage: 0,
                dust: 0,
                credit_value: None,
                unknown_device_messages: 0,
                not_onboarded_messages: 0,
                rows: Vec::new(),
                pools: Vec::new(),
                rewards: BTreeMap::new(),
                cumulative,
                root: tree.root(),
                cumulative_total,
            },
        }
    }

    fn activate(chain: &StaticChain, report: &EpochReport) {
        chain.set_active_root(Some(ActiveRoot {
            epoch: report.epoch,
            root: report.rewards.root,
            cumulative_total: report.rewards.cumulative_total,
        }));
    }

    async fn get(url: &str) -> (u16, serde_json::Value) {
        let reply = reqwest::get(url).await.unwrap();
        (reply.status().as_u16(), reply.json().await.unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_recipient_paid_by_a_root_activated_since_the_last_read_is_answered_from_that_root() {
        let dir = tempfile::tempdir().unwrap();
        let reports = Reports::new(dir.path());
        let (early, late) = (Pubkey::new_unique(), Pubkey::new_unique());
        // Epoch 1 pays only the early recipient; epochs 2 and 3 pay both (a delegation pool's
        // first leaf appears like this).
        let epoch_1 = report_paying(1, BTreeMap::from([(early, 1_000)]));
        let epoch_2 = report_paying(2, BTreeMap::from([(early, 1_500), (late, 700)]));
        let epoch_3 = report_paying(3, BTreeMap::from([(early, 1_800), (late, 900)]));
        for report in [&epoch_1, &epoch_2, &epoch_3] {
            reports.save(report).unwrap();
        }
        let chain = Arc::new(StaticChain::new(EpochTiming {
            genesis_unix_s: 0,
            epoch_len_s: 60,
        }));
        activate(&chain, &epoch_1);
        chain.set_claimed(early, 1_000);
        // A read root is kept for an hour here: only a claim beyond it makes the oracle read
        // the chain again.
        let api = VerifyApi::new(reports, chain.clone(), VerifyParams::default())
            .with_active_root_fresh(Duration::from_secs(3_600));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, api.router()).await });

        // Epoch 1's root is read and kept: the late recipient has no leaf in it.
        let (status, reply) = get(&format!("{url}/v1/rewards/{late}")).await;
        assert_eq!(status, 404, "{reply}");
        assert_eq!(reply["error"], "no_rewards", "{reply}");

        // Epoch 2's root activates; without a claim beyond epoch 1's leaves, the kept root is
        // answered.
        activate(&chain, &epoch_2);
        let (status, reply) = get(&format!("{url}/v1/rewards/{late}")).await;
        assert_eq!(status, 404, "{reply}");
        // The late recipient claims its 700: its claim record proves a newer root, which is
        // read and answered.
        chain.set_claimed(late, 700);
        let (status, reply) = get(&format!("{url}/v1/rewards/{late}")).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["epoch"], 2, "{reply}");
        assert_eq!(reply["root"], hex::encode(epoch_2.rewards.root), "{reply}");
        assert_eq!(reply["cumulative_amount"], 700, "{reply}");
        assert_eq!(reply["claimed"], 700, "{reply}");
        assert_eq!(reply["claimable"], 0, "{reply}");
        // The root read again is kept: the early recipient, paid its 1,000 of epoch 1, is
        // answered from epoch 2's root and is due 500.
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["epoch"], 2, "{reply}");
        assert_eq!(reply["claimable"], 500, "{reply}");

        // Epoch 3's root activates and the early recipient claims it (1,800): a leaf below
        // the claim record (1,500 in the kept root) is a stale answer too.
        activate(&chain, &epoch_3);
        chain.set_claimed(early, 1_800);
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["epoch"], 3, "{reply}");
        assert_eq!(reply["cumulative_amount"], 1_800, "{reply}");
        assert_eq!(reply["claimable"], 0, "{reply}");

        // A claim record beyond every root the chain has (endpoints answering from different
        // states) is not answered with a wrong leaf: the client is told to ask again.
        chain.set_claimed(late, 5_000);
        let (status, reply) = get(&format!("{url}/v1/rewards/{late}")).await;
        assert_eq!(status, 503, "{reply}");
        assert_eq!(reply["error"], "chain_inconsistent", "{reply}");
        // When the root must be read again and the chain cannot be read, the kept root is not
        // served in its place: the chain is unreachable.
        chain.set_active_root_unreadable(true);
        let (status, reply) = get(&format!("{url}/v1/rewards/{late}")).await;
        assert_eq!(status, 503, "{reply}");
        assert_eq!(reply["error"], "chain_unreachable", "{reply}");
        // A recipient whose claims the kept root covers is still answered from it.
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["epoch"], 3, "{reply}");

        // An oracle that reads the root for every request: an endpoint that lags behind a
        // root already read does not bring the older root back, and while the chain cannot
        // be read the last root read is served.
        chain.set_active_root_unreadable(false);
        let api = VerifyApi::new(
            Reports::new(dir.path()),
            chain.clone(),
            VerifyParams::default(),
        )
        .with_active_root_fresh(Duration::ZERO);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, api.router()).await });
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!((status, reply["epoch"].as_u64()), (200, Some(3)), "{reply}");
        activate(&chain, &epoch_2);
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!((status, reply["epoch"].as_u64()), (200, Some(3)), "{reply}");
        chain.set_active_root_unreadable(true);
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!((status, reply["epoch"].as_u64()), (200, Some(3)), "{reply}");

        // An endpoint that hangs: one read at a time, cut off at ACTIVE_ROOT_READ_LIMIT, and
        // the requests that waited for it share its failure (the kept root is served) instead
        // of each waiting out a read of its own.
        chain.set_active_root_unreadable(false);
        activate(&chain, &epoch_3);
        let api = VerifyApi::new(
            Reports::new(dir.path()),
            chain.clone(),
            VerifyParams::default(),
        )
        .with_active_root_fresh(Duration::from_millis(500));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, api.router()).await });
        let (status, reply) = get(&format!("{url}/v1/rewards/{early}")).await;
        assert_eq!((status, reply["epoch"].as_u64()), (200, Some(3)), "{reply}");
        tokio::time::sleep(Duration::from_millis(600)).await;
        chain.set_active_root_hangs(true);
        let reads_before = chain.active_root_reads();
        let asked = format!("{url}/v1/rewards/{early}");
        let requests = (0..4).map(|_| get(&asked));
        for (status, reply) in futures_util::future::join_all(requests).await {
            assert_eq!((status, reply["epoch"].as_u64()), (200, Some(3)), "{reply}");
        }
        assert_eq!(chain.active_root_reads() - reads_before, 1);
    }
}
