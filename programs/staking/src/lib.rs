//! Groundwork staking: locked positions (flexible, cliff, constant) with lockup-weighted
//! rewards paid through a reward-per-weight index (any number of epochs in one O(1) claim),
//! delegation to operators through share-based pools, and O(1) slashing.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod errors;
pub mod events;
pub mod instructions;
pub mod math;
pub mod state;

pub use instructions::*;
pub use state::*;

declare_id!("EE7PLRus5HpzDDs3mwKRhGuzN9ie1fi3KPSLfvew6kLs");

#[program]
pub mod staking {
    use super::*;

    /// Creates the staking config and vaults (upgrade authority only).
    pub fn initialize_staking_v0(
        ctx: Context<InitializeStakingV0>,
        args: InitializeStakingArgsV0,
    ) -> Result<()> {
        instructions::admin::initialize_staking_v0::handler(ctx, args)
    }

    /// Authority: updates the forward-looking lockup, slashing and unbonding parameters.
    pub fn update_staking_params_v0(
        ctx: Context<AuthorityV0>,
        params: StakingParams,
    ) -> Result<()> {
        instructions::admin::update_staking_params_v0::handler(ctx, params)
    }

    /// Authority: proposes a new authority (step one of two), or cancels with `None`.
    pub fn transfer_authority_v0(
        ctx: Context<AuthorityV0>,
        new_authority: Option<Pubkey>,
    ) -> Result<()> {
        instructions::admin::authority::transfer_authority_handler(ctx, new_authority)
    }

    /// The proposed authority accepts (step two of two).
    pub fn accept_authority_v0(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
        instructions::admin::authority::accept_authority_handler(ctx)
    }

    /// Authority: slashes an operator's pool by `bps` (capped per call) and burns it.
    pub fn slash_v0(ctx: Context<SlashV0>, bps: u16, reason: u16) -> Result<()> {
        instructions::admin::slash_v0::handler(ctx, bps, reason)
    }

    /// Reward program PDA only: funds an epoch's staker rewards.
    pub fn fund_epoch_rewards_v0(
        ctx: Context<FundEpochRewardsV0>,
        epoch: u64,
        amount: u64,
    ) -> Result<()> {
        instructions::crank::fund_epoch_rewards_v0::handler(ctx, epoch, amount)
    }

    /// Locks tokens in a new position.
    pub fn create_position_v0(
        ctx: Context<CreatePositionV0>,
        args: CreatePositionArgsV0,
    ) -> Result<()> {
        instructions::staker::create_position_v0::handler(ctx, args)
    }

    /// Locks a position longer (`new_bonus_expiry_epoch` names the new cliff's bonus end).
    pub fn extend_lockup_v0(
        ctx: Context<ExtendLockupV0>,
        lockup: LockupArgs,
        new_bonus_expiry_epoch: Option<u64>,
    ) -> Result<()> {
        instructions::staker::extend_lockup_v0::handler(ctx, lockup, new_bonus_expiry_epoch)
    }

    /// Starts a constant lockup's countdown (and its bonus's), or a flexible position's
    /// cooldown.
    pub fn start_unlock_v0(
        ctx: Context<StartUnlockV0>,
        bonus_expiry_epoch: Option<u64>,
    ) -> Result<()> {
        instructions::staker::start_unlock_v0::handler(ctx, bonus_expiry_epoch)
    }

    /// Withdraws an unlocked, undelegated position's tokens.
    pub fn withdraw_v0(ctx: Context<WithdrawV0>) -> Result<()> {
        instructions::staker::withdraw_v0::handler(ctx)
    }

    /// Closes an empty position.
    pub fn close_position_v0(ctx: Context<ClosePositionV0>) -> Result<()> {
        instructions::staker::close_position_v0::handler(ctx)
    }

    /// Delegates a position to a registered operator (waiting in pool cohort
    /// `cohort_epoch` to earn the pool's device rewards).
    pub fn delegate_v0(ctx: Context<DelegateV0>, cohort_epoch: u64) -> Result<()> {
        instructions::staker::delegate_v0::handler(ctx, cohort_epoch)
    }

    /// Requests to leave the operator's pool after `unbonding_epochs` full epochs (its pool
    /// device rewards end with the epoch before `exit_epoch`, the current one).
    pub fn undelegate_v0(ctx: Context<UndelegateV0>, exit_epoch: u64) -> Result<()> {
        instructions::staker::undelegate_v0::handler(ctx, exit_epoch)
    }

    /// Completes an undelegation once its unbonding is over.
    pub fn complete_undelegation_v0(ctx: Context<CompleteUndelegationV0>) -> Result<()> {
        instructions::staker::complete_undelegation_v0::handler(ctx)
    }

    /// Pays a position's rewards (any number of epochs, O(1)).
    pub fn claim_stake_rewards_v0(ctx: Context<ClaimStakeRewardsV0>) -> Result<()> {
        instructions::staker::claim_stake_rewards_v0::handler(ctx)
    }

    /// Anyone: brings a position up to date (activation, rewards counted, bonus ended or
    /// revalued after a slash) without paying it.
    pub fn sync_position_v0(ctx: Context<SyncPositionV0>) -> Result<()> {
        instructions::crank::sync_position_v0::handler(ctx)
    }

    /// A registered operator: sets its pool's commission (from the next epoch, at most the
    /// authority's maximum).
    pub fn set_commission_v0(ctx: Context<SetCommissionV0>, commission_bps: u16) -> Result<()> {
        instructions::operator::set_commission_v0::handler(ctx, commission_bps)
    }

    /// Anyone: claims a pool's leaf from the reward program and takes it into the pool's
    /// per-share index (O(1)), applying the cohorts due (their records as remaining accounts,
    /// in the waiting list's order).
    pub fn sweep_pool_rewards_v0<'info>(
        ctx: Context<'info, SweepPoolRewardsV0<'info>>,
        args: SweepPoolRewardsArgsV0,
    ) -> Result<()> {
        instructions::crank::sweep_pool_rewards_v0::handler(ctx, args)
    }

    /// Anyone: closes a started pool cohort no member needs, rent to its payer.
    pub fn close_pool_cohort_v0(ctx: Context<ClosePoolCohortV0>) -> Result<()> {
        instructions::crank::close_pool_cohort_v0::handler(ctx)
    }

    /// Anyone: closes a funded epoch-stake record no position needs, rent to its payer.
    pub fn close_epoch_stake_v0(ctx: Context<CloseEpochStakeV0>) -> Result<()> {
        instructions::crank::close_epoch_stake_v0::handler(ctx)
    }
}
