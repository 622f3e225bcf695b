use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount};

use crate::errors::RegistryError;
use crate::events::LocationAsserted;
use crate::h3::validate_location;
use crate::instructions::credits::burn_credits;
use crate::state::{seeds, DeviceClassV0, DeviceV0, RegistryConfigV0};

/// The operator asserts a device's location. The class's location fee is burned from the
/// payer's credits only when the cell changes; every accepted assertion is counted. A
/// suspended device cannot move.
#[event_cpi]
#[derive(Accounts)]
pub struct AssertLocationV0<'info> {
    pub payer: Signer<'info>,
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::DEVICE, device.device_key.as_ref()],
        bump = device.bump,
        constraint = device.operator == operator_authority.key() @ RegistryError::NotDeviceOperator,
    )]
    pub device: Box<Account<'info, DeviceV0>>,
    #[account(
        seeds = [seeds::DEVICE_CLASS, &device.class_id.to_le_bytes()],
        bump = device_class.bump,
    )]
    pub device_class: Box<Account<'info, DeviceClassV0>>,
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

impl AssertLocationV0<'_> {
    /// The location is a valid H3 cell of resolution 8 to 15 and the device is active.
    pub fn validate(&self, location: &u64) -> Result<()> {
        validate_location(*location).map_err(RegistryError::from)?;
        require!(self.device.is_active(), RegistryError::DeviceSuspended);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&location))]
pub fn handler(ctx: Context<AssertLocationV0>, location: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let location_before = accounts.device.location;
    let fee = if location == location_before {
        0
    } else {
        accounts.device_class.location_fee_credits
    };
    burn_credits(
        &accounts.credit_token_program,
        &accounts.credit_mint,
        &accounts.payer_credits,
        &accounts.payer,
        fee,
    )?;
    let device = &mut accounts.device;
    device.location = location;
    device.location_assertions = device
        .location_assertions
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;
    device.invariant()?;
    let event = LocationAsserted {
        unix_timestamp: Clock::get()?.unix_timestamp,
        payer: accounts.payer.key(),
        location_before,
        fee_burned_credits: fee,
        device: DeviceV0::clone(device),
    };
    emit_cpi!(event);
    Ok(())
}
