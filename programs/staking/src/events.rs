//! Events of the staking program (emitted with `emit_cpi!`). Each carries the clock's unix
//! time and the state after the change of every account the instruction changed (positions,
//! pools, epoch-stake records, the config), so an indexer rebuilds the ledger at any moment
//! from finalized history alone.

use anchor_lang::prelude::*;

use crate::state::{
    CommissionTerms, EpochStakeV0, LockupKind, OperatorPoolV0, PoolCohortV0, PoolRewardsV0,
    PositionV0, StakingConfigV0, StakingParams,
};

#[event]
pub struct StakingInitialized {
    pub unix_timestamp: i64,
    pub config: StakingConfigV0,
}

#[event]
pub struct StakingParamsUpdated {
    pub unix_timestamp: i64,
    pub before: StakingParams,
    pub after: StakingParams,
}

#[event]
pub struct AuthorityTransferProposed {
    pub unix_timestamp: i64,
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct AuthorityTransferAccepted {
    pub unix_timestamp: i64,
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}

#[event]
pub struct PositionCreated {
    pub unix_timestamp: i64,
    pub amount: u64,
    pub position: PositionV0,
    /// The epoch-stake records changed (activation, bonus expiry), after.
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct LockupExtended {
    pub unix_timestamp: i64,
    pub kind_before: LockupKind,
    pub duration_before_s: i64,
    pub multiplier_before_bps: u32,
    pub position: PositionV0,
    pub pool: Option<OperatorPoolV0>,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct UnlockStarted {
    pub unix_timestamp: i64,
    pub kind_before: LockupKind,
    pub position: PositionV0,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct Withdrawn {
    pub unix_timestamp: i64,
    pub amount: u64,
    pub position: PositionV0,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct PositionClosed {
    pub unix_timestamp: i64,
    /// The position as it was when closed.
    pub position: PositionV0,
    pub config: StakingConfigV0,
}

#[event]
pub struct Delegated {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    pub amount: u64,
    pub shares: u128,
    pub position: PositionV0,
    pub pool: OperatorPoolV0,
    pub pool_rewards: PoolRewardsV0,
    /// Whether this delegation created the pool rewards account (commission: the maximum).
    pub pool_rewards_created: bool,
    /// The cohort it waits in to earn the pool's device rewards.
    pub cohort: PoolCohortV0,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct UndelegationRequested {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    pub requested_epoch: u64,
    pub completes_epoch: u64,
    pub position: PositionV0,
    pub pool_rewards: PoolRewardsV0,
    /// The exit cohort of its epoch (it waits in it while it was earning).
    pub cohort: PoolCohortV0,
    /// The join cohort it left before starting (when it had not started earning yet).
    pub join_cohort: Option<PoolCohortV0>,
}

#[event]
pub struct Undelegated {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    pub amount: u64,
    /// Pool device rewards paid with it (counted until its exit).
    pub pool_amount: u64,
    pub position: PositionV0,
    pub pool_rewards: PoolRewardsV0,
    /// The exit cohort it waited in, after.
    pub cohort: Option<PoolCohortV0>,
    pub pool: OperatorPoolV0,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct OperatorSlashed {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    pub bps: u16,
    pub reason: u16,
    pub pool_tokens_before: u64,
    pub burned: u64,
    pub pool: OperatorPoolV0,
    pub config: StakingConfigV0,
}

#[event]
pub struct EpochRewardsFunded {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub amount: u64,
    pub activated_weight: u128,
    pub expired_weight: u128,
    /// The epoch's record after funding, when one exists.
    pub record: Option<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct StakeRewardsClaimed {
    pub unix_timestamp: i64,
    /// Staker rewards paid from the reward vault.
    pub amount: u64,
    /// Pool device rewards paid from the pool rewards' token account.
    pub pool_amount: u64,
    pub position: PositionV0,
    pub pool: Option<OperatorPoolV0>,
    pub pool_rewards: Option<PoolRewardsV0>,
    pub cohort: Option<PoolCohortV0>,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct PositionSynced {
    pub unix_timestamp: i64,
    pub position: PositionV0,
    pub pool: Option<OperatorPoolV0>,
    pub pool_rewards: Option<PoolRewardsV0>,
    pub cohort: Option<PoolCohortV0>,
    pub records: Vec<EpochStakeV0>,
    pub config: StakingConfigV0,
}

#[event]
pub struct EpochStakeClosed {
    pub unix_timestamp: i64,
    pub epoch: u64,
    pub rent_payer: Pubkey,
}

#[event]
pub struct CommissionSet {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    /// The commission in force when it was set (until `effective_epoch`).
    pub in_force_bps: u16,
    pub bps: u16,
    pub effective_epoch: u64,
    /// The terms before (`None`: this instruction created the pool rewards account).
    pub before: Option<CommissionTerms>,
    pub pool_rewards: PoolRewardsV0,
}

#[event]
pub struct PoolRewardsSwept {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    /// Root epoch of the newest claim that paid the pool.
    pub root_epoch: u64,
    /// Paid to the pool since the last sweep.
    pub received: u64,
    /// Added to the per-share index for members.
    pub distributed: u64,
    /// Paid to the operator: no member was earning.
    pub to_operator: u64,
    /// The rewards were of exactly one epoch: every join and exit took effect exactly.
    pub exact: bool,
    pub exited: u8,
    pub started_before: u8,
    pub started_after: u8,
    /// The cohorts it was given, after.
    pub cohorts: Vec<PoolCohortV0>,
    pub pool_rewards: PoolRewardsV0,
}

#[event]
pub struct PoolCohortClosed {
    pub unix_timestamp: i64,
    pub operator: Pubkey,
    pub key_epoch: u64,
    pub rent_payer: Pubkey,
}
