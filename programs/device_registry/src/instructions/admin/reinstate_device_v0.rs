use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceStatusChanged;
use crate::state::{seeds, DeviceStatus, DeviceV0, RegistryConfigV0};

/// Authority: reinstates a suspended device; its suspension reason is cleared.
#[event_cpi]
#[derive(Accounts)]
pub struct ReinstateDeviceV0<'info> {
    pub authority: Signer<'info>,
    #[account(
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = authority @ RegistryError::NotAuthority,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(mut, seeds = [seeds::DEVICE, device.device_key.as_ref()], bump = device.bump)]
    pub device: Box<Account<'info, DeviceV0>>,
}

impl ReinstateDeviceV0<'_> {
    /// The device is suspended.
    pub fn validate(&self) -> Result<()> {
        require!(!self.device.is_active(), RegistryError::DeviceNotSuspended);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<ReinstateDeviceV0>) -> Result<()> {
    let device = &mut ctx.accounts.device;
    let status_before = device.status;
    let reason_before = device.suspension_reason;
    device.status = DeviceStatus::Active;
    device.suspension_reason = 0;
    device.invariant()?;
    let event = DeviceStatusChanged {
        unix_timestamp: Clock::get()?.unix_timestamp,
        status_before,
        reason_before,
        device: DeviceV0::clone(device),
    };
    emit_cpi!(event);
    Ok(())
}
