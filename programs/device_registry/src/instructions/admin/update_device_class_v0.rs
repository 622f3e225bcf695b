use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceClassUpdated;
use crate::state::{seeds, DeviceClassParams, DeviceClassV0, RegistryConfigV0};

/// Authority: changes a class's name, fees, weight or attestation rule. Devices already
/// onboarded keep their record; new fees apply to later onboardings and moves.
#[event_cpi]
#[derive(Accounts)]
pub struct UpdateDeviceClassV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::DEVICE_CLASS, &device_class.class_id.to_le_bytes()],
        bump = device_class.bump,
    )]
    pub device_class: Box<Account<'info, DeviceClassV0>>,
}

pub fn handler(ctx: Context<UpdateDeviceClassV0>, params: DeviceClassParams) -> Result<()> {
    params.validate()?;
    let device_class = &mut ctx.accounts.device_class;
    let before = device_class.params();
    device_class.apply(params.clone());
    emit_cpi!(DeviceClassUpdated {
        class_id: device_class.class_id,
        before,
        after: params,
    });
    Ok(())
}
