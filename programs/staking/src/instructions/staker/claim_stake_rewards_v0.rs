use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use super::checks::{
    bring_up_to_date, cohort_snapshot, pool_rewards_snapshot, record_snapshots, settle_pool,
};
use crate::errors::StakingError;
use crate::events::StakeRewardsClaimed;
use crate::instructions::tokens::{pay_from_pool_rewards, pay_from_vault};
use crate::math;
use crate::math::pool_rewards::take_pool_rewards;
use crate::state::{
    seeds, EpochStakeV0, OperatorPoolV0, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0,
};

/// Pays a position everything it earned, over any number of epochs, in one O(1) instruction,
/// into the owner's token account: its staker rewards from the reward vault and, while
/// delegated, its share of the pool's device rewards from the pool rewards' token account.
/// Anyone may send it (a crank can claim for stakers).
#[event_cpi]
#[derive(Accounts)]
pub struct ClaimStakeRewardsV0<'info> {
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = reward_vault,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POSITION, position.owner.as_ref(), &position.id.to_le_bytes()],
        bump = position.bump,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    /// The position's activation record (required until it is active).
    #[account(mut)]
    pub activation_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The pool the position is delegated to (required while delegated).
    #[account(mut)]
    pub pool: Option<Box<Account<'info, OperatorPoolV0>>>,
    /// The pool's device rewards (required while delegated).
    #[account(mut)]
    pub pool_rewards: Option<Box<Account<'info, PoolRewardsV0>>>,
    /// The pool cohort the position waits in (required while it waits).
    #[account(mut)]
    pub pool_cohort: Option<Box<Account<'info, PoolCohortV0>>>,
    /// CHECK: the token account holding the pool's device rewards (required when some are
    /// paid; it exists once the reward program first paid the pool, so it is read only
    /// then, as a token account of the network mint owned by the pool rewards PDA).
    #[account(mut)]
    pub pool_reward_tokens: Option<UncheckedAccount<'info>>,
    #[account(mut, token::mint = network_mint, token::authority = position.owner)]
    pub owner_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: PDA owning the vaults; signs the payment.
    #[account(seeds = [seeds::VAULT_AUTHORITY], bump = config.vault_authority_bump)]
    pub vault_authority: UncheckedAccount<'info>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler(ctx: Context<ClaimStakeRewardsV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    bring_up_to_date(
        &mut accounts.position,
        &mut accounts.config,
        &mut accounts.activation_record,
        &mut accounts.bonus_record,
        &mut accounts.pool,
    )?;
    settle_pool(
        &mut accounts.position,
        &mut accounts.pool_rewards,
        &mut accounts.pool_cohort,
    )?;
    let amount = math::take_rewards(&mut accounts.position, &mut accounts.config)?;
    // Pool rewards are paid while delegated (completing an undelegation pays the rest).
    let pool_amount = match (
        accounts.position.operator,
        accounts.pool_rewards.as_deref_mut(),
    ) {
        (Some(_), Some(pool_rewards)) => take_pool_rewards(&mut accounts.position, pool_rewards)?,
        _ => 0,
    };
    require!(amount > 0 || pool_amount > 0, StakingError::NothingToClaim);
    accounts.config.invariant()?;
    if pool_amount > 0 {
        let pool_rewards = accounts
            .pool_rewards
            .as_deref()
            .ok_or(StakingError::PoolRewardsMissing)?;
        let pool_tokens = accounts
            .pool_reward_tokens
            .as_ref()
            .ok_or(StakingError::PoolRewardTokensMissing)?;
        pay_from_pool_rewards(
            pool_rewards,
            &pool_tokens.to_account_info(),
            &accounts.owner_tokens,
            &accounts.network_mint,
            &accounts.token_program,
            pool_amount,
        )?;
    }
    pay_from_vault(
        &accounts.config,
        &accounts.reward_vault,
        &accounts.owner_tokens,
        &accounts.vault_authority,
        &accounts.network_mint,
        &accounts.token_program,
        amount,
    )?;
    let event = StakeRewardsClaimed {
        unix_timestamp: now,
        amount,
        pool_amount,
        position: (**accounts.position).clone(),
        pool: accounts.pool.as_deref().map(|pool| (**pool).clone()),
        pool_rewards: pool_rewards_snapshot(&accounts.pool_rewards),
        cohort: cohort_snapshot(&accounts.pool_cohort),
        records: record_snapshots(&[&accounts.activation_record, &accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
