use anchor_lang::prelude::*;
use anchor_spl::token_interface::{mint_to, Mint, MintTo, TokenAccount, TokenInterface};

use crate::errors::TokenomicsError;
use crate::events::EpochEmissionMinted;
use crate::math::{
    burn_since_last_mint, circuit_breaker_headroom, epoch_emission, ring_slot, scheduled_emission,
    EmissionInput,
};
use crate::state::{seeds, TokenomicsConfigV0};

/// Mints epoch `epoch`'s emission into the reward vault. Only the reward program's
/// `["epoch_minter"]` PDA can sign for it (so only through that program's CPI), each epoch
/// exactly once and in order. The amount is the schedule plus `min(smoothed burn, cap)`,
/// where the burn is measured from the mint's real supply; it never takes supply past max
/// supply, and it is clamped to what the circuit breaker's rolling window has left (the event
/// says so): a binding breaker never stops epochs from closing. What a clamp leaves unminted
/// is not owed later, and the smoothed burn follows the measured burn either way.
///
/// The amount minted is not returned as return data: the caller measures its vault's balance
/// before and after the CPI (return data does not cross native CPIs in the test runtime, and a
/// balance delta cannot disagree with what was really minted).
#[event_cpi]
#[derive(Accounts)]
pub struct MintEpochEmissionV0<'info> {
    #[account(
        mut,
        seeds = [seeds::CONFIG],
        bump = config.bump,
        has_one = epoch_minter,
        has_one = network_mint,
    )]
    pub config: Box<Account<'info, TokenomicsConfigV0>>,
    /// The reward program's PDA, signing through `invoke_signed`.
    pub epoch_minter: Signer<'info>,
    #[account(mut, mint::token_program = network_token_program)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    /// CHECK: PDA that signs network token mints; holds no data.
    #[account(
        seeds = [seeds::NETWORK_MINT_AUTHORITY],
        bump = config.network_mint_authority_bump,
    )]
    pub network_mint_authority: UncheckedAccount<'info>,
    /// Where the emission goes; the reward program chooses it.
    #[account(
        mut,
        token::mint = network_mint,
        token::token_program = network_token_program,
    )]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub network_token_program: Interface<'info, TokenInterface>,
}

impl MintEpochEmissionV0<'_> {
    /// Epochs are minted once each, in order: `epoch` is the next one.
    pub fn validate(&self, epoch: u64) -> Result<()> {
        require!(
            epoch == self.config.next_epoch_to_mint,
            TokenomicsError::EpochNotNext
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(epoch))]
pub fn handler(ctx: Context<MintEpochEmissionV0>, epoch: u64) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let config = &ctx.accounts.config;
    let supply_before = ctx.accounts.network_mint.supply;
    let epoch_burn = burn_since_last_mint(config.supply_at_last_mint, supply_before)?;
    let scheduled = scheduled_emission(&config.emission_schedule, epoch);
    let window_headroom = circuit_breaker_headroom(
        &config.recent_mints,
        epoch,
        config.circuit_breaker.window_epochs,
        config.circuit_breaker.max_mint_per_window,
    )?;
    let emission = epoch_emission(EmissionInput {
        scheduled,
        smoothed_burn_before: config.smoothed_burn,
        epoch_burn,
        smoothing_bps: config.net_emissions.smoothing_bps,
        net_emissions_cap: config.net_emissions.cap_per_epoch,
        supply_now: supply_before,
        max_supply: config.max_supply,
        window_headroom,
    })?;

    if emission.minted > 0 {
        let authority_seeds: &[&[&[u8]]] = &[&[
            seeds::NETWORK_MINT_AUTHORITY,
            &[config.network_mint_authority_bump],
        ]];
        mint_to(
            CpiContext::new_with_signer(
                ctx.accounts.network_token_program.key(),
                MintTo {
                    mint: ctx.accounts.network_mint.to_account_info(),
                    to: ctx.accounts.reward_vault.to_account_info(),
                    authority: ctx.accounts.network_mint_authority.to_account_info(),
                },
                authority_seeds,
            ),
            emission.minted,
        )?;
    }
    ctx.accounts.network_mint.reload()?;
    let supply_after = ctx.accounts.network_mint.supply;

    let config = &mut ctx.accounts.config;
    let smoothed_burn_before = config.smoothed_burn;
    config.minted_total = config
        .minted_total
        .checked_add(emission.minted)
        .ok_or(TokenomicsError::MathOverflow)?;
    config.burned_total = config
        .burned_total
        .checked_add(epoch_burn)
        .ok_or(TokenomicsError::MathOverflow)?;
    config.smoothed_burn = emission.smoothed_burn_after;
    // The mint's real supply: the invariant then checks, exactly, that
    // supply == initial + minted - burned at this epoch mint.
    config.supply_at_last_mint = supply_after;
    config.recent_mints[ring_slot(epoch)?] = emission.minted;
    config.next_epoch_to_mint = epoch.checked_add(1).ok_or(TokenomicsError::MathOverflow)?;
    config.invariant()?;

    let event = EpochEmissionMinted {
        unix_timestamp,
        epoch,
        scheduled,
        epoch_burn,
        smoothed_burn_before,
        smoothed_burn_after: emission.smoothed_burn_after,
        net_emission: emission.net_emission,
        before_breaker: emission.before_breaker,
        window_headroom,
        minted: emission.minted,
        clamped_by_max_supply: emission.clamped_by_max_supply(),
        clamped_by_circuit_breaker: emission.clamped_by_circuit_breaker(),
        supply_before,
        supply_after,
        minted_total: config.minted_total,
        burned_total: config.burned_total,
        next_epoch_to_mint: config.next_epoch_to_mint,
    };
    emit_cpi!(event);
    Ok(())
}
