//! The submit stage (SPEC 4.4, 3.4): each stored epoch report's root is voted on chain with
//! `submit_root`, exactly once across crashes and RPC faults.
//!
//! The report is the commit point; the epoch's [`Submission`] (computed -> signed -> sent ->
//! confirmed) is persisted before anything it records is acted on: an attempt's signature
//! and its blockhash's last valid block height are on disk before its first send. Each step
//! first reads what the chain holds — the oracle's vote in the epoch record (finalized, with a
//! minimum context slot) — and the pending attempts' signatures, before signing anything. A
//! transaction counts as dropped only when the finalized block height is past its last
//! valid block height and no endpoint knows it; then it is signed again with a fresh
//! blockhash and a priority fee doubled from the last (between a floor and a ceiling), the
//! new attempt persisted first. The same bytes go to every endpoint. "Already voted" from
//! the program counts as confirmed. The oracle key comes from a Solana CLI keypair file and
//! is never logged; a key outside the on-chain oracle set votes nothing and says so.
//!
//! The stage's task is [`SubmitStage::run`] ("submitter"); its route, `GET /v1/submissions`
//! ([`stage::router`]).
//!
//! Fault injection for tests: `GROUNDWORK_FAILPOINT=submit:<point>` aborts the process (as a
//! kill -9 would) when the stage reaches `before_sign`, `after_sign` (persisted, not sent),
//! `after_send` (sent, not confirmed) or `after_confirm`.

mod lookup_table;
mod relay;
pub mod rpc;
pub mod stage;
pub mod state;

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use groundwork_client::{compute_budget_instructions, median_priority_fee, unit_limit_for};
use reward_epochs::state::{EpochV0, RewardConfigV0, RootStatus};
use reward_epochs::SubmitRootArgsV0;
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_message::{v0, AddressLookupTableAccount, Message, VersionedMessage};
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

pub use lookup_table::fixed_relay_accounts;
pub use rpc::{Landing, SubmitRpc};
pub use stage::{SubmitRoles, SubmitStage, SubmitStatus};
pub use state::{Attempt, State, Submission, Submissions};

/// How the stage prices and sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubmitSettings {
    /// Priority fee bounds, micro-lamports per compute unit.
    pub priority_fee_floor: u64,
    pub priority_fee_ceiling: u64,
    /// Lamports the oracle key keeps for its votes: below them it relays no claim.
    pub relay_reserve_lamports: u64,
}

/// What relaying one claim did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relayed {
    /// Sent, with its signature.
    Sent(String),
    /// The simulation refused it (nothing due, the proof no longer the active root's):
    /// nothing sent.
    Refused,
    /// The recipient closed the token account this relayer created for it before: relaying
    /// again would pay its rent again, so nothing is sent until the recipient recreates it.
    RecipientClosedItsAccount,
    /// Too long for a legacy transaction, it waits for the relayer's address lookup table
    /// (being created or extended: usable in a later round; or not affordable within the
    /// reserve now). The relay itself was not sent (the table's creation or extension may have
    /// been). What it waits for, in words.
    WaitingForLookupTable(String),
    /// Its proof is too long for one transaction even with the lookup table: `bytes` on the
    /// wire, above the packet's 1,232. Nothing sent.
    TooLong { bytes: usize },
    /// The claim could take the oracle key below the reserve kept for votes: nothing sent.
    /// `claim_cost` is the most this claim may cost (fee and the rent of what it creates),
    /// `unsettled` what relayed claims sent in the last [`RELAY_SETTLE`] may still take.
    BelowReserve {
        balance: u64,
        reserve: u64,
        claim_cost: u64,
        unsettled: u64,
    },
}

/// How long a relayed claim's cost is counted against the reserve before the balance surely
/// shows it: a blockhash's lifetime (about 60-90 s), after which it landed or never will.
pub const RELAY_SETTLE: std::time::Duration = std::time::Duration::from_secs(90);

/// What the stage votes: one epoch's report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vote {
    pub epoch: u64,
    pub root: [u8; 32],
    pub cumulative_total: u64,
    pub leaf_count: u64,
    pub report_digest: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the chain: {0}")]
    Rpc(String),
    #[error(transparent)]
    File(#[from] state::StateFileError),
    #[error("DETERMINISM ALARM: epoch {epoch}'s submission votes root {submitted}, its report now gives {report}; nothing more is sent for it")]
    RootChanged {
        epoch: u64,
        submitted: String,
        report: String,
    },
    #[error("the keypair file {path}: {message}")]
    Keypair { path: String, message: String },
}

/// What a step did for an epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// The state it ended in (final or not).
    Now(State),
    /// The epoch is not closed on chain yet.
    NotClosed,
}

/// Reads a Solana CLI keypair file (a JSON array of 64 bytes). The key is never printed.
pub fn read_keypair(path: &std::path::Path) -> Result<Keypair, SubmitError> {
    solana_keypair::read_keypair_file(path).map_err(|error| SubmitError::Keypair {
        path: path.display().to_string(),
        message: error.to_string(),
    })
}

/// The recipients whose token account this relayer created, kept in a file (written whole,
/// atomically) so a restart never pays a closed account's rent again.
struct RelayLedger {
    path: PathBuf,
    created: std::sync::Mutex<Option<std::collections::BTreeSet<Pubkey>>>,
}

impl RelayLedger {
    fn new(path: PathBuf) -> Self {
        RelayLedger {
            path,
            created: std::sync::Mutex::new(None),
        }
    }

    /// The recipients, read from the file the first time.
    fn with_created<T>(
        &self,
        use_them: impl FnOnce(&mut std::collections::BTreeSet<Pubkey>) -> T,
    ) -> Result<T, SubmitError> {
        let mut created = self.created.lock().expect("relay ledger lock");
        if created.is_none() {
            let keys: Vec<String> = match std::fs::read(&self.path) {
                Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| {
                    SubmitError::File(state::StateFileError::Parse {
                        path: self.path.display().to_string(),
                        source,
                    })
                })?,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(source) => {
                    return Err(SubmitError::File(state::StateFileError::Io {
                        path: self.path.display().to_string(),
                        source,
                    }))
                }
            };
            *created = Some(keys.iter().filter_map(|key| key.parse().ok()).collect());
        }
        Ok(use_them(created.as_mut().expect("read above")))
    }

    fn created_for(&self, recipient: &Pubkey) -> Result<bool, SubmitError> {
        self.with_created(|created| created.contains(recipient))
    }

    /// Remembers that this relayer created `recipient`'s token account; durable on return.
    fn record(&self, recipient: &Pubkey) -> Result<(), SubmitError> {
        let keys = self.with_created(|created| {
            created.insert(*recipient);
            created.iter().map(ToString::to_string).collect::<Vec<_>>()
        })?;
        let json = serde_json::to_vec_pretty(&keys).expect("keys serialise");
        groundwork_oracle_core::files::write_atomically(&self.path, &json).map_err(|source| {
            SubmitError::File(state::StateFileError::Io {
                path: self.path.display().to_string(),
                source,
            })
        })
    }
}

/// The program's error code for `error` (Anchor numbers them from 6000).
fn program_error(error: reward_epochs::errors::RewardError) -> u32 {
    error as u32 + anchor_lang::error::ERROR_CODE_OFFSET
}

/// The custom program error a transaction failed with, if that is how it failed.
fn custom_code(error: &TransactionError) -> Option<u32> {
    match error {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => Some(*code),
        _ => None,
    }
}

/// Aborts the process at `point` when `GROUNDWORK_FAILPOINT` names it (tests only set it).
fn failpoint(point: &str) {
    static NAMED: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let named = NAMED.get_or_init(|| std::env::var("GROUNDWORK_FAILPOINT").ok());
    if named.as_deref() == Some(point) {
        eprintln!("failpoint {point}: aborting");
        std::process::abort();
    }
}

/// The submit stage of one oracle.
pub struct Submitter {
    /// Recipients whose token account this relayer created (rent is paid once per recipient).
    relay_ledger: RelayLedger,
    /// The address lookup table this relayer created for transactions too long for a legacy
    /// one.
    relay_table_file: lookup_table::TableFile,
    /// What relayed claims sent lately may cost, until their cost surely shows in the
    /// balance ([`RELAY_SETTLE`]).
    relay_spending: std::sync::Mutex<std::collections::VecDeque<(std::time::Instant, u64)>>,
    rpc: SubmitRpc,
    oracle: Keypair,
    submissions: Submissions,
    settings: SubmitSettings,
}

impl Submitter {
    pub fn new(
        rpc: SubmitRpc,
        oracle: Keypair,
        submissions_dir: impl Into<PathBuf>,
        settings: SubmitSettings,
    ) -> Self {
        let submissions_dir = submissions_dir.into();
        Submitter {
            relay_ledger: RelayLedger::new(submissions_dir.join("relay-created-accounts.json")),
            relay_table_file: lookup_table::TableFile::new(
                submissions_dir.join("relay-lookup-table.json"),
            ),
            relay_spending: Default::default(),
            rpc,
            oracle,
            submissions: Submissions::new(submissions_dir),
            settings,
        }
    }

    pub fn oracle(&self) -> Pubkey {
        self.oracle.pubkey()
    }

    pub fn submissions(&self) -> &Submissions {
        &self.submissions
    }

    /// The lamports the oracle key holds now (what pays votes and relayed claims).
    pub async fn key_lamports(&self) -> Result<u64, SubmitError> {
        Ok(self
            .rpc
            .lamports_now(&self.oracle.pubkey())
            .await
            .map_err(SubmitError::Rpc)?
            .unwrap_or(0))
    }

    /// The lamports relayed claims leave to the key for votes.
    pub fn relay_reserve_lamports(&self) -> u64 {
        self.settings.relay_reserve_lamports
    }

    /// The on-chain reward config (the oracle set, the active root).
    pub async fn reward_config(&self) -> Result<RewardConfigV0, SubmitError> {
        self.rpc
            .account::<RewardConfigV0>(&groundwork_client::reward_epochs::config_address())
            .await
            .map_err(SubmitError::Rpc)?
            .ok_or_else(|| SubmitError::Rpc("the reward config is not on chain".into()))
    }

    /// Takes `vote`'s epoch one step as far as it can go now: reads the chain and the
    /// pending attempts, then signs, sends or waits. Idempotent: called again after a crash
    /// at any point, it neither votes twice nor loses a vote.
    pub async fn step(&self, vote: &Vote) -> Result<Step, SubmitError> {
        let root = hex::encode(vote.root);
        let mut submission = match self.submissions.load(vote.epoch)? {
            Some(submission) => {
                if submission.root != root || submission.cumulative_total != vote.cumulative_total {
                    return Err(SubmitError::RootChanged {
                        epoch: vote.epoch,
                        submitted: submission.root,
                        report: root,
                    });
                }
                submission
            }
            None => {
                let submission = Submission {
                    epoch: vote.epoch,
                    root,
                    cumulative_total: vote.cumulative_total,
                    leaf_count: vote.leaf_count,
                    report_digest: hex::encode(vote.report_digest),
                    state: State::Computed,
                    attempts: Vec::new(),
                    last_problem: None,
                    vetoes_at_first_attempt: None,
                };
                self.submissions.save(&submission)?;
                submission
            }
        };
        // A confirmed vote stays settled unless the epoch is vetoed after it (a veto clears
        // the votes): the only final state read again.
        let confirmed = matches!(submission.state, State::Confirmed { .. });
        if submission.state.is_final() && !confirmed {
            return Ok(Step::Now(submission.state));
        }
        // 1. What the chain holds: this oracle's vote, the epoch's status, newer roots.
        let Some(record) = self
            .rpc
            .account::<EpochV0>(&groundwork_client::reward_epochs::epoch_address(vote.epoch))
            .await
            .map_err(SubmitError::Rpc)?
        else {
            return Ok(Step::NotClosed);
        };
        // A veto is final for the root (SPEC 4.4): vetoed after this oracle started voting
        // it, it is never voted again.
        // Vetoed since this oracle started voting, while its vote is not in the record (a vote
        // there was cast after the veto), and the veto was of this root: the pending root
        // vetoed is it, or no root was ever pending (a veto of split votes clears every
        // candidate). A veto of another oracle's pending root only cleared this vote: it is
        // cast again.
        let vetoed_while_voting = submission
            .vetoes_at_first_attempt
            .is_some_and(|seen| record.vetoes > seen)
            && record.vote_of(&self.oracle.pubkey()).is_none()
            && (record.pending_root == vote.root || record.pending_root == [0; 32]);
        let vetoed_before = record.vetoes > 0
            && record.status == RootStatus::Voting
            && record.pending_root == vote.root;
        if vetoed_while_voting || vetoed_before {
            tracing::error!(
                epoch = vote.epoch,
                root = %submission.root,
                vetoes = record.vetoes,
                "VETOED: the authority vetoed this epoch's root; it is never voted again, and no later epoch is voted until an operator recomputes from this one (groundwork-oracle recompute)"
            );
            let vetoed = State::Vetoed {
                reason: format!(
                    "the authority vetoed epoch {}'s root {} (vetoes: {}); recompute from this epoch with the corrected configuration: groundwork-oracle --config <file> recompute --from-epoch {}",
                    vote.epoch, submission.root, record.vetoes, vote.epoch
                ),
            };
            return self.finish(&mut submission, vetoed);
        }
        if confirmed {
            if record.status == RootStatus::Voting
                && record.vote_of(&self.oracle.pubkey()).is_some()
            {
                self.vote_again_if_quorum_reached(vote, &record).await?;
                return Ok(Step::Now(submission.state));
            }
            if record.status != RootStatus::Voting {
                return Ok(Step::Now(submission.state));
            }
            // Gone without a veto (this oracle left the set and came back): voted again.
            tracing::warn!(
                epoch = vote.epoch,
                "the confirmed vote is gone from the epoch record without a veto; voting again"
            );
            submission.state = State::Computed;
            self.submissions.save(&submission)?;
        }
        if let Some(mut decided) = self.decided_on_chain(vote, &record).await? {
            if let State::Confirmed { signature, .. } = &mut decided {
                *signature = self.landed_attempt(&submission).await;
            }
            return self.finish(&mut submission, decided);
        }
        // 2. The newest attempt: landed, still able to land, or dropped. Not when the epoch
        // is back to computed (its newest attempt landed and failed) or vetoed (the earlier
        // attempts landed and were cleared): then a new one is signed.
        let sign_anew = matches!(submission.state, State::Computed);
        if let Some(newest) = submission.attempts.last().cloned().filter(|_| !sign_anew) {
            let signature: solana_signature::Signature =
                newest.signature.parse().map_err(|_| {
                    SubmitError::Rpc(format!(
                        "a stored signature {} does not parse",
                        newest.signature
                    ))
                })?;
            match self
                .rpc
                .landing(&signature, newest.last_valid_block_height)
                .await
                .map_err(SubmitError::Rpc)?
            {
                Landing::Finalized(None) => {
                    return self.finish(
                        &mut submission,
                        State::Confirmed {
                            signature: Some(newest.signature.clone()),
                            how: "its transaction is finalized".into(),
                        },
                    );
                }
                Landing::Finalized(Some(error)) => {
                    // It landed and failed: it voted nothing. A refusal that decides the
                    // epoch ends it; any other is noted and the vote signed again next round.
                    if let Some(decided) = self.judge_refusal(&error, &[]) {
                        return self.finish(&mut submission, decided);
                    }
                    return self.note_problem(
                        &mut submission,
                        format!("the vote landed and failed: {error}; signing it again"),
                        true,
                    );
                }
                Landing::Pending(_) => return Ok(Step::Now(submission.state)),
                Landing::Unknown => {
                    // Still able to land: (re)send the same bytes to every endpoint.
                    let transaction = self.rebuild(vote, &newest)?;
                    self.send(&mut submission, &transaction).await?;
                    return Ok(Step::Now(submission.state));
                }
                Landing::Dropped => {
                    tracing::warn!(
                        epoch = vote.epoch,
                        signature = %newest.signature,
                        last_valid_block_height = newest.last_valid_block_height,
                        "the vote's transaction was dropped (its blockhash expired unseen); signing it again"
                    );
                }
            }
        }
        // 3. Sign a new attempt (persisted before its first send), then send it.
        failpoint("submit:before_sign");
        let (transaction, attempt) = match self.sign(vote, submission.attempts.last()).await? {
            Ok(signed) => signed,
            Err((error, logs)) => {
                if let Some(decided) = self.judge_refusal(&error, &logs) {
                    return self.finish(&mut submission, decided);
                }
                return self.note_problem(
                    &mut submission,
                    format!(
                        "the simulation refuses the vote: {error}{}; trying again",
                        if logs.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", logs.join(" | "))
                        }
                    ),
                    false,
                );
            }
        };
        submission.attempts.push(attempt);
        submission
            .vetoes_at_first_attempt
            .get_or_insert(record.vetoes);
        submission.last_problem = None;
        submission.state = State::Signed;
        self.submissions.save(&submission)?;
        failpoint("submit:after_sign");
        self.send(&mut submission, &transaction).await?;
        Ok(Step::Now(submission.state))
    }

    /// Which of the submission's attempts carried the vote the epoch record holds: the
    /// newest one an endpoint has seen without an error (finalized or not yet).
    async fn landed_attempt(&self, submission: &Submission) -> Option<String> {
        for attempt in submission.attempts.iter().rev() {
            let signature: solana_signature::Signature = attempt.signature.parse().ok()?;
            match self
                .rpc
                .landing(&signature, attempt.last_valid_block_height)
                .await
            {
                Ok(Landing::Finalized(None) | Landing::Pending(None)) => {
                    return Some(attempt.signature.clone())
                }
                Ok(other) => {
                    tracing::debug!(epoch = submission.epoch, signature = %attempt.signature, landing = ?other, "not the attempt that carried the vote")
                }
                Err(error) => {
                    tracing::warn!(epoch = submission.epoch, %error, "cannot tell which attempt carried the vote")
                }
            }
        }
        None
    }

    /// The epoch's outcome when the chain already decides it: this oracle's vote is there,
    /// the epoch's root (or a newer one) is active.
    async fn decided_on_chain(
        &self,
        vote: &Vote,
        record: &EpochV0,
    ) -> Result<Option<State>, SubmitError> {
        if let Some(cast) = record.vote_of(&self.oracle.pubkey()) {
            if cast.root == vote.root && cast.cumulative_total == vote.cumulative_total {
                return Ok(Some(State::Confirmed {
                    signature: None,
                    how: "this oracle's vote is in the epoch record".into(),
                }));
            }
            return Ok(Some(State::Failed {
                reason: format!(
                    "this oracle's vote on chain is root {} total {}, not this report's root {} total {}",
                    hex::encode(cast.root),
                    cast.cumulative_total,
                    hex::encode(vote.root),
                    vote.cumulative_total
                ),
            }));
        }
        if record.status == RootStatus::Active {
            return Ok(Some(State::Superseded {
                reason: format!(
                    "the epoch's root {} is active without this oracle's vote",
                    hex::encode(record.pending_root)
                ),
            }));
        }
        let config = self.reward_config().await?;
        if config
            .active_root_epoch
            .is_some_and(|active| active > vote.epoch)
        {
            return Ok(Some(State::Superseded {
                reason: format!(
                    "a newer epoch's root ({}) is active: roots activate in order, this one never will",
                    config.active_root_epoch.unwrap_or_default()
                ),
            }));
        }
        Ok(None)
    }

    /// An epoch still voting whose matching votes of the current set already reach the quorum
    /// (the authority lowered it after they were cast) goes pending only when one of them is
    /// submitted again: the program accepts the identical vote for that. Sent once a round
    /// while the case holds (simulated first; a refusal sends nothing).
    async fn vote_again_if_quorum_reached(
        &self,
        vote: &Vote,
        record: &EpochV0,
    ) -> Result<(), SubmitError> {
        let config = self.reward_config().await?;
        let matching = record
            .votes
            .iter()
            .filter(|cast| {
                config.oracles.contains(&cast.oracle)
                    && cast.root == vote.root
                    && cast.cumulative_total == vote.cumulative_total
            })
            .count();
        if matching < usize::from(config.quorum) {
            return Ok(());
        }
        let instruction = self
            .instructions(vote, 0, 0)
            .pop()
            .expect("the vote instruction comes last");
        if let Some(signature) = self
            .send_once(
                instruction,
                "the identical vote again (a lowered quorum is reached)",
            )
            .await?
        {
            tracing::info!(
                epoch = vote.epoch,
                %signature,
                matching,
                quorum = config.quorum,
                "voted the identical root again: the votes already cast reach the lowered quorum"
            );
        }
        Ok(())
    }

    /// Activates `epoch`'s pending root when its challenge period has ended by `now_unix_s`
    /// (the permissionless crank; the program checks its own clock). The signature when a
    /// transaction was sent; nothing to do otherwise. Nothing is persisted: activating twice
    /// is refused by the program and costs nothing but a fee.
    pub async fn activate_if_due(
        &self,
        epoch: u64,
        now_unix_s: i64,
    ) -> Result<Option<String>, SubmitError> {
        let Some(record) = self
            .rpc
            .account::<EpochV0>(&groundwork_client::reward_epochs::epoch_address(epoch))
            .await
            .map_err(SubmitError::Rpc)?
        else {
            return Ok(None);
        };
        if record.status != RootStatus::Pending || record.activates_at > now_unix_s {
            return Ok(None);
        }
        self.send_once(
            groundwork_client::reward_epochs::activate_root(epoch),
            "root activation",
        )
        .await
    }

    /// Sends `instruction` once, paid by the oracle key: simulated first (a refusal sends
    /// nothing and answers `None`), its compute units from the simulation, the fee floor.
    pub(crate) async fn send_once(
        &self,
        instruction: anchor_lang::solana_program::instruction::Instruction,
        what: &str,
    ) -> Result<Option<String>, SubmitError> {
        self.send_all_once(vec![instruction], what).await
    }

    /// Sends `instructions` in one transaction once, as [`Self::send_once`].
    pub(crate) async fn send_all_once(
        &self,
        instructions: Vec<anchor_lang::solana_program::instruction::Instruction>,
        what: &str,
    ) -> Result<Option<String>, SubmitError> {
        self.send_compiled_once(instructions, None, what).await
    }

    /// Sends `instructions` in one transaction once, as [`Self::send_once`]: a legacy one, or
    /// with `table` a v0 one whose accounts `table` holds are looked up in it.
    pub(crate) async fn send_compiled_once(
        &self,
        instructions: Vec<anchor_lang::solana_program::instruction::Instruction>,
        table: Option<&AddressLookupTableAccount>,
        what: &str,
    ) -> Result<Option<String>, SubmitError> {
        let payer = self.oracle.pubkey();
        let compile = |instructions: &[anchor_lang::solana_program::instruction::Instruction],
                       blockhash: solana_message::Hash|
         -> Result<VersionedMessage, SubmitError> {
            Ok(match table {
                None => VersionedMessage::Legacy(Message::new_with_blockhash(
                    instructions,
                    Some(&payer),
                    &blockhash,
                )),
                Some(table) => VersionedMessage::V0(
                    v0::Message::try_compile(
                        &payer,
                        instructions,
                        std::slice::from_ref(table),
                        blockhash,
                    )
                    .map_err(|error| SubmitError::Rpc(format!("compiling the {what}: {error}")))?,
                ),
            })
        };
        let probe = compile(&instructions, solana_message::Hash::default())?;
        let probe = VersionedTransaction {
            signatures: vec![
                solana_signature::Signature::default();
                usize::from(probe.header().num_required_signatures)
            ],
            message: probe,
        };
        let units = match self.rpc.simulate(&probe).await.map_err(SubmitError::Rpc)? {
            Ok(units) => units,
            Err((error, _)) => {
                tracing::debug!(%error, what, "not sent: the simulation refuses it");
                return Ok(None);
            }
        };
        let (blockhash, _) = self
            .rpc
            .latest_blockhash()
            .await
            .map_err(SubmitError::Rpc)?;
        let mut budgeted =
            compute_budget_instructions(unit_limit_for(units), self.settings.priority_fee_floor)
                .to_vec();
        budgeted.extend(instructions);
        let transaction =
            VersionedTransaction::try_new(compile(&budgeted, blockhash)?, &[&self.oracle])
                .map_err(|error| SubmitError::Rpc(format!("signing the {what}: {error}")))?;
        let (accepted, refusals) = self.rpc.broadcast(&transaction).await;
        if accepted == 0 {
            return Err(SubmitError::Rpc(refusals.join("; ")));
        }
        let signature = transaction.signatures[0].to_string();
        tracing::info!(%signature, what, "sent");
        Ok(Some(signature))
    }

    /// The state a refusal by the program decides, or `None` when a retry can change it:
    /// only a total the program refuses for this report (above the device pool, below the
    /// active root's) fails the epoch; "root already active" supersedes it. "Already voted"
    /// decides nothing by itself: the vote is there, but whether it is this report's root is
    /// read from the epoch record next round.
    fn judge_refusal(&self, error: &TransactionError, logs: &[String]) -> Option<State> {
        use reward_epochs::errors::RewardError;
        let code = custom_code(error)?;
        if code == program_error(RewardError::RootAlreadyActive) {
            return Some(State::Superseded {
                reason: "the epoch's root is already active".into(),
            });
        }
        let refused_total = code == program_error(RewardError::TotalExceedsDevicePool)
            || code == program_error(RewardError::TotalDecreased);
        refused_total.then(|| State::Failed {
            reason: format!(
                "the program refuses this report's total: {error}{}",
                if logs.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", logs.join(" | "))
                }
            ),
        })
    }

    /// Records a problem that does not decide the epoch (logged when it changes); with
    /// `sign_again`, the next round signs a new attempt.
    fn note_problem(
        &self,
        submission: &mut Submission,
        problem: String,
        sign_again: bool,
    ) -> Result<Step, SubmitError> {
        if submission.last_problem.as_ref() != Some(&problem) {
            tracing::warn!(epoch = submission.epoch, %problem, "the vote is held up");
            submission.last_problem = Some(problem);
        }
        if sign_again {
            submission.state = State::Computed;
        }
        self.submissions.save(submission)?;
        Ok(Step::Now(submission.state.clone()))
    }

    fn instructions(
        &self,
        vote: &Vote,
        unit_limit: u32,
        fee: u64,
    ) -> Vec<anchor_lang::solana_program::instruction::Instruction> {
        let mut instructions = compute_budget_instructions(unit_limit, fee).to_vec();
        instructions.push(groundwork_client::reward_epochs::submit_root(
            &self.oracle.pubkey(),
            vote.epoch,
            SubmitRootArgsV0 {
                root: vote.root,
                cumulative_total: vote.cumulative_total,
                leaf_count: vote.leaf_count,
            },
        ));
        instructions
    }

    /// A new attempt: simulated for its compute units (a refusal decides the epoch instead),
    /// priced from recent fees and doubled from the previous attempt, signed on a fresh
    /// blockhash.
    async fn sign(
        &self,
        vote: &Vote,
        previous: Option<&Attempt>,
    ) -> Result<Result<(Transaction, Attempt), (TransactionError, Vec<String>)>, SubmitError> {
        let payer = self.oracle.pubkey();
        let probe = self.instructions(vote, 1_400_000, 0);
        let simulated = self
            .rpc
            .simulate(&Transaction::new_unsigned(Message::new(
                &probe,
                Some(&payer),
            )))
            .await
            .map_err(SubmitError::Rpc)?;
        let units = match simulated {
            Ok(units) => units,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let unit_limit = unit_limit_for(units);
        let writable: Vec<Pubkey> = probe
            .iter()
            .flat_map(|instruction| instruction.accounts.iter())
            .filter(|meta| meta.is_writable)
            .map(|meta| meta.pubkey)
            .collect();
        let recent = median_priority_fee(
            &self.rpc.recent_fees(&writable).await,
            self.settings.priority_fee_ceiling,
        );
        // Each re-signing at least doubles the fee (from 1,000 when the last one paid none).
        let escalated = previous.map_or(0, |attempt| {
            attempt
                .priority_fee_micro_lamports
                .saturating_mul(2)
                .max(1_000)
        });
        let fee = recent.max(escalated).clamp(
            self.settings.priority_fee_floor,
            self.settings.priority_fee_ceiling,
        );
        let (blockhash, last_valid_block_height) = self
            .rpc
            .latest_blockhash()
            .await
            .map_err(SubmitError::Rpc)?;
        let transaction = Transaction::new(
            &[&self.oracle],
            Message::new(&self.instructions(vote, unit_limit, fee), Some(&payer)),
            blockhash,
        );
        let attempt = Attempt {
            signature: transaction.signatures[0].to_string(),
            blockhash: blockhash.to_string(),
            last_valid_block_height,
            priority_fee_micro_lamports: fee,
            compute_unit_limit: unit_limit,
        };
        tracing::info!(
            epoch = vote.epoch,
            signature = %attempt.signature,
            priority_fee = fee,
            compute_unit_limit = unit_limit,
            last_valid_block_height,
            "vote signed"
        );
        Ok(Ok((transaction, attempt)))
    }

    /// The exact transaction of a stored attempt (ed25519 signs deterministically: the same
    /// message gives the same signature, checked).
    fn rebuild(&self, vote: &Vote, attempt: &Attempt) -> Result<Transaction, SubmitError> {
        let blockhash: solana_message::Hash = attempt.blockhash.parse().map_err(|_| {
            SubmitError::Rpc(format!(
                "a stored blockhash {} does not parse",
                attempt.blockhash
            ))
        })?;
        let transaction = Transaction::new(
            &[&self.oracle],
            Message::new(
                &self.instructions(
                    vote,
                    attempt.compute_unit_limit,
                    attempt.priority_fee_micro_lamports,
                ),
                Some(&self.oracle.pubkey()),
            ),
            blockhash,
        );
        if transaction.signatures[0].to_string() != attempt.signature {
            return Err(SubmitError::Rpc(format!(
                "the stored attempt {} does not rebuild to its signature (another key or report?)",
                attempt.signature
            )));
        }
        Ok(transaction)
    }

    async fn send(
        &self,
        submission: &mut Submission,
        transaction: &Transaction,
    ) -> Result<(), SubmitError> {
        let (accepted, refusals) = self.rpc.broadcast(transaction).await;
        if accepted == 0 {
            tracing::warn!(epoch = submission.epoch, refusals = ?refusals, "no endpoint took the vote; sending again soon");
            return Ok(());
        }
        if !refusals.is_empty() {
            tracing::warn!(epoch = submission.epoch, accepted, refusals = ?refusals, "some endpoints refused the vote");
        }
        if submission.state != State::Sent {
            submission.state = State::Sent;
            self.submissions.save(submission)?;
            tracing::info!(epoch = submission.epoch, endpoints = accepted, "vote sent");
        }
        failpoint("submit:after_send");
        Ok(())
    }

    fn finish(&self, submission: &mut Submission, state: State) -> Result<Step, SubmitError> {
        match &state {
            State::Failed { reason } => {
                tracing::error!(epoch = submission.epoch, %reason, "the vote cannot be cast; an operator must act")
            }
            State::Confirmed { how, .. } => {
                tracing::info!(epoch = submission.epoch, root = %submission.root, %how, "vote confirmed")
            }
            State::Superseded { reason } => {
                tracing::info!(epoch = submission.epoch, %reason, "no vote needed")
            }
            _ => {}
        }
        submission.state = state;
        self.submissions.save(submission)?;
        if matches!(submission.state, State::Confirmed { .. }) {
            failpoint("submit:after_confirm");
        }
        Ok(Step::Now(submission.state.clone()))
    }
}
