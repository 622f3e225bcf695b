use anchor_lang::prelude::*;
use anchor_lang::Discriminator;
use device_registry::OperatorV0;

use super::checks::activate;
use crate::errors::StakingError;
use crate::events::Delegated;
use crate::math;
use crate::state::{seeds, EpochStakeV0, OperatorPoolV0, PositionV0, StakingConfigV0};

/// The owner delegates an active position to a registered operator: its tokens become shares
/// of the operator's pool (created on first delegation), exposed to the operator's slashes
/// from now on; the delegation counts for the operator from the next epoch.
#[event_cpi]
#[derive(Accounts)]
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
    #[account(mut)]
    pub epoch_stake: Option<Box<Account<'info, EpochStakeV0>>>,
    /// CHECK: the operator's wallet (it need not sign); its registry record is checked below.
    pub operator: UncheckedAccount<'info>,
    /// CHECK: the operator's record in the device registry, proving it is registered: at the
    /// registry's PDA for `operator`, owned by the registry, with the operator discriminator.
    /// (Read as raw data so the staking IDL does not embed the registry's types.)
    #[account(
        seeds = [device_registry::state::seeds::OPERATOR, operator.key().as_ref()],
        bump,
        seeds::program = device_registry::ID,
        owner = device_registry::ID,
    )]
    pub operator_record: UncheckedAccount<'info>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + OperatorPoolV0::INIT_SPACE,
        seeds = [seeds::OPERATOR_POOL, operator.key().as_ref()],
        bump,
    )]
    pub pool: Box<Account<'info, OperatorPoolV0>>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<DelegateV0>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    require!(
        accounts
            .operator_record
            .try_borrow_data()?
            .starts_with(OperatorV0::DISCRIMINATOR),
        StakingError::NotARegisteredOperator
    );
    let pool = &mut accounts.pool;
    // Idempotent for an existing pool: the same values.
    pool.bump = ctx.bumps.pool;
    pool.operator = accounts.operator.key();
    let position = &mut accounts.position;
    activate(
        position,
        accounts.epoch_stake.as_deref().map(|record| &**record),
    )?;
    let amount = position.amount;
    let current_epoch = accounts.config.epoch_at(now);
    math::delegate(position, &mut accounts.config, pool, current_epoch)?;
    let event = Delegated {
        position: position.key(),
        operator: pool.operator,
        amount,
        shares: position.shares,
        active_from_epoch: position.delegation_active_epoch,
        pool_tokens_after: pool.tokens,
    };
    emit_cpi!(event);
    Ok(())
}
