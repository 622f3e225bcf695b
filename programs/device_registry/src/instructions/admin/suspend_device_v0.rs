use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceStatusChanged;
use crate::state::{seeds, DeviceStatus, DeviceV0, RegistryConfigV0};

/// Authority: suspends an active device with a non-zero reason code. A suspended device earns
/// nothing and cannot be paid, moved, transferred or deactivated until reinstated.
#[event_cpi]
#[derive(Accounts)]
pub struct SuspendDeviceV0<'info> {
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

impl SuspendDeviceV0<'_> {
    /// The device is active and the reason is not 0 (0 means "not suspended").
    pub fn validate(&self, reason: &u16) -> Result<()> {
        require!(self.device.is_active(), RegistryError::DeviceSuspended);
        require!(*reason != 0, RegistryError::ZeroSuspensionReason);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&reason))]
pub fn handler(ctx: Context<SuspendDeviceV0>, reason: u16) -> Result<()> {
    let device = &mut ctx.accounts.device;
    let status_before = device.status;
    let reason_before = device.suspension_reason;
    device.status = DeviceStatus::Suspended;
    device.suspension_reason = reason;
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
