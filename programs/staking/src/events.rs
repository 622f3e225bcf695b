//! Events of the staking program (emitted with `emit_cpi!`).

use anchor_lang::prelude::*;

use crate::state::{LockupKind, StakingParams};

#[event]
pub struct StakingInitialized {
    pub authority: Pubkey,
    pub network_mint: Pubkey,
    pub reward_program: Pubkey,
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
    pub params: StakingParams,
}

#[event]
pub struct StakingParamsUpdated {
    pub before: StakingParams,
    pub after: StakingParams,
}

#[event]
pub struct StakingAuthorityTransferProposed {
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct StakingAuthorityTransferAccepted {
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}

#[event]
pub struct PositionCreated {
    pub position: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub kind: LockupKind,
    pub duration_s: i64,
    pub multiplier_bps: u32,
    pub weight: u128,
    pub activation_epoch: u64,
}

#[event]
pub struct LockupExtended {
    pub position: Pubkey,
    pub kind_before: LockupKind,
    pub kind_after: LockupKind,
    pub duration_before_s: i64,
    pub duration_after_s: i64,
    pub multiplier_before_bps: u32,
    pub multiplier_after_bps: u32,
}

#[event]
pub struct UnlockStarted {
    pub position: Pubkey,
    pub kind_before: LockupKind,
    /// Cliff end (constant lockups) or 0.
    pub end_ts: i64,
    /// First epoch a flexible position may withdraw, or None.
    pub withdrawable_epoch: Option<u64>,
}

#[event]
pub struct Withdrawn {
    pub position: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
}

#[event]
pub struct PositionClosed {
    pub position: Pubkey,
    pub owner: Pubkey,
}

#[event]
pub struct Delegated {
    pub position: Pubkey,
    pub operator: Pubkey,
    pub amount: u64,
    pub shares: u128,
    pub active_from_epoch: u64,
    pub pool_tokens_after: u64,
}

#[event]
pub struct UndelegationRequested {
    pub position: Pubkey,
    pub operator: Pubkey,
    pub epoch: u64,
}

#[event]
pub struct Undelegated {
    pub position: Pubkey,
    pub operator: Pubkey,
    pub amount: u64,
    pub pool_tokens_after: u64,
}

#[event]
pub struct OperatorSlashed {
    pub operator: Pubkey,
    pub bps: u16,
    pub reason: u16,
    pub pool_tokens_before: u64,
    pub pool_tokens_after: u64,
    pub burned: u64,
}

#[event]
pub struct EpochRewardsFunded {
    pub epoch: u64,
    pub amount: u64,
    pub activated_weight: u128,
    pub active_weight: u128,
    pub carried_after: u64,
    pub reward_per_weight_after: u128,
}

#[event]
pub struct StakeRewardsClaimed {
    pub position: Pubkey,
    pub owner: Pubkey,
    pub amount: u64,
    pub claimed_total: u64,
}
