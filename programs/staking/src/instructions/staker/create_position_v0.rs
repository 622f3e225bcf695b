use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    transfer_checked, Mint, TokenAccount, TokenInterface, TransferChecked,
};

use super::checks::{record_mut, record_snapshots};
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
    /// For a cliff: the epoch whose funding ends its bonus (the one after the epoch in which
    /// the cliff ends), naming the record that registers it; `None` for other lockups.
    pub bonus_expiry_epoch: Option<u64>,
}

/// Locks `amount` network tokens in a new position. Its multiplier is fixed from the lockup
/// now; it earns from the next epoch on, its bonus until the epoch after its cliff ends.
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
    pub activation_record: Box<Account<'info, EpochStakeV0>>,
    /// The record of the bonus expiry epoch (a cliff whose bonus outlasts the activation
    /// epoch; omitted otherwise).
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + EpochStakeV0::INIT_SPACE,
        seeds = [seeds::EPOCH_STAKE, &args.bonus_expiry_epoch.unwrap_or_default().to_le_bytes()],
        bump,
    )]
    pub bonus_record: Option<Box<Account<'info, EpochStakeV0>>>,
    #[account(mut, token::mint = network_mint, token::authority = owner)]
    pub owner_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub stake_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl CreatePositionV0<'_> {
    /// The amount is positive, and the named epochs are the ones the clock gives now.
    pub fn validate(&self, args: &CreatePositionArgsV0) -> Result<()> {
        require!(args.amount > 0, StakingError::ZeroAmount);
        let now = Clock::get()?.unix_timestamp;
        require!(
            args.activation_epoch == self.config.activation_epoch_at(now),
            StakingError::WrongEpochStake
        );
        let expected_expiry = match args.lockup.kind {
            LockupKind::Cliff => {
                let end_ts = now
                    .checked_add(args.lockup.duration_s)
                    .ok_or(StakingError::InvalidLockupDuration)?;
                Some(self.config.bonus_expiry_epoch(end_ts)?)
            }
            LockupKind::Flexible | LockupKind::Constant => None,
        };
        require!(
            args.bonus_expiry_epoch == expected_expiry,
            StakingError::WrongBonusRecord
        );
        require!(
            args.bonus_expiry_epoch.is_some() || self.bonus_record.is_none(),
            StakingError::WrongBonusRecord
        );
        Ok(())
    }
}

/// Fills a record created by `init_if_needed` (no-op for an existing one): its bump, epoch
/// and the payer its rent returns to.
pub fn init_record(record: &mut EpochStakeV0, bump: u8, epoch: u64, payer: Pubkey) {
    if record.rent_payer == Pubkey::default() {
        record.bump = bump;
        record.epoch = epoch;
        record.rent_payer = payer;
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<CreatePositionV0>, args: CreatePositionArgsV0) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let owner = ctx.accounts.owner.key();
    let accounts = &mut *ctx.accounts;
    let config = &mut accounts.config;
    let multiplier_bps =
        math::multiplier_bps(&config.params, args.lockup.kind, args.lockup.duration_s)?;
    init_record(
        &mut accounts.activation_record,
        ctx.bumps.activation_record,
        args.activation_epoch,
        owner,
    );
    if let (Some(record), Some(epoch)) = (
        record_mut(&mut accounts.bonus_record),
        args.bonus_expiry_epoch,
    ) {
        init_record(
            record,
            ctx.bumps.bonus_record.unwrap_or_default(),
            epoch,
            owner,
        );
    }
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
        owner,
        id: args.id,
        kind: args.lockup.kind,
        duration_s,
        end_ts,
        withdrawable_epoch: None,
        multiplier_bps,
        amount: 0,
        bonus_weight: 0,
        bonus_expiry_epoch: None,
        activation_epoch: args.activation_epoch,
        activated: false,
        operator: None,
        shares: 0,
        bonus_slash_factor: 0,
        delegation_active_epoch: 0,
        pending_undelegation: None,
        reward_snapshot: 0,
        bonus_snapshot: 0,
        global_snapshot: 0,
        unclaimed_rewards: 0,
        claimed_rewards: 0,
        pool_cohort_epoch: None,
        pool_exit_epoch: None,
        pool_earning: false,
        pool_reward_snapshot: 0,
        unclaimed_pool_rewards: 0,
        claimed_pool_rewards: 0,
    });
    math::open(
        position,
        config,
        &mut accounts.activation_record,
        args.bonus_expiry_epoch,
        record_mut(&mut accounts.bonus_record),
        args.amount,
    )?;
    config.position_count = config
        .position_count
        .checked_add(1)
        .ok_or(StakingError::MathOverflow)?;
    config.invariant()?;

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
        unix_timestamp: now,
        amount: args.amount,
        position: (**accounts.position).clone(),
        records: core::iter::once((**accounts.activation_record).clone())
            .chain(record_snapshots(&[&accounts.bonus_record]))
            .collect(),
        config: (**accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
