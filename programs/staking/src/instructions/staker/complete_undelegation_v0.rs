use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::checks::{
    check_pool, check_pool_rewards, cohort_mut, cohort_snapshot, record_mut, record_snapshots,
};
use crate::errors::StakingError;
use crate::events::Undelegated;
use crate::instructions::tokens::pay_from_pool_rewards;
use crate::math;
use crate::math::pool_rewards::{leave_pool_rewards, take_pool_rewards};
use crate::state::{
    seeds, EpochStakeV0, OperatorPoolV0, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0,
};

/// Completes an undelegation once its unbonding epochs have passed: the position gets its
/// shares' value back as its own tokens (after every slash up to now), and is paid the pool
/// device rewards it still has counted (those of the epochs before its request; if its exit
/// was not swept yet, what was swept so far — every sweep so far was of earlier epochs).
#[event_cpi]
#[derive(Accounts)]
pub struct CompleteUndelegationV0<'info> {
    pub owner: Signer<'info>,
    #[account(mut, seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
        has_one = owner @ StakingError::NotPositionOwner,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    #[account(mut, seeds = [seeds::OPERATOR_POOL, pool.operator.as_ref()], bump = pool.bump)]
    pub pool: Box<Account<'info, OperatorPoolV0>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    #[account(mut)]
    pub pool_rewards: Box<Account<'info, PoolRewardsV0>>,
    /// The exit cohort the position waits in (required while it waits).
    #[account(mut)]
    pub pool_cohort: Option<Box<Account<'info, PoolCohortV0>>>,
    /// CHECK: the pool rewards' token account (required when pool rewards are paid;
    /// checked then by `pay_from_pool_rewards`).
    #[account(mut)]
    pub pool_reward_tokens: Option<UncheckedAccount<'info>>,
    #[account(mut, token::mint = network_mint, token::authority = owner)]
    pub owner_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = config.network_mint)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl CompleteUndelegationV0<'_> {
    /// The pool is the position's, an undelegation was requested and its unbonding is over.
    pub fn validate(&self) -> Result<()> {
        check_pool(&self.position, Some(&self.pool))?;
        let pending = self
            .position
            .pending_undelegation
            .ok_or(StakingError::NoUndelegationRequested)?;
        let epoch = self.config.epoch_at(Clock::get()?.unix_timestamp);
        require!(
            epoch >= pending.completes_epoch,
            StakingError::UndelegationNotMatured
        );
        check_pool_rewards(&self.position, Some(&self.pool_rewards))?;
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<CompleteUndelegationV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let operator = accounts.pool.operator;
    leave_pool_rewards(
        &mut accounts.position,
        &mut accounts.pool_rewards,
        cohort_mut(&mut accounts.pool_cohort),
    )?;
    let pool_amount = take_pool_rewards(&mut accounts.position, &mut accounts.pool_rewards)?;
    if pool_amount > 0 {
        let pool_tokens = accounts
            .pool_reward_tokens
            .as_ref()
            .ok_or(StakingError::PoolRewardTokensMissing)?;
        pay_from_pool_rewards(
            &accounts.pool_rewards,
            &pool_tokens.to_account_info(),
            &accounts.owner_tokens,
            &accounts.network_mint,
            &accounts.token_program,
            pool_amount,
        )?;
    }
    math::leave_pool(
        &mut accounts.position,
        &mut accounts.config,
        &mut accounts.pool,
        record_mut(&mut accounts.bonus_record),
    )?;
    accounts.config.invariant()?;
    let event = Undelegated {
        unix_timestamp: now,
        operator,
        amount: accounts.position.amount,
        pool_amount,
        position: (**accounts.position).clone(),
        pool_rewards: (**accounts.pool_rewards).clone(),
        cohort: cohort_snapshot(&accounts.pool_cohort),
        pool: (**accounts.pool).clone(),
        records: record_snapshots(&[&accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
