use anchor_lang::prelude::*;

use crate::events::CommissionSet;
use crate::instructions::staker::checks::require_registered_operator;
use crate::state::{seeds, PoolRewardsV0, StakingConfigV0};

/// A registered operator sets the commission it keeps of its pool's device rewards (basis
/// points of the part of its devices' rewards that the stake multiplier added), at most the
/// staking authority's maximum. It takes effect from the next epoch, so delegators see it
/// coming and can leave first; the oracle applies the commission in force at each epoch's
/// start. The operator pays the pool rewards account's rent if it does not exist yet.
#[event_cpi]
#[derive(Accounts)]
pub struct SetCommissionV0<'info> {
    #[account(mut)]
    pub operator_authority: Signer<'info>,
    /// CHECK: the operator's record in the device registry (as in `delegate_v0`).
    #[account(
        seeds = [device_registry::state::seeds::OPERATOR, operator_authority.key().as_ref()],
        bump,
        seeds::program = device_registry::ID,
        owner = device_registry::ID,
    )]
    pub operator: UncheckedAccount<'info>,
    #[account(seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        init_if_needed,
        payer = operator_authority,
        space = 8 + PoolRewardsV0::INIT_SPACE,
        seeds = [seeds::POOL_REWARDS, operator_authority.key().as_ref()],
        bump,
    )]
    pub pool_rewards: Box<Account<'info, PoolRewardsV0>>,
    pub system_program: Program<'info, System>,
}

impl SetCommissionV0<'_> {
    /// The signer is a registered operator.
    pub fn validate(&self) -> Result<()> {
        require_registered_operator(&self.operator)
    }
}

/// Fills a pool rewards account created by this instruction (commission: the maximum until
/// the operator sets one); leaves an existing one as it is.
pub fn init_pool_rewards(
    pool_rewards: &mut PoolRewardsV0,
    bump: u8,
    operator: Pubkey,
    config: &StakingConfigV0,
) {
    if pool_rewards.operator == operator {
        return;
    }
    *pool_rewards = PoolRewardsV0::new(bump, operator, config.params.max_commission_bps);
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<SetCommissionV0>, commission_bps: u16) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let operator = accounts.operator_authority.key();
    let before = (accounts.pool_rewards.operator == operator)
        .then(|| accounts.pool_rewards.commission_terms());
    init_pool_rewards(
        &mut accounts.pool_rewards,
        ctx.bumps.pool_rewards,
        operator,
        &accounts.config,
    );
    let epoch = accounts.config.epoch_at(now);
    let in_force_before = accounts.pool_rewards.commission_for(epoch);
    let change = accounts.pool_rewards.set_commission(
        commission_bps,
        accounts.config.params.max_commission_bps,
        epoch,
    )?;
    let event = CommissionSet {
        unix_timestamp: now,
        operator,
        in_force_bps: in_force_before,
        bps: change.bps,
        effective_epoch: change.effective_epoch,
        before,
        pool_rewards: (**accounts.pool_rewards).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
