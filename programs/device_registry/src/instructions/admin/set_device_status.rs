use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceStatusChanged;
use crate::state::{seeds, DeviceStatus, DeviceV0, RegistryConfigV0};

/// Authority: suspends or reinstates a device (the accounts of both instructions).
#[event_cpi]
#[derive(Accounts)]
pub struct SetDeviceStatusV0<'info> {
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

/// Suspends an active device with a reason code: it earns nothing and cannot be paid, moved,
/// transferred or deactivated until reinstated.
pub fn suspend_handler(ctx: Context<SetDeviceStatusV0>, reason: u16) -> Result<()> {
    let device = &mut ctx.accounts.device;
    require!(device.is_active(), RegistryError::DeviceSuspended);
    let event = DeviceStatusChanged {
        device_key: device.device_key,
        suspended_before: false,
        suspended_after: true,
        reason_before: device.suspension_reason,
        reason_after: reason,
    };
    device.status = DeviceStatus::Suspended;
    device.suspension_reason = reason;
    emit_cpi!(event);
    Ok(())
}

/// Reinstates a suspended device.
pub fn reinstate_handler(ctx: Context<SetDeviceStatusV0>) -> Result<()> {
    let device = &mut ctx.accounts.device;
    require!(!device.is_active(), RegistryError::DeviceNotSuspended);
    let event = DeviceStatusChanged {
        device_key: device.device_key,
        suspended_before: true,
        suspended_after: false,
        reason_before: device.suspension_reason,
        reason_after: 0,
    };
    device.status = DeviceStatus::Active;
    device.suspension_reason = 0;
    emit_cpi!(event);
    Ok(())
}
