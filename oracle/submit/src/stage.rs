//! The submit stage as a task of the oracle: the "submitter" task votes every stored report's
//! root not yet settled (a step of its state machine per epoch and round, see the crate's
//! docs), optionally activates roots whose challenge period has ended and relays claims for
//! opted-in recipients; [`SubmitStatus`] is what `/healthz` and `GET /v1/submissions` say of
//! it.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anyhow::Result;
use axum::extract::State as RouteState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use groundwork_merkle::RewardTree;
use groundwork_oracle_core::api::refusal;
use groundwork_oracle_core::clock::Clock;
use groundwork_oracle_core::metrics::Metrics;
use groundwork_oracle_core::tasks::{FirstRound, HealthReport, StageHealth, StopSignal, Ticker};
use groundwork_oracle_rewards::cumulative_tree;
use groundwork_oracle_rewards::report::Reports;
use serde_json::json;

use crate::{Relayed, State, Step, Submissions, Submitter, Vote};

/// How often the submit stage looks at the chain.
pub const SUBMIT_EVERY: Duration = Duration::from_secs(2);

/// How long a relayed claim is given to land before it is sent again.
const RELAY_RETRY: Duration = Duration::from_secs(30);

/// The longest wait between steps of a failing epoch.
const MOST_BACKOFF: Duration = Duration::from_secs(60);

const KEY_LAMPORTS: &str = "groundwork_submit_key_lamports";
const KEY_LAMPORTS_HELP: &str =
    "The lamports the oracle key holds (what pays votes and relayed claims; -1: not read yet).";

/// The gauge of each state: (state name, gauge, help).
const STATE_GAUGES: [(&str, &str, &str); 7] = [
    (
        "computed",
        "groundwork_submit_epochs_computed",
        "Unsettled epochs whose vote is not signed yet.",
    ),
    (
        "signed",
        "groundwork_submit_epochs_signed",
        "Unsettled epochs whose vote is signed, not sent.",
    ),
    (
        "sent",
        "groundwork_submit_epochs_sent",
        "Unsettled epochs whose vote is sent, not confirmed.",
    ),
    (
        "vetoed",
        "groundwork_submit_epochs_vetoed",
        "Unsettled epochs whose confirmed vote was vetoed.",
    ),
    (
        "confirmed",
        "groundwork_submit_epochs_confirmed",
        "Unsettled epochs whose vote is confirmed.",
    ),
    (
        "superseded",
        "groundwork_submit_epochs_superseded",
        "Unsettled epochs that need no vote.",
    ),
    (
        "failed",
        "groundwork_submit_epochs_failed",
        "Epochs whose vote failed for good (an operator acts).",
    ),
];

/// What `/healthz` and `GET /v1/submissions` say of the vote.
pub struct SubmitStatus {
    oracle: String,
    /// The submission files.
    submissions: Submissions,
    /// 1 in the on-chain oracle set, 0 not, -1 not known yet.
    in_set: AtomicI64,
    /// What the stage waits for, in words.
    waiting: Mutex<String>,
    /// Epochs whose vote failed for good: `/healthz` reports them.
    problems: Mutex<Vec<String>>,
}

impl SubmitStatus {
    fn new(oracle: Pubkey, submissions: Submissions) -> Self {
        SubmitStatus {
            oracle: oracle.to_string(),
            submissions,
            in_set: AtomicI64::new(-1),
            waiting: Mutex::new(String::new()),
            problems: Mutex::new(Vec::new()),
        }
    }

    fn in_oracle_set(&self) -> serde_json::Value {
        match self.in_set.load(Ordering::Relaxed) {
            -1 => serde_json::Value::Null,
            member => json!(member == 1),
        }
    }

    fn waiting(&self) -> String {
        self.waiting.lock().expect("status lock").clone()
    }
}

impl StageHealth for SubmitStatus {
    fn health(&self) -> HealthReport {
        let mut report = HealthReport {
            problems: self.problems.lock().expect("status lock").clone(),
            ..HealthReport::default()
        };
        report.fields.insert(
            "submit".into(),
            json!({
                "oracle": self.oracle,
                "in_oracle_set": self.in_oracle_set(),
                "waiting_for": self.waiting(),
            }),
        );
        report
    }
}

/// `GET /v1/submissions`: each epoch's vote — its state, root and every transaction signed for
/// it — and what the submit stage waits for; refused when this oracle votes nothing (`None`).
pub fn router(status: Option<Arc<SubmitStatus>>) -> Router {
    Router::new()
        .route("/v1/submissions", get(submissions))
        .with_state(status)
}

async fn submissions(RouteState(status): RouteState<Option<Arc<SubmitStatus>>>) -> Response {
    let Some(status) = status else {
        return refusal(
            StatusCode::NOT_FOUND,
            "not_voting",
            "this oracle has no [submit] section: it votes nothing",
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
        "in_oracle_set": status.in_oracle_set(),
        "waiting_for": status.waiting(),
        "epochs": listed,
    }))
    .into_response()
}

/// What the stage does besides voting.
#[derive(Clone, Debug, Default)]
pub struct SubmitRoles {
    /// Activate pending roots whose challenge period has ended (the crank).
    pub activate_roots: bool,
    /// Claim what the active root owes these recipients (paying fee and rent).
    pub relay_claims_for: Vec<Pubkey>,
    /// Sweep operators' delegation pools whose leaf grew (the sweep claims the leaf by CPI;
    /// nobody else would).
    pub relay_pools: bool,
}

/// The "submitter" task.
pub struct SubmitStage {
    submitter: Submitter,
    reports: Reports,
    roles: SubmitRoles,
    status: Arc<SubmitStatus>,
    metrics: Arc<Metrics>,
    clock: Arc<dyn Clock>,
    memory: SubmitMemory,
    relay: Relay,
}

/// What the submit stage keeps between rounds, per unsettled epoch.
#[derive(Default)]
struct SubmitMemory {
    /// Failed steps in a row, and when the next may run (RPC errors back off exponentially,
    /// from one round to a minute).
    backoff: HashMap<u64, (u32, Instant)>,
    /// The vote of each stored report (a stored report never changes: it is read and
    /// digested once, not every round).
    votes: HashMap<u64, Vote>,
}

/// What the claim relayer keeps between rounds.
#[derive(Default)]
struct Relay {
    /// What was sent for each recipient, and when (a claim is not sent again while it may
    /// still land).
    relayed: HashMap<Pubkey, (u64, Instant)>,
    /// The active epoch's leaves and tree, built once per active root.
    leaves: Option<RelayLeaves>,
}

/// The active epoch's leaves as this oracle's report holds them, and their tree; and the
/// delegation pools paid in it or the epochs before it ([`POOL_LOOKBACK_EPOCHS`]), by their
/// rewards account.
struct RelayLeaves {
    epoch: u64,
    cumulative: BTreeMap<Pubkey, u64>,
    tree: RewardTree,
    pools: BTreeMap<Pubkey, Pubkey>,
}

/// How many epochs back the relayer looks for pools to claim (a pool unpaid since keeps its
/// leaf, claimed then).
const POOL_LOOKBACK_EPOCHS: u64 = 8;

impl SubmitStage {
    /// The stage over `submitter`, voting the reports in `reports`; reads the oracle set once
    /// so `/healthz` says at once whether this oracle's key is in it.
    pub async fn new(
        submitter: Submitter,
        reports: Reports,
        roles: SubmitRoles,
        metrics: Arc<Metrics>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let status = Arc::new(SubmitStatus::new(
            submitter.oracle(),
            submitter.submissions().clone(),
        ));
        let stage = SubmitStage {
            submitter,
            reports,
            roles,
            status,
            metrics,
            clock,
            memory: SubmitMemory::default(),
            relay: Relay::default(),
        };
        stage.check_membership().await;
        stage
    }

    /// What `/healthz` and `GET /v1/submissions` read.
    pub fn status(&self) -> Arc<SubmitStatus> {
        self.status.clone()
    }

    /// Votes every stored report's root not yet settled, oldest first, a step each round, and
    /// does the stage's other roles (activation, relayed claims).
    pub async fn run(mut self, stop: StopSignal) -> Result<()> {
        let mut ticker = Ticker::new(SUBMIT_EVERY, FirstRound::Now, stop);
        let mut last_waiting = String::new();
        self.start_gauges();
        while ticker.next().await {
            match self.submitter.key_lamports().await {
                Ok(lamports) => self.metrics.set_gauge(
                    KEY_LAMPORTS,
                    KEY_LAMPORTS_HELP,
                    i64::try_from(lamports).unwrap_or(i64::MAX),
                ),
                Err(error) => tracing::warn!(%error, "reading the oracle key's balance failed"),
            }
            let member = self.check_membership().await;
            self.metrics.set_gauge(
                "groundwork_submit_in_oracle_set",
                "1 when this oracle's key is in the on-chain oracle set.",
                i64::from(member),
            );
            let mut waiting = match self.round(member).await {
                Ok(waiting) => waiting,
                Err(error) => format!("a round failed and is tried again: {error}"),
            };
            if !self.roles.relay_claims_for.is_empty() || self.roles.relay_pools {
                match self.relay_claims().await {
                    Ok(Some(held_up)) => waiting = format!("{waiting}; {held_up}"),
                    Ok(None) => {}
                    Err(error) => tracing::warn!(%error, "relaying claims failed; trying again"),
                }
            }
            if waiting != last_waiting {
                tracing::info!(waiting = %waiting, "submit");
                last_waiting.clone_from(&waiting);
            }
            *self.status.waiting.lock().expect("status lock") = waiting;
        }
        Ok(())
    }

    /// Every gauge of the stage, from the start (none voted yet; the balance unknown: -1),
    /// so dashboards and alert rules find them on a fresh oracle.
    fn start_gauges(&self) {
        let metrics = &self.metrics;
        metrics.set_gauge(KEY_LAMPORTS, KEY_LAMPORTS_HELP, -1);
        metrics.set_gauge(
            "groundwork_submit_relay_reserve_lamports",
            "The lamports relayed claims leave to the oracle key for votes.",
            i64::try_from(self.submitter.relay_reserve_lamports()).unwrap_or(i64::MAX),
        );
        metrics.set_gauge(
            "groundwork_submit_confirmed_epoch",
            "The newest epoch whose vote is confirmed on chain (-1: none).",
            -1,
        );
        for (_, gauge, help) in STATE_GAUGES {
            metrics.set_gauge(gauge, help, 0);
        }
    }

    /// Reads the oracle set and records whether this oracle's key is in it, saying clearly
    /// when it is not (a key outside the set votes nothing). Returns whether it is.
    async fn check_membership(&self) -> bool {
        let oracle = self.submitter.oracle();
        match self.submitter.reward_config().await {
            Ok(config) => {
                let member = config.oracles.contains(&oracle);
                let before = self
                    .status
                    .in_set
                    .swap(i64::from(member), Ordering::Relaxed);
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
                self.status.in_set.load(Ordering::Relaxed) == 1
            }
        }
    }

    /// The vote of `epoch`'s stored report (read and digested once).
    fn vote_of(&mut self, epoch: u64) -> Result<Option<Vote>> {
        if let Some(vote) = self.memory.votes.get(&epoch) {
            return Ok(Some(vote.clone()));
        }
        let Some(report) = self.reports.load(epoch)? else {
            return Ok(None);
        };
        let vote = Vote {
            epoch,
            root: report.rewards.root,
            cumulative_total: report.rewards.cumulative_total,
            leaf_count: u64::try_from(report.rewards.cumulative.len()).unwrap_or(u64::MAX),
            report_digest: report.digest(),
        };
        self.memory.votes.insert(epoch, vote.clone());
        Ok(Some(vote))
    }

    /// One round: a step for each unsettled epoch; returns what the stage waits for, in
    /// words.
    async fn round(&mut self, member: bool) -> Result<String> {
        let config = self.submitter.reward_config().await?;
        let first = config.active_root_epoch.map_or(0, |active| active + 1);
        self.memory.votes.retain(|epoch, _| *epoch >= first);
        let epochs: Vec<u64> = self
            .reports
            .epochs()?
            .into_iter()
            .filter(|epoch| *epoch >= first)
            .collect();
        let mut waiting = Vec::new();
        let mut pending = 0i64;
        let mut problems = Vec::new();
        let mut by_state: BTreeMap<&'static str, i64> = STATE_GAUGES
            .iter()
            .map(|(state, _, _)| (*state, 0))
            .collect();
        let mut vetoed = false;
        for epoch in epochs {
            if self.roles.activate_roots {
                let now = self.clock.now_unix_s();
                if let Err(error) = self.submitter.activate_if_due(epoch, now).await {
                    tracing::warn!(epoch, %error, "activating the root failed; trying again");
                }
            }
            if !member {
                continue;
            }
            let Some(vote) = self.vote_of(epoch)? else {
                continue;
            };
            if let Some((failures, retry_at)) = self.memory.backoff.get(&epoch) {
                if Instant::now() < *retry_at {
                    waiting.push(format!(
                        "epoch {epoch}: a retry after {failures} failed step{} (backing off)",
                        if *failures == 1 { "" } else { "s" }
                    ));
                    pending += 1;
                    continue;
                }
            }
            let stepped = self.submitter.step(&vote).await;
            match &stepped {
                Err(_) => {
                    let failures = self
                        .memory
                        .backoff
                        .get(&epoch)
                        .map_or(0, |(failures, _)| *failures)
                        + 1;
                    let wait = SUBMIT_EVERY
                        .saturating_mul(1 << failures.min(5))
                        .min(MOST_BACKOFF);
                    self.memory
                        .backoff
                        .insert(epoch, (failures, Instant::now() + wait));
                }
                Ok(_) => {
                    self.memory.backoff.remove(&epoch);
                }
            }
            match stepped {
                Ok(Step::Now(state)) => {
                    *by_state.entry(state.name()).or_default() += 1;
                    if let State::Failed { reason } = &state {
                        problems.push(format!("submit: epoch {epoch}'s vote failed: {reason}"));
                    }
                    if let State::Vetoed { reason } = &state {
                        // Later epochs add to this one's totals: none is voted until an
                        // operator recomputes from it.
                        problems.push(format!("submit: {reason}"));
                        waiting.push(format!(
                            "epoch {epoch} was vetoed: no epoch from it on is voted until it is recomputed"
                        ));
                        self.metrics.set_gauge(
                            "groundwork_submit_vetoed_epoch",
                            "The epoch whose root the authority vetoed, holding up every vote from it on (-1: none).",
                            i64::try_from(epoch).unwrap_or(i64::MAX),
                        );
                        vetoed = true;
                        break;
                    }
                    if !state.is_final() {
                        pending += 1;
                        let held_up = self
                            .submitter
                            .submissions()
                            .load(epoch)
                            .ok()
                            .flatten()
                            .and_then(|submission| submission.last_problem);
                        waiting.push(match held_up {
                            Some(problem) => {
                                format!("epoch {epoch}: {} — {problem}", state.name())
                            }
                            None => {
                                format!("epoch {epoch}: {} (its transaction to land)", state.name())
                            }
                        });
                    }
                    if matches!(state, State::Confirmed { .. }) {
                        self.metrics.set_gauge(
                            "groundwork_submit_confirmed_epoch",
                            "The newest epoch whose vote is confirmed on chain (-1: none).",
                            i64::try_from(epoch).unwrap_or(i64::MAX),
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
        if !vetoed {
            self.metrics.set_gauge(
                "groundwork_submit_vetoed_epoch",
                "The epoch whose root the authority vetoed, holding up every vote from it on (-1: none).",
                -1,
            );
        }
        self.metrics.set_gauge(
            "groundwork_submit_pending_epochs",
            "Epochs whose vote is signed or sent and not confirmed yet.",
            pending,
        );
        for (state, gauge, help) in STATE_GAUGES {
            self.metrics
                .set_gauge(gauge, help, by_state.get(state).copied().unwrap_or(0));
        }
        *self.status.problems.lock().expect("status lock") = problems;
        Ok(if !member {
            "this oracle's key to be added to the on-chain oracle set".to_string()
        } else if waiting.is_empty() {
            format!("the next epoch's report (every vote from epoch {first} is settled)")
        } else {
            waiting.join("; ")
        })
    }

    /// Claims for the opted-in recipients what the active root owes them beyond what they
    /// were paid, when this oracle's report of the active epoch is the active root (its leaves
    /// and proofs are then the chain's). Returns what holds relaying up, in words (the oracle
    /// key below its reserve, a recipient that closed the account the relayer created).
    async fn relay_claims(&mut self) -> Result<Option<String>> {
        let config = self.submitter.reward_config().await?;
        let Some(active) = config.active_root_epoch else {
            return Ok(None);
        };
        let Relay { relayed, leaves } = &mut self.relay;
        if leaves.as_ref().map(|leaves| leaves.epoch) != Some(active) {
            let Some(report) = self.reports.load(active)? else {
                return Ok(None);
            };
            let (tree, _) = cumulative_tree(&report.rewards.cumulative)?;
            let mut pools: BTreeMap<Pubkey, Pubkey> = report
                .rewards
                .pools
                .iter()
                .map(|pool| (pool.rewards_account, pool.operator))
                .collect();
            for epoch in active.saturating_sub(POOL_LOOKBACK_EPOCHS)..active {
                if let Ok(Some(earlier)) = self.reports.load(epoch) {
                    for pool in &earlier.rewards.pools {
                        pools.entry(pool.rewards_account).or_insert(pool.operator);
                    }
                }
            }
            *leaves = Some(RelayLeaves {
                epoch: active,
                cumulative: report.rewards.cumulative,
                tree,
                pools,
            });
        }
        let Some(RelayLeaves {
            cumulative,
            tree,
            pools,
            ..
        }) = leaves.as_ref()
        else {
            return Ok(None);
        };
        if tree.root() != config.active_root {
            return Ok(None);
        }
        let mut held_up = Vec::new();
        let pool_recipients: Vec<Pubkey> = if self.roles.relay_pools {
            pools.keys().copied().collect()
        } else {
            Vec::new()
        };
        for recipient in self.roles.relay_claims_for.iter().chain(&pool_recipients) {
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
            let submitter = &self.submitter;
            let pool_of = pools.get(recipient).filter(|_| self.roles.relay_pools);
            let relay = async {
                if let Some(operator) = pool_of {
                    let pool = groundwork_client::staking::pool_rewards_address(operator);
                    if submitter.claimed(&pool).await? >= leaf {
                        return Ok(None);
                    }
                    return submitter.relay_pool(operator, leaf, proof).await.map(Some);
                }
                if submitter.claimed(recipient).await? >= leaf {
                    return Ok(None);
                }
                submitter
                    .relay_claim(recipient, leaf, proof)
                    .await
                    .map(Some)
            };
            match relay.await {
                Ok(Some(Relayed::Sent(signature))) => {
                    tracing::info!(%recipient, cumulative = leaf, %signature, pool = pool_of.is_some(), "claimed for an opted-in recipient or a delegation pool");
                    relayed.insert(*recipient, (leaf, Instant::now()));
                }
                Ok(Some(Relayed::BelowReserve {
                    balance,
                    reserve,
                    claim_cost,
                    unsettled,
                })) => {
                    return Ok(Some(format!(
                        "relaying paused: the oracle key holds {balance} lamports; a claim may cost {claim_cost} and claims sent in the last {} s {unsettled} more, and {reserve} are kept for votes",
                        crate::RELAY_SETTLE.as_secs()
                    )));
                }
                Ok(Some(Relayed::WaitingForLookupTable(waits_for))) => held_up.push(format!(
                    "the relay for {recipient} is too long for a legacy transaction: {waits_for}"
                )),
                Ok(Some(Relayed::TooLong { bytes })) => held_up.push(format!(
                    "the relay for {recipient} is too long for one transaction even with the lookup table ({bytes} bytes): no transaction holds a proof this long"
                )),
                Ok(Some(Relayed::RecipientClosedItsAccount)) => held_up.push(format!(
                    "{recipient} closed the token account this relayer created for it (its claims are relayed again once it recreates it)"
                )),
                Ok(Some(Relayed::Refused)) if pool_of.is_some() => {
                    // A pool's leaf grew and its sweep is refused: said once per leaf, tried
                    // again after the relay retry.
                    if relayed.get(recipient).map(|(amount, _)| *amount) != Some(leaf) {
                        tracing::warn!(%recipient, cumulative = leaf, "the sweep of a delegation pool is refused (its simulation says why at debug level); trying again later");
                    }
                    relayed.insert(*recipient, (leaf, Instant::now()));
                    held_up.push(format!("the sweep of the delegation pool {recipient} is refused"));
                }
                Ok(Some(Relayed::Refused) | None) => {}
                Err(error) => {
                    tracing::warn!(%recipient, %error, "relaying a claim failed; trying again")
                }
            }
        }
        Ok((!held_up.is_empty()).then(|| held_up.join("; ")))
    }
}
