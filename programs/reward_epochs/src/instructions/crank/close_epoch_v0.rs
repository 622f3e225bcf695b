use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    transfer_checked, Mint, TokenAccount, TokenInterface, TransferChecked,
};
use staking::program::Staking;
use tokenomics::program::Tokenomics;

use crate::errors::RewardError;
use crate::events::EpochClosed;
use crate::math::split_emission;
use crate::state::{seeds, EpochV0, RewardConfigV0, RootStatus};

/// Anyone, once epoch `epoch` has ended, strictly in order, once: mints the epoch's emission
/// through tokenomics into the reward vault, funds the staker share into staking, pays the
/// treasury share, and adds the device share to the device pool that roots distribute. The
/// payer pays the epoch record's rent and gets it back when the settled record is closed.
#[event_cpi]
#[derive(Accounts)]
#[instruction(epoch: u64)]
pub struct CloseEpochV0<'info> {
    /// Pays the epoch record's rent.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REWARD_CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = reward_vault,
        has_one = treasury,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
    #[account(
        init,
        payer = payer,
        space = 8 + EpochV0::INIT_SPACE,
        seeds = [seeds::EPOCH, &epoch.to_le_bytes()],
        bump,
    )]
    pub epoch_record: Box<Account<'info, EpochV0>>,
    /// CHECK: this program's signing PDA (mints in tokenomics, funds staking, owns the vault).
    #[account(seeds = [seeds::EPOCH_MINTER], bump = config.epoch_minter_bump)]
    pub epoch_minter: UncheckedAccount<'info>,
    #[account(mut)]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: tokenomics' config; tokenomics checks it.
    #[account(mut)]
    pub tokenomics_config: UncheckedAccount<'info>,
    /// CHECK: tokenomics' mint authority PDA; tokenomics checks it.
    pub network_mint_authority: UncheckedAccount<'info>,
    /// CHECK: tokenomics' event authority; tokenomics checks it.
    pub tokenomics_event_authority: UncheckedAccount<'info>,
    pub tokenomics_program: Program<'info, Tokenomics>,
    /// CHECK: staking's config; staking checks it.
    #[account(mut)]
    pub staking_config: UncheckedAccount<'info>,
    /// CHECK: staking's activation record of this epoch; staking checks it.
    #[account(mut)]
    pub staking_epoch_stake: UncheckedAccount<'info>,
    /// CHECK: staking's reward vault; staking checks it.
    #[account(mut)]
    pub staking_reward_vault: UncheckedAccount<'info>,
    /// CHECK: staking's event authority; staking checks it.
    pub staking_event_authority: UncheckedAccount<'info>,
    pub staking_program: Program<'info, Staking>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl CloseEpochV0<'_> {
    /// `epoch` is the next epoch to close and it has ended.
    pub fn validate(&self, epoch: u64) -> Result<()> {
        let now = Clock::get()?.unix_timestamp;
        require!(
            epoch == self.config.next_epoch_to_close,
            RewardError::EpochNotNext
        );
        let epoch_end = self
            .config
            .epoch_end(epoch)
            .ok_or(RewardError::MathOverflow)?;
        require!(now >= epoch_end, RewardError::EpochNotEnded);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(ctx: Context<CloseEpochV0>, epoch: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let signer_seeds: &[&[&[u8]]] = &[&[seeds::EPOCH_MINTER, &[accounts.config.epoch_minter_bump]]];

    // Mint: measured as the vault's balance change (return data does not cross every runtime).
    let vault_before = accounts.reward_vault.amount;
    tokenomics::cpi::mint_epoch_emission_v0(
        CpiContext::new_with_signer(
            accounts.tokenomics_program.key(),
            tokenomics::cpi::accounts::MintEpochEmissionV0 {
                config: accounts.tokenomics_config.to_account_info(),
                epoch_minter: accounts.epoch_minter.to_account_info(),
                network_mint: accounts.network_mint.to_account_info(),
                network_mint_authority: accounts.network_mint_authority.to_account_info(),
                reward_vault: accounts.reward_vault.to_account_info(),
                network_token_program: accounts.token_program.to_account_info(),
                event_authority: accounts.tokenomics_event_authority.to_account_info(),
                program: accounts.tokenomics_program.to_account_info(),
            },
            signer_seeds,
        ),
        epoch,
    )?;
    accounts.reward_vault.reload()?;
    let minted = accounts
        .reward_vault
        .amount
        .checked_sub(vault_before)
        .ok_or(RewardError::MathOverflow)?;
    let shares = split_emission(minted, &accounts.config.split).ok_or(RewardError::MathOverflow)?;

    staking::cpi::fund_epoch_rewards_v0(
        CpiContext::new_with_signer(
            accounts.staking_program.key(),
            staking::cpi::accounts::FundEpochRewardsV0 {
                reward_funder: accounts.epoch_minter.to_account_info(),
                config: accounts.staking_config.to_account_info(),
                epoch_stake: accounts.staking_epoch_stake.to_account_info(),
                funder_tokens: accounts.reward_vault.to_account_info(),
                reward_vault: accounts.staking_reward_vault.to_account_info(),
                network_mint: accounts.network_mint.to_account_info(),
                token_program: accounts.token_program.to_account_info(),
                event_authority: accounts.staking_event_authority.to_account_info(),
                program: accounts.staking_program.to_account_info(),
            },
            signer_seeds,
        ),
        epoch,
        shares.stakers,
    )?;
    if shares.treasury > 0 {
        transfer_checked(
            CpiContext::new_with_signer(
                accounts.token_program.key(),
                TransferChecked {
                    from: accounts.reward_vault.to_account_info(),
                    mint: accounts.network_mint.to_account_info(),
                    to: accounts.treasury.to_account_info(),
                    authority: accounts.epoch_minter.to_account_info(),
                },
                signer_seeds,
            ),
            shares.treasury,
            accounts.network_mint.decimals,
        )?;
    }

    let config = &mut accounts.config;
    let add = |total: u64, amount: u64| total.checked_add(amount).ok_or(RewardError::MathOverflow);
    config.device_pool_cumulative = add(config.device_pool_cumulative, shares.devices)?;
    config.total_minted = add(config.total_minted, minted)?;
    config.total_staker_funded = add(config.total_staker_funded, shares.stakers)?;
    config.total_treasury_paid = add(config.total_treasury_paid, shares.treasury)?;
    config.next_epoch_to_close = add(epoch, 1)?;
    config.invariant()?;
    let rent_payer = accounts.payer.key();
    accounts.epoch_record.set_inner(EpochV0 {
        bump: ctx.bumps.epoch_record,
        epoch,
        closed_at: now,
        minted,
        device_share: shares.devices,
        staker_share: shares.stakers,
        treasury_share: shares.treasury,
        device_pool_cumulative: config.device_pool_cumulative,
        status: RootStatus::Voting,
        votes: Vec::new(),
        pending_root: [0; 32],
        pending_cumulative_total: 0,
        pending_leaf_count: 0,
        pending_since: 0,
        activates_at: 0,
        vetoes: 0,
        rent_payer,
    });
    let event = EpochClosed {
        unix_timestamp: now,
        epoch,
        rent_payer,
        split: config.split,
        minted,
        device_share: shares.devices,
        staker_share: shares.stakers,
        treasury_share: shares.treasury,
        treasury: config.treasury,
        device_pool_cumulative: config.device_pool_cumulative,
        next_epoch_to_close: config.next_epoch_to_close,
        total_minted: config.total_minted,
        total_staker_funded: config.total_staker_funded,
        total_treasury_paid: config.total_treasury_paid,
    };
    emit_cpi!(event);
    Ok(())
}
