//! The independent check of an epoch bundle (SPEC 4.6), without trusting any oracle: every
//! part against its size and digest ([`fetch`]); every record's signature, network and time,
//! the records' order and the manifest, and the epoch computed again ([`records`]); the totals
//! the epoch adds to and the chain's record of it ([`chain`]); and what differs, named per
//! device and rule ([`differences`]).
//!
//! Nothing here reads the chain: the caller rebuilds the snapshot (the chain view, as a
//! library) and reads the epoch's votes, and passes them in ([`crate::verify`] does both).

pub mod chain;
pub mod differences;
pub mod records;

use std::path::{Path, PathBuf};

use groundwork_oracle_rewards::report::{decode_report, EpochReport};
use groundwork_oracle_rewards::snapshot::ChainSnapshot;
use groundwork_oracle_rewards::VerifyParams;

pub use chain::{
    base_of, chain_findings, check_base, votes_from_history, BaseCheck, ChainFindings, VoteFinding,
};
pub use differences::{
    device_differences, epoch_differences, rule_differences, snapshot_differences, DeviceDifference,
};
pub use records::{check_records, recompute, Recomputed};

use crate::{sha256_hex, BundleError, BundleIndex, BundleStore, PartName};

/// A fetched bundle: its index, the small parts decoded, the telemetry in a local file.
pub struct FetchedBundle {
    pub index: BundleIndex,
    pub index_digest: String,
    /// The telemetry part, streamed to a file (checked against its digest).
    pub telemetry: PathBuf,
    pub snapshot: ChainSnapshot,
    pub snapshot_digest: String,
    pub report: EpochReport,
    pub params: VerifyParams,
}

/// Fetches `epoch`'s bundle from `store`: the index, then each part checked against its
/// digest (a part whose bytes do not match is refused with its name), the telemetry streamed
/// into `work_dir` with `progress(received, total)`.
pub async fn fetch(
    store: &BundleStore,
    epoch: u64,
    work_dir: &Path,
    mut progress: impl FnMut(u64, u64),
) -> Result<FetchedBundle, BundleError> {
    let (index, index_bytes) = store.index(epoch).await?;
    let decode_error =
        |part: PartName| move |message: String| BundleError::PartDecode { part, message };
    let snapshot_bytes = store.part(index.part(PartName::Snapshot)).await?;
    let snapshot =
        ChainSnapshot::decode(&snapshot_bytes).map_err(decode_error(PartName::Snapshot))?;
    if snapshot.epoch != epoch {
        return Err(decode_error(PartName::Snapshot)(format!(
            "it is epoch {}'s snapshot",
            snapshot.epoch
        )));
    }
    let report_bytes = store.part(index.part(PartName::Report)).await?;
    let report = decode_report(&report_bytes, epoch)
        .map_err(|error| decode_error(PartName::Report)(error.to_string()))?;
    let reported = (
        hex::encode(report.rewards.root),
        report.rewards.cumulative_total,
    );
    if (index.root.clone(), index.cumulative_total) != reported {
        return Err(BundleError::Index(format!(
            "it names root {} (total {}), its report root {} (total {})",
            index.root, index.cumulative_total, reported.0, reported.1
        )));
    }
    let params_bytes = store.part(index.part(PartName::Params)).await?;
    let params = VerifyParams::from_canonical_bytes(&params_bytes)
        .map_err(decode_error(PartName::Params))?;
    let telemetry_part = index.part(PartName::Telemetry).clone();
    let telemetry = work_dir.join(format!("epoch-{epoch}-{}.telemetry", telemetry_part.sha256));
    let total = telemetry_part.bytes;
    store
        .part_to_file(&telemetry_part, &telemetry, |received| {
            progress(received, total)
        })
        .await?;
    Ok(FetchedBundle {
        index_digest: sha256_hex(&index_bytes),
        index,
        telemetry,
        snapshot_digest: sha256_hex(&snapshot_bytes),
        snapshot,
        report,
        params,
    })
}
