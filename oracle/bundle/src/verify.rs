//! `groundwork rewards verify-epoch` as a library (a watchtower can embed it): an epoch's
//! bundle checked against an RPC endpoint's finalized history alone, no oracle involved.
//!
//! The bundle is fetched (every part against its size and digest); the epoch's chain snapshot
//! is rebuilt by the chain view, in this process, from the endpoint's finalized history, with
//! the roots' votes since the epoch's start (what stands in for an epoch record closed on
//! chain); every record is checked and the epoch computed again over the rebuilt snapshot with
//! the bundle's parameters; then the totals it adds to, the report and the chain's record are
//! compared ([`crate::check`]). [`EpochCheck::ok`] only when everything matches.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chain::{Chain, EpochVotes, RpcChain};
use groundwork_oracle_chainview::ChainView;
use groundwork_oracle_rewards::VerifyParams;
use groundwork_telemetry::Key;
use serde::Serialize;

use crate::check::{
    base_of, chain_findings, check_base, device_differences, epoch_differences, fetch, recompute,
    snapshot_differences, votes_from_history, BaseCheck, ChainFindings, DeviceDifference,
};
use crate::{index_path, sha256_hex, BundleError, BundleStore, PartName};

/// What the check is doing, for a progress display.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// The telemetry part arriving.
    Fetching { received: u64, total: u64 },
    /// The chain view reading the endpoint's history.
    Rebuilding,
    /// Every record checked and the epoch computed again.
    Checking { read: u64, total: u64 },
}

/// What the check needs besides the bundle.
#[derive(Clone, Debug)]
pub struct CheckSettings {
    /// The endpoints whose finalized history the snapshot is rebuilt from (tried in order).
    pub rpc_urls: Vec<String>,
    /// The key every message of the network names (the device registry's config).
    pub network: Key,
    /// The current oracle set and quorum, counting the votes read from history once an
    /// epoch's record is closed.
    pub oracles: Vec<Pubkey>,
    pub quorum: u8,
    /// The network's `[verify]` parameters, when the bundle's must be these.
    pub expected_params: Option<VerifyParams>,
}

/// What the check found.
#[derive(Clone, Debug, Serialize)]
pub struct EpochCheck {
    pub epoch: u64,
    pub ok: bool,
    /// Every problem, one line each (empty when OK).
    pub problems: Vec<String>,
    pub bundle: String,
    pub index_digest: String,
    pub telemetry_bytes: u64,
    pub records: u64,
    pub refused_records: BTreeMap<String, u64>,
    pub union_messages: u64,
    pub union_conflicts: u64,
    /// The snapshot's digest in the bundle, in the report, and as rebuilt from the chain.
    pub snapshot_bundle: String,
    pub snapshot_report: String,
    pub snapshot_chain: String,
    pub snapshot_differences: Vec<String>,
    pub base: BaseCheck,
    pub reported_root: String,
    pub reported_total: u64,
    pub computed_root: String,
    pub computed_total: u64,
    pub devices_differing: Vec<DeviceDifference>,
    pub chain: ChainFindings,
    pub rpc: String,
    /// SHA-256 of the bundle's `[verify]` parameters (canonical form): what it was computed
    /// with.
    pub params_digest: String,
}

fn chain_error(error: impl std::fmt::Display) -> BundleError {
    BundleError::Chain(error.to_string())
}

/// Checks `epoch`'s bundle in `store` (see the module documentation), working in `work_dir`.
pub async fn verify_epoch(
    store: &BundleStore,
    epoch: u64,
    work_dir: &Path,
    settings: &CheckSettings,
    progress: Arc<dyn Fn(Step) + Send + Sync>,
) -> Result<EpochCheck, BundleError> {
    let fetching = progress.clone();
    let bundle = fetch(store, epoch, work_dir, move |received, total| {
        fetching(Step::Fetching { received, total })
    })
    .await?;
    let chain = RpcChain::new(&settings.rpc_urls);

    // The epoch's chain snapshot, rebuilt from finalized history; the roots' votes and
    // activations since the epoch's start from the same history, read before the snapshot
    // moves the view's base on.
    progress(Step::Rebuilding);
    let timing = chain.epoch_timing().await.map_err(chain_error)?;
    let mut view = ChainView::open(
        &settings.rpc_urls,
        work_dir.join("chain-view"),
        timing,
        epoch,
    )
    .map_err(chain_error)?;
    view.poll().await.map_err(chain_error)?;
    let root_facts = view.root_facts();
    let chain_snapshot = view
        .snapshot(epoch)
        .await
        .map_err(chain_error)?
        .ok_or_else(|| {
            BundleError::Chain(format!(
                "the chain has not closed epoch {epoch} (finalized): there is no snapshot to check against yet"
            ))
        })?;

    let report = &bundle.report;
    let mut problems = Vec::new();
    if let Some(expected) = &settings.expected_params {
        if *expected != bundle.params {
            problems.push(format!(
                "the bundle's [verify] parameters are not the network's: the bundle's {}",
                String::from_utf8_lossy(&bundle.params.canonical_bytes())
            ));
        }
    }
    let base = base_of(report)
        .map_err(|error| BundleError::Index(format!("the report's totals: {error}")))?;
    // An epoch's record, or — once it was closed on chain — its votes from history.
    let record_or_history = |record: Option<EpochVotes>, of: u64| match record {
        Some(record) => (Some(record), "record"),
        None => (
            votes_from_history(of, &root_facts, &settings.oracles, settings.quorum),
            "history",
        ),
    };
    let previous = match epoch.checked_sub(1) {
        Some(of) => record_or_history(chain.epoch_votes(of).await.map_err(chain_error)?, of).0,
        None => None,
    };
    let (votes, votes_source) =
        record_or_history(chain.epoch_votes(epoch).await.map_err(chain_error)?, epoch);
    let active = chain.active_root().await.map_err(chain_error)?;
    let base_check = check_base(
        report,
        &base,
        &chain_snapshot,
        previous.as_ref(),
        active.as_ref(),
    );
    problems.extend(base_check.problems.iter().cloned());

    // Every record checked and the epoch computed again (on a blocking thread).
    let telemetry_bytes = bundle.index.part(PartName::Telemetry).bytes;
    let checking = progress.clone();
    let (telemetry, network) = (bundle.telemetry.clone(), settings.network);
    let (snapshot, params) = (chain_snapshot.clone(), bundle.params.clone());
    let dust_in = report.carried_dust_in;
    let recomputed = tokio::task::spawn_blocking(move || {
        recompute(
            &telemetry,
            network,
            &snapshot,
            &params,
            dust_in,
            &base,
            |read| {
                checking(Step::Checking {
                    read,
                    total: telemetry_bytes,
                })
            },
        )
    })
    .await
    .map_err(|error| BundleError::Chain(format!("the check stopped: {error}")))??;

    let refused: u64 = recomputed.refused.values().sum();
    if refused > 0 {
        problems.push(format!(
            "{refused} of the {} records fail a check: {:?}",
            recomputed.records, recomputed.refused
        ));
    }
    let (streamed, announced) = (&recomputed.streamed, &recomputed.announced);
    if streamed != announced {
        problems.push(format!(
            "the telemetry's records make manifest {} ({} messages, {} conflicts), not the {} ({} messages, {} conflicts) it announces",
            streamed.digest,
            streamed.messages,
            streamed.conflicts,
            announced.digest,
            announced.messages,
            announced.conflicts
        ));
    }
    let union = &report.union;
    if (union.messages, union.conflicts, &union.digest)
        != (streamed.messages, streamed.conflicts, &streamed.digest)
    {
        problems.push(format!(
            "the report was computed over union {} ({} messages, {} conflicts); the bundle's telemetry is {} ({} messages, {} conflicts)",
            union.digest,
            union.messages,
            union.conflicts,
            streamed.digest,
            streamed.messages,
            streamed.conflicts
        ));
    }
    let snapshot_chain = chain_snapshot.digest_hex();
    let snapshot_report = hex::encode(report.snapshot_digest);
    let mut snapshot_lines = Vec::new();
    if snapshot_chain != bundle.snapshot_digest || snapshot_report != bundle.snapshot_digest {
        problems.push(format!(
            "the chain snapshot rebuilt from the chain ({snapshot_chain}) is not the bundle's ({}) or the report's ({snapshot_report})",
            bundle.snapshot_digest
        ));
        snapshot_lines = snapshot_differences(&bundle.snapshot, &chain_snapshot, 20);
    }
    let computed = &recomputed.rewards;
    let differing = device_differences(
        &report.rewards,
        computed,
        &chain_snapshot,
        &bundle.params,
        &bundle.params,
    );
    if computed.root != report.rewards.root
        || computed.cumulative_total != report.rewards.cumulative_total
    {
        problems.push(format!(
            "computed again, the epoch's root is {} (total {}), not the report's {} (total {}): {} devices' rewards differ",
            hex::encode(computed.root),
            computed.cumulative_total,
            hex::encode(report.rewards.root),
            report.rewards.cumulative_total,
            differing.len()
        ));
    } else if !differing.is_empty() {
        problems.push(format!(
            "the root matches but {} devices' rows differ",
            differing.len()
        ));
    }
    problems.extend(epoch_differences(&report.rewards, computed));
    let findings = chain_findings(
        epoch,
        (&computed.root, computed.cumulative_total),
        (&report.rewards.root, report.rewards.cumulative_total),
        votes.as_ref(),
        votes_source,
        active.as_ref(),
    );
    problems.extend(findings.problems.iter().cloned());
    let _ = std::fs::remove_file(&bundle.telemetry);
    Ok(EpochCheck {
        epoch,
        ok: problems.is_empty(),
        problems,
        bundle: format!("{}/{}", store.url(), index_path(epoch)),
        index_digest: bundle.index_digest.clone(),
        telemetry_bytes,
        records: recomputed.records,
        refused_records: recomputed.refused.clone(),
        union_messages: streamed.messages,
        union_conflicts: streamed.conflicts,
        snapshot_bundle: bundle.snapshot_digest.clone(),
        snapshot_report,
        snapshot_chain,
        snapshot_differences: snapshot_lines,
        base: base_check,
        reported_root: hex::encode(report.rewards.root),
        reported_total: report.rewards.cumulative_total,
        computed_root: hex::encode(computed.root),
        computed_total: computed.cumulative_total,
        devices_differing: differing,
        chain: findings,
        rpc: settings.rpc_urls.join(", "),
        params_digest: sha256_hex(&bundle.params.canonical_bytes()),
    })
}
