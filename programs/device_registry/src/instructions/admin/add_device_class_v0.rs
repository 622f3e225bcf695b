use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceClassAdded;
use crate::state::{seeds, DeviceClassParams, DeviceClassV0, RegistryConfigV0};

/// Authority: adds the next device class (ids are 0, 1, 2...).
#[event_cpi]
#[derive(Accounts)]
pub struct AddDeviceClassV0<'info> {
    #[account(mut)]
    pub authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(
        init,
        payer = authority,
        space = 8 + DeviceClassV0::INIT_SPACE,
        seeds = [seeds::DEVICE_CLASS, &config.device_class_count.to_le_bytes()],
        bump,
    )]
    pub device_class: Box<Account<'info, DeviceClassV0>>,
    pub system_program: Program<'info, System>,
}

impl AddDeviceClassV0<'_> {
    /// The parameters make a valid class (name of 1 to 32 bytes, positive weight).
    pub fn validate(&self, params: &DeviceClassParams) -> Result<()> {
        params.validate()
    }
}

#[access_control(ctx.accounts.validate(&params))]
pub fn handler(ctx: Context<AddDeviceClassV0>, params: DeviceClassParams) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let class_id = accounts.config.device_class_count;
    accounts.config.device_class_count =
        class_id.checked_add(1).ok_or(RegistryError::MathOverflow)?;
    accounts.device_class.set_inner(DeviceClassV0 {
        bump: ctx.bumps.device_class,
        class_id,
        name: params.name,
        onboarding_fee_credits: params.onboarding_fee_credits,
        location_fee_credits: params.location_fee_credits,
        reward_weight_bps: params.reward_weight_bps,
        maker_attestation_required: params.maker_attestation_required,
        device_count: 0,
    });
    accounts.device_class.invariant()?;
    let event = DeviceClassAdded {
        unix_timestamp: Clock::get()?.unix_timestamp,
        device_class: DeviceClassV0::clone(&accounts.device_class),
        registry: RegistryConfigV0::clone(&accounts.config),
    };
    emit_cpi!(event);
    Ok(())
}
