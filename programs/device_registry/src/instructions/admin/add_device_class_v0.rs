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

pub fn handler(ctx: Context<AddDeviceClassV0>, params: DeviceClassParams) -> Result<()> {
    params.validate()?;
    let config = &mut ctx.accounts.config;
    let class_id = config.device_class_count;
    config.device_class_count = class_id.checked_add(1).ok_or(RegistryError::MathOverflow)?;
    ctx.accounts.device_class.set_inner(DeviceClassV0 {
        bump: ctx.bumps.device_class,
        class_id,
        name: params.name.clone(),
        onboarding_fee_credits: params.onboarding_fee_credits,
        location_fee_credits: params.location_fee_credits,
        reward_weight_bps: params.reward_weight_bps,
        maker_attestation_required: params.maker_attestation_required,
        device_count: 0,
    });
    emit_cpi!(DeviceClassAdded { class_id, params });
    Ok(())
}
