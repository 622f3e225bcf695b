use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    transfer_checked, Mint, TokenAccount, TokenInterface, TransferChecked,
};

use crate::errors::StakingError;
use crate::events::EpochRewardsFunded;
use crate::math;
use crate::state::{seeds, EpochStakeV0, StakingConfigV0};

/// The reward program (its `["epoch_minter"]` PDA signs) moves an epoch's staker share into
/// the reward vault and advances the reward index, once per epoch, in order, after the epoch
/// ended. Positions created during the epoch before start earning with this one, lockup
/// bonuses ending in the epoch before stop counting; with no active weight the share carries
/// to the next epoch.
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct FundEpochRewardsV0<'info> {
    pub reward_funder: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::STAKING_CONFIG],
        bump = config.bump,
        has_one = reward_funder,
        has_one = network_mint,
        has_one = reward_vault,
    )]
    pub config: Box<Account<'info, StakingConfigV0>>,
    /// CHECK: the epoch's activation record at its PDA; it exists only if positions were
    /// created in the epoch before, and is read and updated here when it does.
    #[account(mut, seeds = [seeds::EPOCH_STAKE, &epoch.to_le_bytes()], bump)]
    pub epoch_stake: UncheckedAccount<'info>,
    /// The reward program's tokens (owned by the funder PDA).
    #[account(mut, token::mint = network_mint, token::authority = reward_funder)]
    pub funder_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
}

impl FundEpochRewardsV0<'_> {
    /// Epochs are funded once, in order, after they ended.
    pub fn validate(&self, epoch: u64) -> Result<()> {
        require!(
            epoch == self.config.next_epoch_to_fund,
            StakingError::EpochNotNext
        );
        let epoch_end = self
            .config
            .epoch_end(epoch)
            .ok_or(StakingError::MathOverflow)?;
        require!(
            Clock::get()?.unix_timestamp >= epoch_end,
            StakingError::EpochNotEnded
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(ctx: Context<FundEpochRewardsV0>, epoch: u64, amount: u64) -> Result<()> {
    transfer_checked(
        CpiContext::new(
            ctx.accounts.token_program.key(),
            TransferChecked {
                from: ctx.accounts.funder_tokens.to_account_info(),
                mint: ctx.accounts.network_mint.to_account_info(),
                to: ctx.accounts.reward_vault.to_account_info(),
                authority: ctx.accounts.reward_funder.to_account_info(),
            },
        ),
        amount,
        ctx.accounts.network_mint.decimals,
    )?;

    let record_info = ctx.accounts.epoch_stake.to_account_info();
    let mut record = if record_info.data_is_empty() {
        None
    } else {
        // Only this program can have created an account at this PDA.
        require_keys_eq!(
            *record_info.owner,
            crate::ID,
            ErrorCode::AccountOwnedByWrongProgram
        );
        Some(EpochStakeV0::try_deserialize(
            &mut &record_info.try_borrow_data()?[..],
        )?)
    };
    let funding = math::fund_epoch(&mut ctx.accounts.config, record.as_mut(), amount)?;
    ctx.accounts.config.invariant()?;
    if let Some(record) = record.as_ref() {
        record.try_serialize(&mut &mut record_info.try_borrow_mut_data()?[..])?;
    }
    let event = EpochRewardsFunded {
        unix_timestamp: Clock::get()?.unix_timestamp,
        epoch,
        amount,
        activated_weight: funding.activated_weight,
        expired_weight: funding.expired_weight,
        record,
        config: (**ctx.accounts.config).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
