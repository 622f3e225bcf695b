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

impl UpdateDeviceClassV0<'_> {
    /// The parameters make a valid class (name of 1 to 32 bytes, positive weight).
    pub fn validate(&self, params: &DeviceClassParams) -> Result<()> {
        params.validate()
    }
}

#[access_control(ctx.accounts.validate(&params))]
pub fn handler(ctx: Context<UpdateDeviceClassV0>, params: DeviceClassParams) -> Result<()> {
    let device_class = &mut ctx.accounts.device_class;
    let before = device_class.params();
    device_class.apply(params);
    device_class.invariant()?;
    let event = DeviceClassUpdated {
        unix_timestamp: Clock::get()?.unix_timestamp,
        before,
        device_class: DeviceClassV0::clone(device_class),
    };
    emit_cpi!(event);
    Ok(())
}
