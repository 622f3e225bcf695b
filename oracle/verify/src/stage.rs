//! The verify stage: every epoch that is sealed in the store, whose chain snapshot is made and
//! whose shared input is ready (every peer's sealed set pulled, or the wait for them over) is
//! computed once, over the union of this oracle's set and the peers' (merged in (device, seq)
//! order, a device at a time), and its report — the commit point — is stored in
//! `reports/<epoch>.report` (written whole, never replaced). The next epoch adds to the
//! previous report's cumulative totals and its dust; an oracle without the previous report
//! (it joined late, or lost its data) adopts a peer's, checked against the chain (when no
//! root was ever active and no peer has one, the earlier pools are carried as dust). At
//! start the newest report is computed again from the same inputs and compared: a difference
//! is a loud determinism alarm, and the stored report stays.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chain::{ActiveRoot, Chain, ChainError, EpochVotes};
use groundwork_oracle_chainview::{stored_snapshot, ChainSnapshot, ViewError};
use groundwork_oracle_core::files::{epoch_files, write_atomically};
use groundwork_oracle_rewards::report::{
    decode_report, EpochReport, InputSet, ReportFileError, Reports, REPORT_VERSION,
};
use groundwork_oracle_store::manifest::{EpochRecord, Manifest, ManifestBuilder};
use groundwork_oracle_store::{EpochStream, Store, StoreError};

use crate::shared::{
    PulledRecords, PulledSet, ReadAhead, Readiness, ReportAnswer, SharedInput, SharedInputError,
};
use groundwork_oracle_rewards::union::{UnionComputation, UnionFilter};
use groundwork_oracle_rewards::{cumulative_tree, EpochRewards, VerifyParams};

/// A set of telemetry as its manifest describes it, for the report.
pub fn input_set(manifest: &Manifest) -> InputSet {
    InputSet {
        messages: manifest.messages,
        conflicts: manifest.conflicts,
        digest: manifest.digest.clone(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Report(#[from] ReportFileError),
    #[error("the file {path}: {source}")]
    PeersFile {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the file {path} does not parse: {source}")]
    PeersFileParse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    #[error("epoch {epoch}'s stream ({streamed}) does not match its manifest ({manifest})")]
    StreamMismatch {
        epoch: u64,
        streamed: String,
        manifest: String,
    },
    #[error("the {what} stopped: {source}")]
    TaskStopped {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    #[error("the chain view: {0}")]
    ChainView(#[from] ViewError),
    #[error("the chain: {0}")]
    Chain(#[from] ChainError),
    #[error("the chain view's snapshots folder: {0}")]
    Snapshots(#[source] std::io::Error),
    #[error("the snapshot of epoch {0} disappeared")]
    SnapshotGone(u64),
    #[error("verified work: {0}")]
    Verify(#[from] groundwork_oracle_rewards::VerifyError),
    #[error("epoch {epoch}'s telemetry holds a message that does not decode: {message}")]
    Telemetry { epoch: u64, message: String },
    #[error("shared input: {0}")]
    Shared(#[from] SharedInputError),
}

fn peers_file_error(path: &Path) -> impl FnOnce(std::io::Error) -> StageError + '_ {
    move |source| StageError::PeersFile {
        path: path.display().to_string(),
        source,
    }
}

/// Keeps which peers `epoch` merged beside its report (`<epoch>.peers.json`, replaced whole;
/// written before the report).
pub fn save_peers(reports: &Reports, epoch: u64, peers: &PeerInputs) -> Result<(), StageError> {
    let path = reports.dir().join(format!("{epoch}.peers.json"));
    let json = serde_json::to_vec_pretty(peers).expect("peer inputs serialise");
    write_atomically(&path, &json).map_err(peers_file_error(&path))
}

/// Where the `[verify]` parameters `epoch` was computed with are kept (canonical form,
/// written before the report): what its epoch bundle publishes. An adopted report has none.
pub fn params_path(reports: &Reports, epoch: u64) -> PathBuf {
    reports.dir().join(format!("{epoch}.params.json"))
}

/// Where the roots refused for `epoch` are listed (hex, a JSON array): written by
/// `groundwork-oracle recompute` after the authority vetoed the epoch (SPEC 4.4).
pub fn vetoed_roots_path(reports: &Reports, epoch: u64) -> PathBuf {
    reports.dir().join(format!("{epoch}.vetoed-roots"))
}

/// The roots refused for `epoch` (empty when none was vetoed).
pub fn vetoed_roots(reports: &Reports, epoch: u64) -> Result<Vec<String>, StageError> {
    let path = vetoed_roots_path(reports, epoch);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StageError::PeersFileParse {
            path: path.display().to_string(),
            source,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(error) => Err(peers_file_error(&path)(error)),
    }
}

/// Which peers `epoch` merged (empty when it merged none, or before it is computed).
pub fn load_peers(reports: &Reports, epoch: u64) -> Result<PeerInputs, StageError> {
    let path = reports.dir().join(format!("{epoch}.peers.json"));
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| StageError::PeersFileParse {
            path: path.display().to_string(),
            source,
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(PeerInputs::default()),
        Err(error) => Err(peers_file_error(&path)(error)),
    }
}

/// Which peers' sets an epoch merged and which were missing, as this oracle names them: kept
/// beside its report (`<epoch>.peers.json`), served by the API.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerInputs {
    pub merged: Vec<PulledSet>,
    /// (peer, why its set was not pulled)
    pub missing: Vec<(String, String)>,
}

/// What one pass of the stage did.
#[derive(Debug, Default)]
pub struct Pass {
    pub stored: Vec<EpochReport>,
    /// Why the next epoch is not computed yet.
    pub waiting: Option<String>,
    /// The newest stored report, computed again, differed: (epoch, stored digest, new digest).
    pub determinism_alarm: Option<(u64, [u8; 32], [u8; 32])>,
    /// A peer's report adopted as the base of the first epoch this oracle computes: (epoch,
    /// peer).
    pub adopted: Option<(u64, String)>,
    /// Why the newest stored report could not be computed again at start (an input is gone).
    pub unchecked: Option<String>,
    /// This oracle's report of the chain's active epoch has another root: (epoch, this
    /// oracle's root, the active root). Nothing more is computed until an operator acts.
    pub diverged: Option<(u64, [u8; 32], [u8; 32])>,
}

/// The totals an epoch adds to.
struct Base {
    carried_dust_in: u64,
    base_epoch: Option<u64>,
    cumulative: BTreeMap<Pubkey, u64>,
}

/// The verify stage over a store, a chain view directory, a reports directory and, when the
/// network has several oracles, their shared input.
pub struct Verifier {
    store: Store,
    chain_view_dir: PathBuf,
    reports: Reports,
    params: VerifyParams,
    shared: Option<std::sync::Arc<SharedInput>>,
    chain: Option<std::sync::Arc<dyn Chain>>,
    checked_at_start: bool,
}

impl Verifier {
    pub fn new(
        store: Store,
        chain_view_dir: impl Into<PathBuf>,
        reports_dir: impl Into<PathBuf>,
        params: VerifyParams,
    ) -> Self {
        Verifier {
            store,
            chain_view_dir: chain_view_dir.into(),
            reports: Reports::new(reports_dir),
            params,
            shared: None,
            chain: None,
            checked_at_start: false,
        }
    }

    /// Merges the peers' sets of `shared` into every epoch.
    pub fn with_shared_input(mut self, shared: std::sync::Arc<SharedInput>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Reads the chain's newest active root when a base must be found (without it: no root
    /// was ever active).
    pub fn with_chain(mut self, chain: std::sync::Arc<dyn Chain>) -> Self {
        self.chain = Some(chain);
        self
    }

    pub fn reports(&self) -> &Reports {
        &self.reports
    }

    /// The epoch the stage computes next (the newest report's successor, or the first epoch
    /// with a chain snapshot), if any.
    pub fn next_epoch(&self) -> Result<Option<u64>, StageError> {
        next_epoch_to_compute(&self.reports, &self.chain_view_dir)
    }

    /// Computes and stores every epoch that is ready after the newest stored report (the
    /// first time, after computing the newest stored report again and comparing). `now_ms`
    /// only decides whether the wait for missing peers is over.
    pub async fn pass(&mut self, now_ms: i64) -> Result<Pass, StageError> {
        let mut pass = Pass::default();
        if !self.checked_at_start {
            if let Some(newest) = self.reports.epochs()?.last() {
                if let Some(kept) = self.reports.load(*newest)? {
                    match self.check_again(&kept).await? {
                        Ok(alarm) => pass.determinism_alarm = alarm,
                        Err(unchecked) => pass.unchecked = Some(unchecked),
                    }
                }
            }
            self.checked_at_start = true;
        }
        if let Some(diverged) = self.diverged_from_chain().await? {
            let (epoch, own, active) = diverged;
            pass.diverged = Some(diverged);
            pass.waiting = Some(format!(
                "this oracle's report of epoch {epoch} has root {} but the chain activated {}: its cumulative totals are not the network's, and nothing more is computed on them; move its reports from epoch {epoch} on aside (and its peers' sets stay) so it adopts a peer's report that matches the chain",
                hex::encode(own),
                hex::encode(active)
            ));
            return Ok(pass);
        }
        let Some(mut next) = self.next_epoch()? else {
            pass.waiting = Some("no chain snapshot is made yet".into());
            return Ok(pass);
        };
        loop {
            let (merged, missing) = match self.inputs_ready(next, now_ms).await? {
                Ok(inputs) => inputs,
                Err(waiting) => {
                    pass.waiting = Some(waiting);
                    return Ok(pass);
                }
            };
            let base = match self.base_for(next, &mut pass).await? {
                Ok(base) => base,
                Err(waiting) => {
                    pass.waiting = Some(waiting);
                    return Ok(pass);
                }
            };
            let missing_count = u32::try_from(missing.len()).unwrap_or(u32::MAX);
            match self
                .compute_with(next, &merged, missing_count, base)
                .await?
            {
                Some(report) => {
                    let root = hex::encode(report.rewards.root);
                    if vetoed_roots(&self.reports, next)?.contains(&root) {
                        pass.waiting = Some(format!(
                            "epoch {next} computed again gives the root the authority vetoed ({root}): it is not stored or voted; correct the configuration ([verify] parameters or denylist) and restart"
                        ));
                        return Ok(pass);
                    }
                    save_peers(
                        &self.reports,
                        next,
                        &PeerInputs {
                            merged: merged.clone(),
                            missing,
                        },
                    )?;
                    let params = params_path(&self.reports, next);
                    write_atomically(&params, &self.params.canonical_bytes())
                        .map_err(peers_file_error(&params))?;
                    self.reports.save(&report)?;
                    pass.stored.push(report);
                    next += 1;
                }
                None => {
                    pass.waiting = Some(format!("epoch {next}: its seal in the store"));
                    return Ok(pass);
                }
            }
        }
    }

    /// This oracle's report of the chain's active epoch, when its root is not the active one:
    /// (epoch, its root, the active root).
    async fn diverged_from_chain(&self) -> Result<Option<(u64, [u8; 32], [u8; 32])>, StageError> {
        let Some(chain) = &self.chain else {
            return Ok(None);
        };
        let Some(active) = chain.active_root().await.map_err(StageError::Chain)? else {
            return Ok(None);
        };
        Ok(self
            .reports
            .load(active.epoch)?
            .filter(|report| report.rewards.root != active.root)
            .map(|report| (active.epoch, report.rewards.root, active.root)))
    }

    /// The newest report computed again from the inputs it names: (epoch, stored digest, new
    /// digest) when they differ; why it could not be compared when an input is gone.
    async fn check_again(
        &self,
        kept: &EpochReport,
    ) -> Result<Result<Option<(u64, [u8; 32], [u8; 32])>, String>, StageError> {
        let merged: Vec<PulledSet> = match &self.shared {
            Some(shared) => shared
                .pulled(kept.epoch)?
                .into_iter()
                .filter(|set| kept.inputs.contains(&input_set(&set.manifest)))
                .collect(),
            None => Vec::new(),
        };
        let epoch = kept.epoch;
        let Some(base) = self.stored_base(epoch)? else {
            return Ok(Err(format!(
                "epoch {epoch}: the report it adds to is not here (adopted from a peer)"
            )));
        };
        let Some(again) = self
            .compute_with(epoch, &merged, kept.missing_peer_sets, base)
            .await?
        else {
            return Ok(Err(format!(
                "epoch {epoch}: its chain snapshot or sealed telemetry is gone"
            )));
        };
        if again.inputs != kept.inputs {
            return Ok(Err(format!(
                "epoch {epoch}: a telemetry set it merged is gone ({} of {} sets here)",
                again.inputs.len(),
                kept.inputs.len()
            )));
        }
        Ok(Ok(
            (again != *kept).then(|| (epoch, kept.digest(), again.digest()))
        ))
    }

    /// Whether `epoch` can be computed: its chain snapshot, this oracle's seal and the
    /// peers' sets (or the end of the wait for them) — the sets to merge and the peers
    /// missing, or what it waits for.
    async fn inputs_ready(
        &self,
        epoch: u64,
        now_ms: i64,
    ) -> Result<Result<(Vec<PulledSet>, Vec<(String, String)>), String>, StageError> {
        if self.snapshot(epoch)?.is_none() {
            return Ok(Err(format!(
                "epoch {epoch}: its chain snapshot (made once the epoch is closed on chain)"
            )));
        }
        let sealed = self
            .store
            .manifest(epoch)
            .await
            .map_err(StageError::Store)?;
        if sealed.is_none() {
            return Ok(Err(format!("epoch {epoch}: its seal in the store")));
        }
        let Some(shared) = &self.shared else {
            return Ok(Ok((Vec::new(), Vec::new())));
        };
        Ok(match shared.readiness(epoch, now_ms)? {
            Readiness::Ready { merged, missing } => Ok((merged, missing)),
            Readiness::Waiting(waiting) => Err(waiting),
        })
    }

    /// The base of `epoch` from the stored previous report, if it is there or none is needed.
    fn stored_base(&self, epoch: u64) -> Result<Option<Base>, StageError> {
        if let Some(previous) = epoch.checked_sub(1) {
            if let Some(report) = self.reports.load(previous)? {
                return Ok(Some(Base {
                    carried_dust_in: report.rewards.dust,
                    base_epoch: Some(report.epoch),
                    cumulative: report.rewards.cumulative,
                }));
            }
        }
        let Some(snapshot) = self.snapshot(epoch)? else {
            return Ok(None);
        };
        // Nothing was paid to devices before this epoch: it starts from nothing.
        let earlier = snapshot
            .params
            .device_pool_cumulative
            .saturating_sub(snapshot.params.device_share);
        Ok((earlier == 0 || epoch == 0).then(|| Base {
            carried_dust_in: 0,
            base_epoch: None,
            cumulative: BTreeMap::new(),
        }))
    }

    /// The base of `epoch`: the stored previous report; or, for the first epoch this oracle
    /// computes when devices were paid before it, a peer's report of the previous epoch whose
    /// totals match the chain (adopted and stored); or, when every peer answers that it has
    /// none and no root was ever active on chain (nothing before could be claimed), every
    /// earlier device pool carried whole as dust; or what it waits for (a peer that cannot
    /// be reached is waited for).
    async fn base_for(
        &self,
        epoch: u64,
        pass: &mut Pass,
    ) -> Result<Result<Base, String>, StageError> {
        if let Some(base) = self.stored_base(epoch)? {
            return Ok(Ok(base));
        }
        let previous = epoch - 1;
        let snapshot = self
            .snapshot(epoch)?
            .ok_or(StageError::SnapshotGone(epoch))?;
        let paid_before = snapshot
            .params
            .device_pool_cumulative
            .saturating_sub(snapshot.params.device_share);
        let (active, votes) = match &self.chain {
            Some(chain) => (
                chain.active_root().await.map_err(StageError::Chain)?,
                chain
                    .epoch_votes(previous)
                    .await
                    .map_err(StageError::Chain)?,
            ),
            None => (None, None),
        };
        let mut refusals = Vec::new();
        // Every peer said it has no such report (none is unreachable or refused): nobody
        // computed that epoch.
        let mut nobody_has_it = true;
        if let Some(shared) = &self.shared {
            for (peer, answer) in shared.fetch_reports(previous).await {
                let bytes = match answer {
                    ReportAnswer::Report(bytes) => bytes,
                    ReportAnswer::NotThere(message) => {
                        refusals.push(format!("{peer}: has none ({message})"));
                        continue;
                    }
                    ReportAnswer::Failed(failure) => {
                        nobody_has_it = false;
                        refusals.push(format!("{peer}: {failure}"));
                        continue;
                    }
                };
                nobody_has_it = false;
                let checked = decode_report(&bytes, previous)
                    .map_err(|error| error.to_string())
                    .and_then(|report| {
                        check_adoptable(&report, paid_before, active.as_ref(), votes.as_ref())
                            .map(|()| report)
                    });
                match checked {
                    Ok(report) => {
                        self.reports.save(&report)?;
                        pass.adopted = Some((previous, peer));
                        return Ok(Ok(Base {
                            carried_dust_in: report.rewards.dust,
                            base_epoch: Some(previous),
                            cumulative: report.rewards.cumulative,
                        }));
                    }
                    Err(refusal) => refusals.push(format!("{peer}: {refusal}")),
                }
            }
        }
        // No root was ever active, so nothing before could be claimed, and no oracle has a
        // report to add to: every earlier device pool is carried whole.
        if active.is_none() && nobody_has_it {
            return Ok(Ok(Base {
                carried_dust_in: paid_before,
                base_epoch: None,
                cumulative: BTreeMap::new(),
            }));
        }
        if self.shared.is_none() {
            refusals.push("no peers are configured ([shared_input] peers)".into());
        }
        Ok(Err(format!(
            "epoch {epoch} adds to the cumulative totals through epoch {previous}, which this oracle has no report of, and no peer served one that matches the chain ({})",
            refusals.join("; ")
        )))
    }

    fn snapshot(&self, epoch: u64) -> Result<Option<ChainSnapshot>, StageError> {
        stored_snapshot(&self.chain_view_dir, epoch).map_err(StageError::ChainView)
    }

    /// The report of `epoch` over this oracle's set alone, or `None` while its snapshot,
    /// its seal or its base is missing.
    pub async fn compute(&self, epoch: u64) -> Result<Option<EpochReport>, StageError> {
        let Some(base) = self.stored_base(epoch)? else {
            return Ok(None);
        };
        self.compute_with(epoch, &[], 0, base).await
    }

    /// The report of `epoch` over this oracle's set and the `merged` peers' sets (`None`
    /// while its snapshot or seal is missing).
    async fn compute_with(
        &self,
        epoch: u64,
        merged: &[PulledSet],
        missing_peer_sets: u32,
        base: Base,
    ) -> Result<Option<EpochReport>, StageError> {
        let Some(snapshot) = self.snapshot(epoch)? else {
            return Ok(None);
        };
        let manifest = self
            .store
            .manifest(epoch)
            .await
            .map_err(StageError::Store)?;
        let Some(manifest) = manifest else {
            return Ok(None);
        };
        let mut peer_sources = Vec::new();
        if let Some(shared) = &self.shared {
            for set in merged {
                peer_sources.push(shared.records(set)?);
            }
        }
        let own = self.store.stream_epoch(epoch);
        let params = self.params.clone();
        let snapshot_digest = snapshot.digest();
        let Base {
            carried_dust_in,
            base_epoch,
            cumulative,
        } = base;
        let (rewards, own_streamed, union) = tokio::task::spawn_blocking(move || {
            merge_and_compute(
                epoch,
                &snapshot,
                &params,
                own,
                peer_sources,
                carried_dust_in,
                &cumulative,
            )
        })
        .await
        .map_err(|source| StageError::TaskStopped {
            what: "computation",
            source,
        })??;
        // Every record the manifest covers, and no other: a stream cut short (or raw messages
        // pruned under a kept manifest) never becomes a report.
        if own_streamed != manifest {
            let describe = |set: &Manifest| {
                format!(
                    "{} messages, {} conflicts, digest {}",
                    set.messages, set.conflicts, set.digest
                )
            };
            return Err(StageError::StreamMismatch {
                epoch,
                streamed: describe(&own_streamed),
                manifest: describe(&manifest),
            });
        }
        let mut inputs: Vec<InputSet> = std::iter::once(&manifest)
            .chain(merged.iter().map(|set| &set.manifest))
            .map(input_set)
            .collect();
        inputs.sort();
        inputs.dedup();
        Ok(Some(EpochReport {
            version: REPORT_VERSION,
            epoch,
            snapshot_digest,
            inputs,
            union: input_set(&union),
            missing_peer_sets,
            carried_dust_in,
            base_epoch,
            rewards,
        }))
    }
}

/// The epoch the verify stage computes next: the newest report's successor, or the first
/// epoch with a chain snapshot in `chain_view_dir` (what the shared-input puller pulls for).
pub fn next_epoch_to_compute(
    reports: &Reports,
    chain_view_dir: &Path,
) -> Result<Option<u64>, StageError> {
    if let Some(newest) = reports.epochs()?.last() {
        return Ok(Some(newest + 1));
    }
    epoch_files(&chain_view_dir.join("snapshots"), ".snapshot")
        .map(|epochs| epochs.first().copied())
        .map_err(StageError::Snapshots)
}

/// A peer's report is adopted as a base only when it is whole, its totals are what the chain
/// paid before — leaves summing to its total, the root of those leaves, the total plus its
/// dust equal to the device pools of every epoch before the next one — and the chain vouches
/// for it (SPEC 4.3 "Base totals from a peer"): its (root, cumulative total) is the active
/// root of its epoch, or has a quorum of the current oracle set's votes in its epoch's
/// record. Sums alone never suffice: a hostile peer can move totals between recipients and
/// keep every sum.
fn check_adoptable(
    report: &EpochReport,
    paid_before: u64,
    active: Option<&ActiveRoot>,
    votes: Option<&EpochVotes>,
) -> Result<(), String> {
    if let Some(active) = active.filter(|active| active.epoch == report.epoch) {
        if active.root != report.rewards.root {
            return Err("its root is not the root active on chain for its epoch".into());
        }
    }
    let (tree, total) = cumulative_tree(&report.rewards.cumulative).map_err(|e| e.to_string())?;
    if total != report.rewards.cumulative_total {
        return Err(format!(
            "its leaves sum to {total}, not its total {}",
            report.rewards.cumulative_total
        ));
    }
    if tree.root() != report.rewards.root {
        return Err("its root is not the root of its leaves".into());
    }
    let accounted = u128::from(total) + u128::from(report.rewards.dust);
    if accounted != u128::from(paid_before) {
        return Err(format!(
            "its total {total} plus dust {} is not the {paid_before} the chain paid to device pools before",
            report.rewards.dust
        ));
    }
    let vouched = match active.filter(|active| active.epoch == report.epoch) {
        Some(active) => active.root == report.rewards.root && active.cumulative_total == total,
        None => votes.is_some_and(|votes| votes.has_quorum_for(&report.rewards.root, total)),
    };
    if !vouched {
        return Err(format!(
            "its root and total are neither active on chain nor voted by a quorum of the current oracle set in epoch {}'s record",
            report.epoch
        ));
    }
    Ok(())
}

/// Where the merge reads records from: this oracle's store (checked against its manifest) or
/// a peer's pulled set.
enum Source {
    Own(EpochStream, ManifestBuilder),
    Peer(ReadAhead),
}

impl Source {
    fn next(&mut self) -> Result<Option<EpochRecord>, StageError> {
        match self {
            Source::Own(records, streamed) => match records.blocking_next() {
                Some(Ok(record)) => {
                    streamed.add(record.kind, &record.device, record.seq, &record.hash);
                    Ok(Some(record))
                }
                Some(Err(error)) => Err(StageError::Store(error)),
                None => Ok(None),
            },
            Source::Peer(records) => records.next().transpose().map_err(StageError::from),
        }
    }
}

/// This oracle's sealed set and the peers' pulled sets merged in (device, seq, kind, hash)
/// order, each record once (the same record from several sources is the same message). Reads
/// block: run it on a blocking thread.
pub struct MergedRecords {
    sources: Vec<Source>,
    heads: Vec<Option<EpochRecord>>,
}

impl MergedRecords {
    pub fn new(
        epoch: u64,
        own: EpochStream,
        peers: Vec<PulledRecords>,
    ) -> Result<Self, StageError> {
        let mut sources: Vec<Source> =
            std::iter::once(Source::Own(own, ManifestBuilder::new(epoch)))
                .chain(
                    peers
                        .into_iter()
                        .map(|peer| Source::Peer(peer.read_ahead())),
                )
                .collect();
        let mut heads = Vec::with_capacity(sources.len());
        for source in &mut sources {
            heads.push(source.next()?);
        }
        Ok(MergedRecords { sources, heads })
    }

    /// The next record of the merge (`None` at its end).
    pub fn next_record(&mut self) -> Result<Option<EpochRecord>, StageError> {
        let Some(first) = self
            .heads
            .iter()
            .enumerate()
            .filter_map(|(index, head)| head.as_ref().map(|record| (index, record)))
            .min_by(|a, b| a.1.sort_key().cmp(&b.1.sort_key()))
            .map(|(index, _)| index)
        else {
            return Ok(None);
        };
        let mut record = self.heads[first].take().expect("the smallest head");
        self.heads[first] = self.sources[first].next()?;
        // The same message from several sources: taken once, with the smallest of its
        // signatures (a device may sign the same bytes twice with different valid
        // signatures; every oracle must keep the same copy to publish the same bundle).
        for index in 0..self.sources.len() {
            while let Some(other) = self.heads[index]
                .as_ref()
                .filter(|other| other.sort_key() == record.sort_key())
            {
                if other.signature < record.signature {
                    record.signature = other.signature;
                }
                self.heads[index] = self.sources[index].next()?;
            }
        }
        Ok(Some(record))
    }

    /// This oracle's own set as it was streamed (call at the end of the merge).
    pub fn own_streamed(mut self) -> Manifest {
        match self.sources.swap_remove(0) {
            Source::Own(_, streamed) => streamed.finish(),
            Source::Peer(_) => unreachable!("the first source is this oracle's own"),
        }
    }
}

/// Merges the sorted sources, feeds the union (see [`UnionFilter`]) to the computation a
/// device at a time and finishes it: the rewards, this oracle's own set as streamed, and the
/// union's manifest.
fn merge_and_compute(
    epoch: u64,
    snapshot: &ChainSnapshot,
    params: &VerifyParams,
    own: EpochStream,
    peers: Vec<PulledRecords>,
    carried_dust_in: u64,
    base: &BTreeMap<Pubkey, u64>,
) -> Result<(EpochRewards, Manifest, Manifest), StageError> {
    let mut computation = UnionComputation::new(snapshot, params)?;
    let mut filter = UnionFilter::new(snapshot);
    let mut merged = MergedRecords::new(epoch, own, peers)?;
    let mut union = ManifestBuilder::new(epoch);
    while let Some(record) = merged.next_record()? {
        // Pulls drop what the union leaves out as they stream (see `shared`); a device that
        // signed more than any real device sends cannot make the merge hold unbounded memory.
        if !filter.admits(&record.device) {
            continue;
        }
        union.add(record.kind, &record.device, record.seq, &record.hash);
        computation
            .add(&record.canonical)
            .map_err(|error| StageError::Telemetry {
                epoch,
                message: error.to_string(),
            })?;
    }
    let own_streamed = merged.own_streamed();
    let rewards = computation.finish(carried_dust_in, base)?;
    Ok((rewards, own_streamed, union.finish()))
}
