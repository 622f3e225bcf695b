use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    transfer_checked, Mint, TokenAccount, TokenInterface, TransferChecked,
};

use crate::errors::StakingError;
use crate::events::PositionCreated;
use crate::math;
use crate::state::{seeds, EpochStakeV0, LockupArgs, LockupKind, PositionV0, StakingConfigV0};

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreatePositionArgsV0 {
    /// Any number the owner has not used for another open position.
    pub id: u64,
    pub amount: u64,
    pub lockup: LockupArgs,
    /// The epoch the position will start earning in (the current one + 1, or 0 before
    /// genesis): names the activation record to update.
    pub activation_epoch: u64,
}

/// Locks `amount` network tokens in a new position. Its weight is fixed from the lockup now,
/// and it earns from the next epoch on.
#[event_cpi]
#[derive(Accounts)]
#[instruction(args: CreatePositionArgsV0)]
pub struct CreatePositionV0<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = stake_vault,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        init,
        payer = owner,
        space = 8 + PositionV0::INIT_SPACE,
        seeds = [seeds::POSITION, owner.key().as_ref(), &args.id.to_le_bytes()],
        bump,
    )]
    pub position: Box<Account<'info, PositionV0>>,
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + EpochStakeV0::INIT_SPACE,
        seeds = [seeds::EPOCH_STAKE, &args.activation_epoch.to_le_bytes()],
        bump,
    )]
    pub epoch_stake: Box<Account<'info, EpochStakeV0>>,
    #[account(mut, token::mint = network_mint, token::authority = owner)]
    pub owner_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub stake_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn handler(ctx: Context<CreatePositionV0>, args: CreatePositionArgsV0) -> Result<()> {
    require!(args.amount > 0, StakingError::ZeroAmount);
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let config = &mut accounts.config;
    require!(
        args.activation_epoch == config.activation_epoch_at(now),
        StakingError::WrongEpochStake
    );
    let multiplier_bps =
        math::multiplier_bps(&config.params, args.lockup.kind, args.lockup.duration_s)?;
    let record = &mut accounts.epoch_stake;
    // Idempotent: the same values for every position of this activation epoch.
    record.bump = ctx.bumps.epoch_stake;
    record.epoch = args.activation_epoch;
    let (duration_s, end_ts) = match args.lockup.kind {
        LockupKind::Flexible => (0, 0),
        LockupKind::Cliff => (
            args.lockup.duration_s,
            now.checked_add(args.lockup.duration_s)
                .ok_or(StakingError::MathOverflow)?,
        ),
        LockupKind::Constant => (args.lockup.duration_s, 0),
    };
    let position = &mut accounts.position;
    position.set_inner(PositionV0 {
        bump: ctx.bumps.position,
        owner: accounts.owner.key(),
        id: args.id,
        kind: args.lockup.kind,
        duration_s,
        end_ts,
        withdrawable_epoch: None,
        multiplier_bps,
        amount: 0,
        weight: 0,
        activation_epoch: args.activation_epoch,
        activated: false,
        operator: None,
        shares: 0,
        weighted_shares: 0,
        delegation_active_epoch: 0,
        undelegation_requested_epoch: None,
        reward_snapshot: 0,
        unclaimed_rewards: 0,
        claimed_rewards: 0,
    });
    math::open(position, config, record, args.amount)?;
    config.position_count = config
        .position_count
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;

    transfer_checked(
        CpiContext::new(
            accounts.token_program.key(),
            TransferChecked {
                from: accounts.owner_tokens.to_account_info(),
                mint: accounts.network_mint.to_account_info(),
                to: accounts.stake_vault.to_account_info(),
                authority: accounts.owner.to_account_info(),
            },
        ),
        args.amount,
        accounts.network_mint.decimals,
    )?;
    let event = PositionCreated {
        position: accounts.position.key(),
        owner: accounts.owner.key(),
        amount: args.amount,
        kind: args.lockup.kind,
        duration_s,
        multiplier_bps,
        weight: accounts.position.weight,
        activation_epoch: args.activation_epoch,
    };
    emit_cpi!(event);
    Ok(())
}
