//! The verify stage's long-lived tasks: "verifier" computes every ready epoch and stores its
//! report; "peer-puller" pulls the peers' sealed sets the verifier waits for.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use groundwork_oracle_core::clock::Clock;
use groundwork_oracle_core::epochs::EpochSchedule;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::tasks::{FirstRound, StopSignal, Ticker};
use groundwork_oracle_rewards::report::Reports;
use groundwork_oracle_store::tasks::PruneSettled;
use groundwork_oracle_store::Store;

use crate::shared::{PullOutcome, SharedInput, SharedInputError};
use crate::stage::{load_peers, next_epoch_to_compute, Pass, Verifier};

/// How often the verifier looks for a ready epoch.
const VERIFY_EVERY: Duration = Duration::from_secs(2);

const VERIFY_EPOCH: &str = "groundwork_verify_epoch";
const VERIFY_EPOCH_HELP: &str = "The newest epoch whose verified work is stored (-1: none).";
const DETERMINISM: &str = "groundwork_verify_determinism_alarms";
const DETERMINISM_HELP: &str = "Stored reports that differed when computed again (should be 0).";
const DIVERGED: &str = "groundwork_verify_diverged_from_chain";
const DIVERGED_HELP: &str =
    "1 while this oracle's report of the active epoch has another root than the chain's.";

/// The "verifier" task: computes and stores the verified work of every epoch that is sealed
/// and whose chain snapshot is made, in order. A failure is logged and tried again; a
/// determinism alarm (the newest stored report computed again differs) is logged loudly and
/// counted, and the stored report stays.
pub struct VerifyTask {
    pub verifier: Verifier,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

impl VerifyTask {
    pub async fn run(mut self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(VERIFY_EVERY, FirstRound::Now, stop);
        let mut last_waiting = String::new();
        let mut diverged_logged = false;
        self.start_gauges();
        while ticker.next().await {
            let started = std::time::Instant::now();
            let pass = self.verifier.pass(self.clock.now_ms()).await;
            if let Ok(pass) = &pass {
                if let Some(count) = u128::try_from(pass.stored.len()).ok().filter(|n| *n > 0) {
                    self.metrics.set_gauge(
                        "groundwork_verify_duration_ms",
                        "How long the newest verified epoch took to compute and store (ms; a pass that stored several, their average).",
                        i64::try_from(started.elapsed().as_millis() / count).unwrap_or(i64::MAX),
                    );
                }
            }
            match pass {
                Ok(pass) => self.report(pass, &mut last_waiting, &mut diverged_logged),
                Err(error) => tracing::warn!(%error, "verifying epochs failed; trying again"),
            }
        }
        Ok(())
    }

    /// Every gauge of the stage, from the start (the newest stored report's, or -1 and 0 when
    /// there is none yet), so dashboards and alert rules find them on a fresh oracle.
    fn start_gauges(&self) {
        let newest = self
            .verifier
            .reports()
            .epochs()
            .ok()
            .and_then(|epochs| epochs.last().copied());
        let metrics = &self.metrics;
        metrics.set_gauge(
            VERIFY_EPOCH,
            VERIFY_EPOCH_HELP,
            newest.map_or(-1, |epoch| i64::try_from(epoch).unwrap_or(i64::MAX)),
        );
        let counts = newest
            .and_then(|epoch| self.verifier.reports().load(epoch).ok().flatten())
            .map(|report| report.rewards.device_counts())
            .unwrap_or_default();
        self.set_device_gauges(&counts);
        metrics.set_gauge(DETERMINISM, DETERMINISM_HELP, 0);
        metrics.set_gauge(DIVERGED, DIVERGED_HELP, 0);
        metrics.set_gauge(
            "groundwork_verify_duration_ms",
            "How long the newest verified epoch took to compute and store (ms; a pass that stored several, their average).",
            0,
        );
    }

    fn set_device_gauges(&self, counts: &groundwork_oracle_rewards::DeviceCounts) {
        self.metrics.set_gauge(
            "groundwork_verify_devices_rewarded",
            "Devices the newest verified epoch rewarded.",
            i64::try_from(counts.rewarded).unwrap_or(i64::MAX),
        );
        self.metrics.set_gauge(
            "groundwork_verify_devices_zeroed",
            "Devices the newest verified epoch zeroed for a fraud rule.",
            i64::try_from(counts.zeroed).unwrap_or(i64::MAX),
        );
    }

    /// Logs and counts what one pass did.
    fn report(&self, pass: Pass, last_waiting: &mut String, diverged_logged: &mut bool) {
        let metrics = &self.metrics;
        if let Some((epoch, stored, again)) = pass.determinism_alarm {
            tracing::error!(
                epoch,
                stored = %hex::encode(stored),
                recomputed = %hex::encode(again),
                "DETERMINISM ALARM: the stored report of this epoch, computed again from the same inputs, differs; the stored report is kept"
            );
            metrics.set_gauge(DETERMINISM, DETERMINISM_HELP, 1);
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
            if !*diverged_logged {
                tracing::error!(
                    epoch,
                    this_oracle = %hex::encode(own),
                    active_on_chain = %hex::encode(active),
                    "DIVERGED: this oracle's report of the chain's active epoch has another root; nothing more is computed on its totals"
                );
                *diverged_logged = true;
            }
            metrics.set_gauge(DIVERGED, DIVERGED_HELP, 1);
        } else if *diverged_logged {
            *diverged_logged = false;
            metrics.set_gauge(DIVERGED, DIVERGED_HELP, 0);
        }
        for report in &pass.stored {
            if report.missing_peer_sets > 0 {
                let peers = load_peers(self.verifier.reports(), report.epoch).unwrap_or_default();
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
                root = %hex::encode(rewards.root),
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
                VERIFY_EPOCH,
                VERIFY_EPOCH_HELP,
                i64::try_from(report.epoch).unwrap_or(i64::MAX),
            );
            self.set_device_gauges(&counts);
        }
        if let Some(waiting) = pass.waiting {
            if waiting != *last_waiting {
                tracing::info!(waiting = %waiting, "verify is waiting");
                *last_waiting = waiting;
            }
        }
    }
}

/// The "peer-puller" task: pulls the peers' sealed sets of every epoch this oracle has sealed
/// and not yet computed. Each (peer, epoch) pull runs as a task of its own, bounded by the
/// pull deadline, so a slow or hostile peer never holds up another peer, another epoch, or
/// the verifier past `peer_wait`; a failed pull is asked again every `pull_every` (its
/// failure logged when it changes).
pub struct PeerPuller {
    pub shared: Arc<SharedInput>,
    pub store: Store,
    pub reports: Reports,
    pub chain_view_dir: PathBuf,
    pub schedule: EpochSchedule,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    pub pull_every: Duration,
}

/// The (epoch, peer) pulls under way, and the last failure logged for each.
#[derive(Default)]
struct Pulls {
    under_way: HashSet<(u64, String)>,
    last_failures: BTreeMap<(u64, String), String>,
}

impl PeerPuller {
    pub async fn run(self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(self.pull_every, FirstRound::Now, stop);
        let puller = Arc::new(self);
        let pulls = Arc::new(Mutex::new(Pulls::default()));
        let mut running = tokio::task::JoinSet::new();
        while ticker.next().await {
            while running.try_join_next().is_some() {}
            let Some(newest_sealed) = puller.schedule.newest_sealed(puller.clock.now_ms()) else {
                continue;
            };
            // From the epoch the verify stage computes next (pulls of later sealed epochs go
            // on while it waits for an earlier one).
            let first = match next_epoch_to_compute(&puller.reports, &puller.chain_view_dir) {
                Ok(Some(first)) => first,
                Ok(None) => continue,
                Err(error) => {
                    tracing::warn!(%error, "shared input: cannot tell the next epoch to verify; trying again");
                    continue;
                }
            };
            pulls
                .lock()
                .expect("pulls lock")
                .last_failures
                .retain(|(epoch, _), _| *epoch >= first);
            for epoch in first..=newest_sealed {
                match puller.store.manifest(epoch).await {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(epoch, %error, "shared input: this oracle's seal is unreadable");
                        break;
                    }
                }
                for peer in puller.shared.peers_to_pull(epoch) {
                    let key = (epoch, peer.clone());
                    if !pulls
                        .lock()
                        .expect("pulls lock")
                        .under_way
                        .insert(key.clone())
                    {
                        continue;
                    }
                    let (puller, pulls) = (puller.clone(), pulls.clone());
                    running.spawn(async move {
                        let outcome = puller.shared.pull_peer(&puller.store, epoch, &peer).await;
                        let mut pulls = pulls.lock().expect("pulls lock");
                        pulls.under_way.remove(&key);
                        puller.report(epoch, &peer, outcome, &mut pulls.last_failures);
                    });
                }
            }
        }
        running.abort_all();
        Ok(())
    }

    /// Logs and counts what one pull did.
    fn report(
        &self,
        epoch: u64,
        peer: &str,
        outcome: Result<PullOutcome, SharedInputError>,
        last_failures: &mut BTreeMap<(u64, String), String>,
    ) {
        let key = (epoch, peer.to_string());
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
                self.metrics.set_gauge(
                    "groundwork_shared_input_epoch",
                    "The newest epoch a peer's sealed set was pulled for.",
                    i64::try_from(epoch).unwrap_or(i64::MAX),
                );
            }
            Ok(PullOutcome::NotSealed(_) | PullOutcome::NoSnapshot) => {}
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

/// Retention prunes the peers' pulled sets with the store's settled epochs.
impl PruneSettled for SharedInput {
    fn what(&self) -> &'static str {
        "peers' sets"
    }

    fn prune_through(&self, through: u64) -> Result<usize> {
        let removed = SharedInput::prune_through(self, through)?;
        Ok(usize::try_from(removed).unwrap_or(usize::MAX))
    }
}
