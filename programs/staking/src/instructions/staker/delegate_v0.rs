use anchor_lang::prelude::*;

use super::checks::{activate, record_mut, record_snapshots, require_registered_operator};
use crate::errors::StakingError;
use crate::events::Delegated;
use crate::instructions::operator::init_pool_rewards;
use crate::math;
use crate::math::pool_rewards::join_cohort;
use crate::state::{
    seeds, EpochStakeV0, OperatorPoolV0, PoolCohortV0, PoolRewardsV0, PositionV0, StakingConfigV0,
};

/// The owner delegates an active position to a registered operator: its tokens become shares
/// of the operator's pool (created on first delegation), exposed to the operator's slashes
/// from now on; the delegation counts for the operator from the next epoch, and earns the
/// pool's device rewards of that epoch on (it waits in the pool cohort
/// `PoolRewardsV0::cohort_for` names, `cohort_epoch`, created if needed at the owner's
/// expense). A pool that slashes drove near zero accepts no newcomer until its members have
/// left.
#[event_cpi]
#[derive(Accounts)]
#[instruction(cohort_epoch: u64)]
pub struct DelegateV0<'info> {
    #[account(mut)]
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
    /// The position's activation record (required until it is active).
    #[account(mut)]
    pub activation_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// The record of the position's bonus expiry epoch (required while it has one).
    #[account(mut)]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    /// CHECK: the operator's wallet (it need not sign), as the registry names it; its
    /// registry record is checked below.
    pub operator_authority: UncheckedAccount<'info>,
    /// CHECK: the operator's record in the device registry, proving it is registered: at the
    /// registry's PDA for `operator_authority`, owned by the registry, with the operator
    /// discriminator. (Read as raw data so the staking IDL does not embed the registry's
    /// types.)
    #[account(
        seeds = [device_registry::state::seeds::OPERATOR, operator_authority.key().as_ref()],
        bump,
        seeds::program = device_registry::ID,
        owner = device_registry::ID,
    )]
    pub operator: UncheckedAccount<'info>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + OperatorPoolV0::INIT_SPACE,
        seeds = [seeds::OPERATOR_POOL, operator_authority.key().as_ref()],
        bump,
    )]
    pub pool: Box<Account<'info, OperatorPoolV0>>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + PoolRewardsV0::INIT_SPACE,
        seeds = [seeds::POOL_REWARDS, operator_authority.key().as_ref()],
        bump,
    )]
    pub pool_rewards: Box<Account<'info, PoolRewardsV0>>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + PoolCohortV0::INIT_SPACE,
        seeds = [
            seeds::POOL_COHORT,
            operator_authority.key().as_ref(),
            &cohort_epoch.to_le_bytes(),
        ],
        bump,
    )]
    pub pool_cohort: Box<Account<'info, PoolCohortV0>>,
    pub system_program: Program<'info, System>,
}

impl DelegateV0<'_> {
    /// The operator is registered in the device registry.
    pub fn validate(&self) -> Result<()> {
        require_registered_operator(&self.operator)
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<DelegateV0>, cohort_epoch: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let operator = accounts.operator_authority.key();
    let pool_rewards_created = accounts.pool_rewards.operator != operator;
    init_pool_rewards(
        &mut accounts.pool_rewards,
        ctx.bumps.pool_rewards,
        operator,
        &accounts.config,
    );
    accounts.pool_cohort.init_if_new(
        ctx.bumps.pool_cohort,
        operator,
        cohort_epoch,
        accounts.owner.key(),
    );
    let pool = &mut accounts.pool;
    // Idempotent for an existing pool: the same values.
    pool.bump = ctx.bumps.pool;
    pool.operator = operator;
    let position = &mut accounts.position;
    activate(position, record_mut(&mut accounts.activation_record))?;
    let amount = position.amount;
    let current_epoch = accounts.config.epoch_at(now);
    math::delegate(
        position,
        &mut accounts.config,
        pool,
        record_mut(&mut accounts.bonus_record),
        current_epoch,
    )?;
    let first_earning_epoch = position.delegation_active_epoch;
    join_cohort(
        &mut accounts.pool_rewards,
        &mut accounts.pool_cohort,
        position,
        first_earning_epoch,
    )?;
    accounts.config.invariant()?;
    let event = Delegated {
        unix_timestamp: now,
        operator: pool.operator,
        amount,
        shares: position.shares,
        position: (***position).clone(),
        pool: (***pool).clone(),
        pool_rewards: (**accounts.pool_rewards).clone(),
        pool_rewards_created,
        cohort: (**accounts.pool_cohort).clone(),
        records: record_snapshots(&[&accounts.activation_record, &accounts.bonus_record]),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
