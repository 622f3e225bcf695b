use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceDeactivated;
use crate::state::{seeds, DeviceClassV0, DeviceV0, OperatorV0, RegistryConfigV0};

/// The operator retires a device: its record is closed and the rent returned to the operator;
/// the key can be onboarded again later (paying the fee again). A suspended device cannot be
/// deactivated, so suspension cannot be shed by re-onboarding.
#[event_cpi]
#[derive(Accounts)]
pub struct DeactivateDeviceV0<'info> {
    #[account(mut)]
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, operator_authority.key().as_ref()],
        bump = operator.bump,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
    #[account(
        mut,
        close = operator_authority,
        seeds = [seeds::DEVICE, device.device_key.as_ref()],
        bump = device.bump,
        constraint = device.operator == operator_authority.key() @ RegistryError::NotDeviceOperator,
    )]
    pub device: Box<Account<'info, DeviceV0>>,
    #[account(
        mut,
        seeds = [seeds::DEVICE_CLASS, &device.class_id.to_le_bytes()],
        bump = device_class.bump,
    )]
    pub device_class: Box<Account<'info, DeviceClassV0>>,
    #[account(mut, seeds = [seeds::REGISTRY_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, RegistryConfigV0>>,
}

impl DeactivateDeviceV0<'_> {
    /// The device is active.
    pub fn validate(&self) -> Result<()> {
        require!(self.device.is_active(), RegistryError::DeviceSuspended);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<DeactivateDeviceV0>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let decrement = |count: u64| count.checked_sub(1).ok_or(RegistryError::MathOverflow);
    accounts.operator.device_count = decrement(accounts.operator.device_count)?;
    accounts.device_class.device_count = decrement(accounts.device_class.device_count)?;
    accounts.config.device_count = decrement(accounts.config.device_count)?;
    accounts.device_class.invariant()?;
    let event = DeviceDeactivated {
        unix_timestamp: Clock::get()?.unix_timestamp,
        rent_returned_lamports: accounts.device.to_account_info().lamports(),
        device: DeviceV0::clone(&accounts.device),
        operator: OperatorV0::clone(&accounts.operator),
        device_class: DeviceClassV0::clone(&accounts.device_class),
        registry: RegistryConfigV0::clone(&accounts.config),
    };
    emit_cpi!(event);
    Ok(())
}
