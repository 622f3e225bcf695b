//! The network explorer, served by the oracle: one page app under `/explorer/` (its assets
//! embedded in the binary, [`assets`]) and the read routes it needs beside the stages' own
//! (`/v1/devices/{key}/rewards` for a device's rows, `/healthz`, `/v1/submissions`,
//! `/v1/epochs/{n}/rewards`):
//!
//! - `GET /v1/explorer/network`: the verified epochs' timeline (minted, burned for credits,
//!   the device pool, paid, cumulative rewards), each recent epoch's root with its votes per
//!   oracle and its status on chain, the oracle set and how often each oracle agreed with
//!   this one, and the token's totals (supply, minted, burned, claimed);
//! - `GET /v1/explorer/map?west=&south=&east=&north=&zoom=`: the devices in a box, one by one
//!   (with their H3 cell's corners) up to [`index::MAX_MAP_DEVICES`], else clustered by H3
//!   cell at a resolution that suits the zoom (at most [`index::MAX_MAP_CLUSTERS`]);
//! - `GET /v1/explorer/devices/{key}`, `/operators/{key}`, `/recipients/{key}`: what the
//!   newest verified epoch made of a device, an operator's devices and totals per epoch, a
//!   recipient's devices — each with the claimable amount in the active root;
//! - `GET /v1/explorer/search?q=`: the keys a device, operator or recipient key (or its
//!   first characters) names.
//!
//! Every answer is read from the [`index`], made once per verified epoch (checked at most
//! every [`INDEX_FRESH`]); what is read from the chain (votes, totals, the active root, what
//! claims paid a recipient) is kept for [`CHAIN_FRESH`], each read bounded by
//! [`CHAIN_READ_TIMEOUT`]; the active root's leaves are read from its report once per root.
//! An answer's size is bounded whatever the network's size.

pub mod assets;
pub mod index;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use axum::extract::{Path as RoutePath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use groundwork_oracle_chain::{ActiveRoot, Chain};
use groundwork_oracle_core::api::refusal;
use groundwork_oracle_rewards::report::{ReportFileError, Reports};
use groundwork_oracle_rewards::VerifyParams;
use serde_json::{json, Value};

use index::{
    cell_boundary, rounded, DeviceMark, EpochSummary, MapAnswer, MapView, Newest, ReportSource,
    StandingCounts, STANDINGS, SUMMARY_EPOCHS,
};

/// How long the index is used before the reports folder is looked at again; and, when the
/// newest epoch could not be indexed or the folder not read, before that is tried again.
pub const INDEX_FRESH: Duration = Duration::from_secs(2);
pub const INDEX_RETRY: Duration = Duration::from_secs(30);
/// How long what was read from the chain is served before it is read again.
pub const CHAIN_FRESH: Duration = Duration::from_secs(3);
/// The newest epochs whose votes the network page reads from the chain.
pub const VOTE_EPOCHS: usize = 8;

/// The explorer's routes and what they read.
pub struct Explorer {
    sources: Arc<Sources>,
    chain: Arc<dyn Chain>,
    /// The index as last made, and when the reports were last looked at.
    current: Arc<std::sync::RwLock<Current>>,
    /// Held by the one build running.
    build: Arc<tokio::sync::Mutex<()>>,
    /// The network page's chain part, as last read.
    network: tokio::sync::Mutex<Option<ChainRead>>,
    active: tokio::sync::Mutex<Option<(Instant, Option<ActiveRoot>)>>,
    /// The active root's leaves (each recipient's cumulative total), read from its report once
    /// per active root.
    active_leaves: tokio::sync::Mutex<Option<ActiveLeaves>>,
    /// What claims paid each recipient, as last read (at most [`MAX_CACHED_CLAIMS`]).
    claims: std::sync::Mutex<HashMap<Pubkey, (Instant, u64)>>,
}

/// What the index is made from.
struct Sources {
    reports: Reports,
    chain_view_dir: PathBuf,
    params: VerifyParams,
}

#[derive(Clone, Default)]
struct Current {
    /// When the reports are next looked at (`None`: never built yet).
    next_check: Option<Instant>,
    index: Arc<Index>,
}

impl Current {
    fn fresh(&self) -> bool {
        self.next_check.is_some_and(|next| Instant::now() < next)
    }
}

/// The active root's leaves as this oracle's report of its epoch holds them (`None`: no
/// report of it, or one with another root), and the report file they were read from.
struct ActiveLeaves {
    epoch: u64,
    root: [u8; 32],
    file: Option<ReportSource>,
    leaves: Option<Arc<BTreeMap<Pubkey, u64>>>,
}

/// Recipients whose claimed amount is kept between requests.
pub const MAX_CACHED_CLAIMS: usize = 4_096;
/// Longest one chain read may take before the page is answered without it.
pub const CHAIN_READ_TIMEOUT: Duration = Duration::from_secs(4);

/// What was read from the chain for the network page, when, and for which newest epoch.
struct ChainRead {
    read_at: Instant,
    newest: Option<u64>,
    value: Arc<Value>,
}

/// The verified epochs' summaries and the newest one's devices.
#[derive(Default)]
pub struct Index {
    pub summaries: BTreeMap<u64, Arc<EpochSummary>>,
    pub newest: Option<Arc<Newest>>,
    /// Whether the newest report's devices are indexed (`false`: its report or snapshot could
    /// not be read; `newest` is then an older epoch's, and a look after [`INDEX_RETRY`] tries
    /// again).
    pub complete: bool,
}

/// `read` within [`CHAIN_READ_TIMEOUT`].
async fn bounded<T, E: std::fmt::Display>(
    what: &str,
    read: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(CHAIN_READ_TIMEOUT, read).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(format!("{what}: {error}")),
        Err(_) => Err(format!(
            "{what}: no answer within {} s",
            CHAIN_READ_TIMEOUT.as_secs()
        )),
    }
}

impl Explorer {
    /// The explorer over the verify stage's `reports` and the chain view's snapshots (in
    /// `chain_view_dir`), explaining rows with the network's `params`.
    pub fn new(
        reports: Reports,
        chain_view_dir: PathBuf,
        chain: Arc<dyn Chain>,
        params: VerifyParams,
    ) -> Self {
        Explorer {
            sources: Arc::new(Sources {
                reports,
                chain_view_dir,
                params,
            }),
            chain,
            current: Arc::new(std::sync::RwLock::new(Current::default())),
            build: Arc::new(tokio::sync::Mutex::new(())),
            network: tokio::sync::Mutex::new(None),
            active: tokio::sync::Mutex::new(None),
            active_leaves: tokio::sync::Mutex::new(None),
            claims: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The explorer's page and routes.
    pub fn router(self) -> Router {
        Router::new()
            .route("/v1/explorer/network", get(network))
            .route("/v1/explorer/map", get(map))
            .route("/v1/explorer/devices/{key}", get(device))
            .route("/v1/explorer/operators/{key}", get(operator))
            .route("/v1/explorer/recipients/{key}", get(recipient))
            .route("/v1/explorer/search", get(search))
            .with_state(Arc::new(self))
            .merge(assets::router())
            // Gzip for clients that accept it, at its fastest level (a town's 179 KB map answer
            // costs about 2 ms more, its decoding included): map answers shrink about three
            // times, the country outlines two. Bodies under 32 bytes and 304s go as they are.
            .layer(
                tower_http::compression::CompressionLayer::new()
                    .quality(tower_http::CompressionLevel::Fastest),
            )
    }

    /// The index, made again when a report was added or changed. One build runs at a time,
    /// in a task of its own: a request that gives up (its timeout, a client gone) does not
    /// stop it, and it installs what it made. While it runs, requests are answered from the
    /// previous index (only the first build is waited for).
    pub async fn index(&self) -> Result<Arc<Index>, String> {
        let seen = self.current.read().expect("index lock").clone();
        if seen.fresh() {
            return Ok(seen.index);
        }
        let guard = match self.build.clone().try_lock_owned() {
            Ok(guard) => guard,
            Err(_) if seen.next_check.is_some() => return Ok(seen.index),
            Err(_) => self.build.clone().lock_owned().await,
        };
        // A build that ended while this request waited is as good as its own.
        let seen = self.current.read().expect("index lock").clone();
        if seen.fresh() {
            return Ok(seen.index);
        }
        let sources = self.sources.clone();
        let current = self.current.clone();
        let task = tokio::spawn(async move {
            let _building = guard;
            let previous = seen.index.clone();
            let built = tokio::task::spawn_blocking(move || build_index(&sources, &previous)).await;
            let (index, next) = match built {
                Ok(Ok(Some(index))) => {
                    let next = if index.complete {
                        INDEX_FRESH
                    } else {
                        INDEX_RETRY
                    };
                    (Arc::new(index), next)
                }
                Ok(Ok(None)) => (seen.index, INDEX_FRESH),
                Ok(Err(error)) => {
                    tracing::warn!(%error, "the explorer's index cannot be made; retrying later");
                    if seen.next_check.is_none() {
                        return Err(error.to_string());
                    }
                    (seen.index, INDEX_RETRY)
                }
                Err(error) => return Err(format!("the index build stopped: {error}")),
            };
            *current.write().expect("index lock") = Current {
                next_check: Some(Instant::now() + next),
                index: index.clone(),
            };
            Ok(index)
        });
        task.await
            .map_err(|error| format!("the index build stopped: {error}"))?
    }

    /// The chain's active root, read at most every [`CHAIN_FRESH`].
    async fn active_root(&self) -> Result<Option<ActiveRoot>, String> {
        let mut cached = self.active.lock().await;
        if let Some((read_at, active)) = *cached {
            if read_at.elapsed() < CHAIN_FRESH {
                return Ok(active);
            }
        }
        let active = bounded("the active root", self.chain.active_root()).await?;
        *cached = Some((Instant::now(), active));
        Ok(active)
    }

    /// The active root's leaves, read from this oracle's report of that epoch once per active
    /// root and report file (`None`: this oracle has no report of it, or its report has
    /// another root — remembered too, so a lost vote does not cost a report read per request).
    async fn leaves_of(&self, active: ActiveRoot) -> Option<Arc<BTreeMap<Pubkey, u64>>> {
        let path = self.sources.reports.path(active.epoch);
        let file = std::fs::metadata(&path).ok().map(|metadata| ReportSource {
            size: metadata.len(),
            modified: metadata.modified().ok(),
        });
        let mut cached = self.active_leaves.lock().await;
        if let Some(leaves) = cached.as_ref() {
            if leaves.epoch == active.epoch && leaves.root == active.root && leaves.file == file {
                return leaves.leaves.clone();
            }
        }
        let reports = self.sources.reports.clone();
        let loaded = tokio::task::spawn_blocking(move || reports.load(active.epoch)).await;
        let leaves = match loaded {
            Ok(Ok(Some(report))) if report.rewards.root == active.root => {
                Some(Arc::new(report.rewards.cumulative))
            }
            Ok(Ok(_)) => None,
            Ok(Err(error)) => {
                tracing::warn!(epoch = active.epoch, %error, "the active root's report cannot be read");
                return None;
            }
            Err(error) => {
                tracing::warn!(epoch = active.epoch, %error, "reading the active root's report stopped");
                return None;
            }
        };
        *cached = Some(ActiveLeaves {
            epoch: active.epoch,
            root: active.root,
            file,
            leaves: leaves.clone(),
        });
        leaves
    }

    /// What claims paid `recipient`, read at most every [`CHAIN_FRESH`].
    async fn claimed(&self, recipient: Pubkey) -> Result<u64, String> {
        if let Some((read_at, claimed)) = self.claims.lock().expect("claims lock").get(&recipient) {
            if read_at.elapsed() < CHAIN_FRESH {
                return Ok(*claimed);
            }
        }
        let claimed = bounded("what claims paid", self.chain.claimed(recipient)).await?;
        let mut claims = self.claims.lock().expect("claims lock");
        if claims.len() >= MAX_CACHED_CLAIMS {
            claims.retain(|_, (read_at, _)| read_at.elapsed() < CHAIN_FRESH);
            if claims.len() >= MAX_CACHED_CLAIMS {
                claims.clear();
            }
        }
        claims.insert(recipient, (Instant::now(), claimed));
        Ok(claimed)
    }

    /// What `recipient` may claim now: its leaf in the active root (as this oracle computed
    /// that epoch), less what claims paid it.
    async fn claim_of(&self, recipient: Pubkey) -> Value {
        let active = match self.active_root().await {
            Ok(Some(active)) => active,
            Ok(None) => {
                return json!({ "active_epoch": null, "message": "no reward root is active on chain yet" })
            }
            Err(error) => {
                return json!({ "error": format!("the chain cannot be read now: {error}") })
            }
        };
        let Some(leaves) = self.leaves_of(active).await else {
            return json!({
                "active_epoch": active.epoch,
                "message": format!("the active root is epoch {}'s, whose leaves this oracle does not hold: ask another oracle of the network", active.epoch),
            });
        };
        let cumulative = leaves.get(&recipient).copied().unwrap_or(0);
        match self.claimed(recipient).await {
            Ok(claimed) => json!({
                "active_epoch": active.epoch,
                "cumulative": cumulative,
                "claimed": claimed,
                "claimable": cumulative.saturating_sub(claimed),
            }),
            Err(error) => json!({
                "active_epoch": active.epoch,
                "cumulative": cumulative,
                "error": format!("what claims paid cannot be read now: {error}"),
            }),
        }
    }

    /// The network page's chain part: votes of the newest epochs, the oracle set, the active
    /// root and the token's totals.
    async fn chain_part(&self, epochs: &[(u64, [u8; 32])]) -> Arc<Value> {
        let newest = epochs.first().map(|(epoch, _)| *epoch);
        let mut cached = self.network.lock().await;
        if let Some(read) = cached.as_ref() {
            if read.read_at.elapsed() < CHAIN_FRESH && read.newest == newest {
                return read.value.clone();
            }
        }
        let value = Arc::new(self.read_chain_part(epochs).await);
        *cached = Some(ChainRead {
            read_at: Instant::now(),
            newest,
            value: value.clone(),
        });
        value
    }

    async fn read_chain_part(&self, epochs: &[(u64, [u8; 32])]) -> Value {
        let mut errors = Vec::new();
        // Every read at once, each within its timeout: a slow endpoint costs the page one
        // timeout, not one per read.
        let voted: Vec<(u64, [u8; 32])> = epochs.iter().take(VOTE_EPOCHS).copied().collect();
        let (oracles, active, totals, records) =
            tokio::join!(
                bounded("the oracle set", self.chain.oracle_set()),
                self.active_root(),
                bounded("the token's totals", self.chain.network_totals()),
                futures_util::future::join_all(voted.iter().map(|(epoch, _)| {
                    bounded("an epoch record", self.chain.epoch_votes(*epoch))
                })),
            );
        let oracles = oracles.unwrap_or_else(|error| {
            errors.push(error);
            Vec::new()
        });
        let active = active.unwrap_or_else(|error| {
            errors.push(error);
            None
        });
        let totals = match totals {
            Ok(totals) => json!({
                "supply": totals.supply,
                "decimals": totals.decimals,
                "max_supply": totals.max_supply,
                "minted_total": totals.minted_total,
                "burned_total": totals.burned_total,
                "device_pool_cumulative": totals.device_pool_cumulative,
                "total_claimed": totals.total_claimed,
                "unclaimed": totals.device_pool_cumulative.saturating_sub(totals.total_claimed),
            }),
            Err(error) => {
                errors.push(error);
                Value::Null
            }
        };
        let mut quorum = 0;
        let mut agreement: HashMap<Pubkey, [u64; 3]> =
            oracles.iter().map(|oracle| (*oracle, [0u64; 3])).collect();
        let mut by_epoch = serde_json::Map::new();
        for ((epoch, our_root), record) in voted.iter().zip(records) {
            match record {
                Ok(Some(record)) => {
                    quorum = record.quorum;
                    for oracle in &record.oracles {
                        let tally = agreement.entry(*oracle).or_default();
                        match record.votes.iter().find(|(voter, _, _)| voter == oracle) {
                            Some((_, root, _)) if root == our_root => tally[0] += 1,
                            Some(_) => tally[1] += 1,
                            None => tally[2] += 1,
                        }
                    }
                    let superseded = active.is_some_and(|active| active.epoch > *epoch);
                    let status = match record.agreed {
                        None if record.votes.is_empty() => "voting: no vote yet",
                        None => "voting",
                        Some((_, _, true)) if superseded => {
                            "activated (a later epoch's root is active now)"
                        }
                        Some((_, _, true)) => "active",
                        Some((_, _, false)) => "pending: agreed, waiting for its challenge period",
                    };
                    by_epoch.insert(
                        epoch.to_string(),
                        json!({
                            "status": status,
                            "vetoes": record.vetoes,
                            "agreed_at": record.activation.map(|at| at.agreed_at),
                            "activates_at": record.activation.map(|at| at.activates_at),
                            "agreed_root": record.agreed.map(|(root, _, _)| hex::encode(root)),
                            "agreed_root_is_this_oracles": record.agreed.map(|(root, _, _)| &root == our_root),
                            "votes": record.votes.iter().map(|(oracle, root, total)| json!({
                                "oracle": oracle.to_string(),
                                "root": hex::encode(root),
                                "cumulative_total": total,
                                "matches_this_oracle": root == our_root,
                                "in_oracle_set": record.oracles.contains(oracle),
                            })).collect::<Vec<_>>(),
                        }),
                    );
                }
                Ok(None) => {
                    let settled = active.is_some_and(|active| active.epoch >= *epoch);
                    by_epoch.insert(
                        epoch.to_string(),
                        json!({
                            "status": if settled { "settled: its record was closed on chain" } else { "no record on chain" },
                            "votes": Value::Null,
                        }),
                    );
                }
                Err(error) => errors.push(error),
            }
        }
        let mut oracle_rows: Vec<Value> = agreement
            .into_iter()
            .map(|(oracle, [agrees, differs, missing])| {
                json!({
                    "oracle": oracle.to_string(),
                    "in_oracle_set": oracles.contains(&oracle),
                    "agrees": agrees,
                    "differs": differs,
                    "no_vote": missing,
                })
            })
            .collect();
        oracle_rows.sort_by(|a, b| a["oracle"].as_str().cmp(&b["oracle"].as_str()));
        errors.sort();
        errors.dedup();
        json!({
            "oracles": oracle_rows,
            "quorum": quorum,
            "active_root": active.map(|active| json!({
                "epoch": active.epoch,
                "root": hex::encode(active.root),
                "cumulative_total": active.cumulative_total,
            })),
            "totals": totals,
            "votes_by_epoch": by_epoch,
            "chain_errors": errors,
        })
    }
}

/// The index over the newest [`SUMMARY_EPOCHS`] stored reports, reusing `previous`'s parts
/// whose report file did not change; `None` when nothing changed. When the newest epoch's
/// devices cannot be indexed (its report or snapshot unreadable), the previous newest stays
/// and the index is marked incomplete, so the next look tries again.
fn build_index(sources: &Sources, previous: &Index) -> Result<Option<Index>, ReportFileError> {
    let reports = &sources.reports;
    let mut epochs = reports.epochs()?;
    let keep_from = epochs.len().saturating_sub(SUMMARY_EPOCHS);
    let epochs = epochs.split_off(keep_from);
    let files: Vec<(u64, ReportSource)> = epochs
        .iter()
        .filter_map(|&epoch| {
            let metadata = std::fs::metadata(reports.path(epoch)).ok()?;
            Some((
                epoch,
                ReportSource {
                    size: metadata.len(),
                    modified: metadata.modified().ok(),
                },
            ))
        })
        .collect();
    let unchanged = previous.complete
        && files.len() == previous.summaries.len()
        && files.iter().all(|(epoch, source)| {
            previous
                .summaries
                .get(epoch)
                .is_some_and(|summary| summary.source == *source)
        });
    if unchanged {
        return Ok(None);
    }
    let newest_epoch = files.last().map(|(epoch, _)| *epoch);
    let mut index = Index {
        complete: true,
        ..Index::default()
    };
    for (epoch, source) in files {
        let is_newest = Some(epoch) == newest_epoch;
        let reused = previous
            .summaries
            .get(&epoch)
            .filter(|summary| summary.source == source);
        let reusable_newest = previous
            .newest
            .as_ref()
            .filter(|newest| is_newest && newest.epoch == epoch && reused.is_some());
        // A summary is reused unless it is the newest epoch's and its devices must be indexed.
        if let Some(summary) = reused.filter(|_| !is_newest || reusable_newest.is_some()) {
            index.summaries.insert(epoch, summary.clone());
            if let Some(newest) = reusable_newest {
                index.newest = Some(newest.clone());
            }
            continue;
        }
        let report = match reports.load(epoch) {
            Ok(Some(report)) => Arc::new(report),
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(epoch, %error, "the explorer skips a report it cannot read");
                index.complete &= !is_newest;
                continue;
            }
        };
        let snapshot = match groundwork_oracle_chainview::stored_snapshot(
            &sources.chain_view_dir,
            epoch,
        ) {
            Ok(snapshot) => snapshot,
            Err(error) => {
                tracing::warn!(epoch, %error, "the explorer reads an epoch without its snapshot");
                None
            }
        };
        let ledger = groundwork_oracle_chainview::stored_ledger(&sources.chain_view_dir, epoch)
            .unwrap_or_else(|error| {
                tracing::warn!(epoch, %error, "the explorer reads an epoch without its ledger");
                None
            });
        let summary =
            EpochSummary::new(&report, snapshot.as_ref(), ledger, source, &sources.params);
        index.summaries.insert(epoch, Arc::new(summary));
        if is_newest {
            match &snapshot {
                Some(snapshot) => {
                    index.newest = Some(Arc::new(Newest::new(report, snapshot, &sources.params)))
                }
                None => index.complete = false,
            }
        }
    }
    if index.newest.is_none() {
        // The newest epoch's devices could not be indexed: the last ones that could stay.
        index.newest = previous.newest.clone();
    }
    Ok(Some(index))
}

fn standings_json(counts: &StandingCounts) -> Value {
    Value::Object(
        STANDINGS
            .iter()
            .zip(counts)
            .map(|(name, count)| (name.to_string(), json!(count)))
            .collect(),
    )
}

fn unreadable(message: String) -> Response {
    tracing::error!(%message, "the explorer's index cannot be made");
    refusal(
        StatusCode::INTERNAL_SERVER_ERROR,
        "index_unreadable",
        message,
    )
}

fn invalid_key(key: &str) -> Response {
    refusal(
        StatusCode::BAD_REQUEST,
        "invalid_key",
        format!("{key:?} is not a base58 public key"),
    )
}

fn nothing_verified() -> Response {
    refusal(
        StatusCode::NOT_FOUND,
        "nothing_verified",
        "no epoch is verified yet: the explorer shows devices from the first verified epoch on",
    )
}

/// `GET /v1/explorer/network`.
async fn network(State(explorer): State<Arc<Explorer>>) -> Response {
    let index = match explorer.index().await {
        Ok(index) => index,
        Err(message) => return unreadable(message),
    };
    let newest_first: Vec<&Arc<EpochSummary>> = index.summaries.values().rev().collect();
    let roots: Vec<(u64, [u8; 32])> = newest_first
        .iter()
        .map(|summary| (summary.epoch, summary.root))
        .collect();
    let chain = explorer.chain_part(&roots).await;
    let epochs: Vec<Value> = newest_first
        .iter()
        .map(|summary| {
            let on_chain = &chain["votes_by_epoch"][summary.epoch.to_string()];
            json!({
                "epoch": summary.epoch,
                "root": hex::encode(summary.root),
                "report_digest": hex::encode(summary.report_digest),
                "base_epoch": summary.base_epoch,
                "chain": summary.chain.map(|side| json!({
                    "start_ts": side.start_ts,
                    "end_ts": side.end_ts,
                    "closed_at": side.closed_at,
                    "minted": side.minted,
                    "device_share": side.device_share,
                    "staker_share": side.staker_share,
                    "treasury_share": side.treasury_share,
                    "burned_for_credits": side.burned_for_credits,
                    "credits_bought": side.credits_bought,
                    "supply_after_mint": side.ledger.and_then(|ledger| ledger.supply_after_mint),
                    "minted_total": side.ledger.and_then(|ledger| ledger.minted_total),
                    "burned_total": side.ledger.and_then(|ledger| ledger.burned_total),
                    "total_claimed": side.ledger.and_then(|ledger| ledger.total_claimed),
                })),
                "pool": summary.pool,
                "paid": summary.paid,
                "dust": summary.dust,
                "carried_dust_in": summary.carried_dust_in,
                "cumulative_total": summary.cumulative_total,
                "recipients": summary.recipients,
                "missing_peer_sets": summary.missing_peer_sets,
                "devices": summary.devices,
                "standings": standings_json(&summary.standings),
                "zeroed_by_reason": summary.zeroed_by_reason,
                "status": on_chain.get("status").cloned().unwrap_or(Value::Null),
                "vetoes": on_chain.get("vetoes").cloned().unwrap_or(Value::Null),
                "agreed_at": on_chain.get("agreed_at").cloned().unwrap_or(Value::Null),
                "agreed_root": on_chain.get("agreed_root").cloned().unwrap_or(Value::Null),
                "agreed_root_is_this_oracles": on_chain.get("agreed_root_is_this_oracles").cloned().unwrap_or(Value::Null),
                "activates_at": on_chain.get("activates_at").cloned().unwrap_or(Value::Null),
                "votes": on_chain.get("votes").cloned().unwrap_or(Value::Null),
            })
        })
        .collect();
    Json(json!({
        "newest_verified_epoch": index.newest.as_ref().map(|newest| newest.epoch),
        "devices": index.newest.as_ref().map(|newest| newest.devices.len()),
        "epochs": epochs,
        "oracles": chain["oracles"],
        "quorum": chain["quorum"],
        "active_root": chain["active_root"],
        "totals": chain["totals"],
        "chain_errors": chain["chain_errors"],
    }))
    .into_response()
}

fn device_json(device: &DeviceMark) -> Value {
    json!({
        "device": device.key.to_string(),
        "operator": device.operator.to_string(),
        "recipient": device.recipient.to_string(),
        "class_id": device.class_id,
        "cell": device.cell.map(|cell| format!("{cell:x}")),
        "position": device.position.map(|(lat, lng)| json!({ "lat": lat, "lng": lng })),
        "onboarded_at": device.onboarded_at,
        "standing": device.standing.name(),
        "reason": device.standing.reason(),
        "amount": device.amount,
    })
}

/// `GET /v1/explorer/map?west=&south=&east=&north=&zoom=`.
async fn map(
    State(explorer): State<Arc<Explorer>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let mut numbers = [0f64; 5];
    for (slot, name) in ["west", "south", "east", "north", "zoom"]
        .iter()
        .enumerate()
    {
        match query.get(*name).map(|value| value.parse::<f64>()) {
            Some(Ok(number)) => numbers[slot] = number,
            _ => {
                return refusal(
                    StatusCode::BAD_REQUEST,
                    "bad_view",
                    format!("{name} is missing or not a number: ask with ?west=&south=&east=&north=&zoom= (degrees, Web Mercator zoom)"),
                )
            }
        }
    }
    let [west, south, east, north, zoom] = numbers;
    let view = match MapView::new(west, south, east, north, zoom) {
        Ok(view) => view,
        Err(message) => return refusal(StatusCode::BAD_REQUEST, "bad_view", message),
    };
    let index = match explorer.index().await {
        Ok(index) => index,
        Err(message) => return unreadable(message),
    };
    let Some(newest) = index.newest.as_ref() else {
        return Json(json!({ "epoch": null, "mode": "devices", "devices": [], "clusters": [], "in_view": 0, "total": 0 })).into_response();
    };
    let answer = match newest.map(&view) {
        MapAnswer::Devices {
            devices,
            in_view_total,
        } => json!({
            "epoch": newest.epoch,
            "mode": "devices",
            "in_view": in_view_total,
            "total": newest.devices.len(),
            "devices": devices.iter().map(|device| json!({
                "device": device.key.to_string(),
                "standing": device.standing.name(),
                "reason": device.standing.reason(),
                "amount": device.amount,
                "lat": device.position.map(|(lat, _)| rounded(lat)),
                "lng": device.position.map(|(_, lng)| rounded(lng)),
                "boundary": device
                    .cell
                    .filter(|cell| view.draws_hexagon(*cell))
                    .map(cell_boundary)
                    .unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "clusters": [],
        }),
        MapAnswer::Clusters {
            resolution,
            clusters,
            in_view_total,
        } => json!({
            "epoch": newest.epoch,
            "mode": "clusters",
            "resolution": resolution,
            "in_view": in_view_total,
            "total": newest.devices.len(),
            "devices": [],
            "clusters": clusters.iter().map(|cluster| json!({
                "cell": format!("{:x}", cluster.cell),
                "lat": rounded(cluster.lat),
                "lng": rounded(cluster.lng),
                "devices": cluster.devices,
                "standings": cluster.standings,
            })).collect::<Vec<_>>(),
        }),
    };
    Json(answer).into_response()
}

/// The key a page asks for, the index and the newest verified epoch's devices, or the
/// refusal (a key that is not one, an index that cannot be made, nothing verified yet).
async fn key_and_newest(
    explorer: &Explorer,
    key: &str,
) -> Result<(Pubkey, Arc<Index>, Arc<Newest>), Box<Response>> {
    let Ok(key) = key.parse::<Pubkey>() else {
        return Err(Box::new(invalid_key(key)));
    };
    let index = explorer
        .index()
        .await
        .map_err(|message| Box::new(unreadable(message)))?;
    let newest = index
        .newest
        .clone()
        .ok_or_else(|| Box::new(nothing_verified()))?;
    Ok((key, index, newest))
}

/// `GET /v1/explorer/devices/{key}`.
async fn device(
    State(explorer): State<Arc<Explorer>>,
    RoutePath(key): RoutePath<String>,
) -> Response {
    let (key, _, newest) = match key_and_newest(&explorer, &key).await {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let Some(device) = newest.device(&key) else {
        return refusal(
            StatusCode::NOT_FOUND,
            "device_not_found",
            format!(
                "device {key} is not in epoch {}, the newest verified (it was not onboarded then)",
                newest.epoch
            ),
        );
    };
    let mut answer = device_json(device);
    answer["epoch"] = json!(newest.epoch);
    answer["claim"] = explorer.claim_of(device.recipient).await;
    Json(answer).into_response()
}

/// `GET /v1/explorer/operators/{key}`.
async fn operator(
    State(explorer): State<Arc<Explorer>>,
    RoutePath(key): RoutePath<String>,
) -> Response {
    let (key, index, newest) = match key_and_newest(&explorer, &key).await {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let mark = newest.operators.get(&key);
    let devices = newest.by_operator.get(&key);
    if mark.is_none() && devices.is_none() {
        return refusal(
            StatusCode::NOT_FOUND,
            "operator_not_found",
            format!(
                "{key} is no operator in epoch {}, the newest verified",
                newest.epoch
            ),
        );
    }
    let indices = devices.map(Vec::as_slice).unwrap_or_default();
    let recipient = mark.and_then(|mark| mark.reward_recipient).unwrap_or(key);
    let epochs: Vec<Value> = index
        .summaries
        .values()
        .rev()
        .map(|summary| {
            let part = summary.operators.get(&key).cloned().unwrap_or_default();
            json!({
                "epoch": summary.epoch,
                "amount": part.amount,
                "devices": part.devices,
                "standings": standings_json(&part.standings),
                "zeroed_by_reason": part.zeroed_by_reason,
            })
        })
        .collect();
    Json(json!({
        "operator": key.to_string(),
        "epoch": newest.epoch,
        "registered": mark.is_some_and(|mark| mark.reward_recipient.is_some()),
        "recipient": recipient.to_string(),
        "active_stake": mark.map(|mark| mark.active_stake).unwrap_or(0),
        "device_count": indices.len(),
        "devices": newest.listed(indices).into_iter().map(device_json).collect::<Vec<_>>(),
        "epochs": epochs,
        "claim": explorer.claim_of(recipient).await,
    }))
    .into_response()
}

/// `GET /v1/explorer/recipients/{key}`.
async fn recipient(
    State(explorer): State<Arc<Explorer>>,
    RoutePath(key): RoutePath<String>,
) -> Response {
    let (key, _, newest) = match key_and_newest(&explorer, &key).await {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let indices = newest
        .by_recipient
        .get(&key)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let earned = newest.report.rewards.rewards.get(&key).copied();
    let cumulative = newest.report.rewards.cumulative.get(&key).copied();
    if indices.is_empty() && cumulative.is_none() {
        return refusal(
            StatusCode::NOT_FOUND,
            "recipient_not_found",
            format!(
                "{key} receives nothing in epoch {}, the newest verified",
                newest.epoch
            ),
        );
    }
    Json(json!({
        "recipient": key.to_string(),
        "epoch": newest.epoch,
        "earned_in_epoch": earned.unwrap_or(0),
        "cumulative": cumulative.unwrap_or(0),
        "device_count": indices.len(),
        "devices": newest.listed(indices).into_iter().map(device_json).collect::<Vec<_>>(),
        "claim": explorer.claim_of(key).await,
    }))
    .into_response()
}

/// Longest query the search box sends (a base58 key is at most 44 characters).
const MAX_QUERY_CHARS: usize = 64;

/// `GET /v1/explorer/search?q=`.
async fn search(
    State(explorer): State<Arc<Explorer>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let text = query.get("q").map(String::as_str).unwrap_or("").trim();
    if text.chars().count() > MAX_QUERY_CHARS {
        return refusal(
            StatusCode::BAD_REQUEST,
            "query_too_long",
            format!(
                "a key is at most 44 characters; the query has {}",
                text.chars().count()
            ),
        );
    }
    let index = match explorer.index().await {
        Ok(index) => index,
        Err(message) => return unreadable(message),
    };
    let results: Vec<Value> = index
        .newest
        .as_ref()
        .map(|newest| {
            newest
                .search(text)
                .into_iter()
                .map(|(key, kind)| json!({ "key": key, "kind": kind.name() }))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({
        "query": text,
        "epoch": index.newest.as_ref().map(|newest| newest.epoch),
        "results": results,
    }))
    .into_response()
}
