use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount};

use crate::errors::RegistryError;
use crate::events::ServicePaid;
use crate::instructions::credits::burn_credits;
use crate::state::{seeds, DeviceV0, RegistryConfigV0};

/// A dApp burns its own credits for the service a device gave; the device's cumulative
/// `credits_spent` (the on-chain proof of paid usage the oracle rewards) grows by as much.
/// A suspended device cannot be paid; a deactivated one no longer exists.
#[event_cpi]
#[derive(Accounts)]
pub struct PayForServiceV0<'info> {
    pub payer: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::DEVICE, device.device_key.as_ref()],
        bump = device.bump,
    )]
    pub device: Box<Account<'info, DeviceV0>>,
    #[account(seeds = [seeds::REGISTRY_CONFIG], bump = config.bump, has_one = credit_mint)]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(mut)]
    pub credit_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        token::mint = credit_mint,
        token::authority = payer,
        token::token_program = credit_token_program,
    )]
    pub payer_credits: Box<InterfaceAccount<'info, TokenAccount>>,
    pub credit_token_program: Program<'info, Token2022>,
}

impl PayForServiceV0<'_> {
    /// At least one credit, for an active device.
    pub fn validate(&self, credits: &u64) -> Result<()> {
        require!(*credits > 0, RegistryError::ZeroPayment);
        require!(self.device.is_active(), RegistryError::DeviceSuspended);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&credits))]
pub fn handler(ctx: Context<PayForServiceV0>, credits: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let credits_spent_before = accounts.device.credits_spent;
    let credits_spent_after = credits_spent_before
        .checked_add(credits)
        .ok_or(RegistryError::MathOverflow)?;
    burn_credits(
        &accounts.credit_token_program,
        &accounts.credit_mint,
        &accounts.payer_credits,
        &accounts.payer,
        credits,
    )?;
    let device = &mut accounts.device;
    device.credits_spent = credits_spent_after;
    device.invariant()?;
    let event = ServicePaid {
        unix_timestamp: Clock::get()?.unix_timestamp,
        payer: accounts.payer.key(),
        credits,
        credits_spent_before,
        device: DeviceV0::clone(device),
    };
    emit_cpi!(event);
    Ok(())
}
