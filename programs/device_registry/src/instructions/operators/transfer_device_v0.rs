use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceTransferred;
use crate::state::{seeds, DeviceV0, OperatorV0};

/// The operator hands a device to another registered operator (itself is refused: Anchor
/// rejects the same operator record passed twice as writable). A device-level reward
/// recipient is cleared, so rewards follow the new owner. A suspended device stays put.
#[event_cpi]
#[derive(Accounts)]
pub struct TransferDeviceV0<'info> {
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, operator_authority.key().as_ref()],
        bump = operator.bump,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, new_operator.authority.as_ref()],
        bump = new_operator.bump,
    )]
    pub new_operator: Box<Account<'info, OperatorV0>>,
    #[account(
        mut,
        seeds = [seeds::DEVICE, device.device_key.as_ref()],
        bump = device.bump,
        constraint = device.operator == operator_authority.key() @ RegistryError::NotDeviceOperator,
    )]
    pub device: Box<Account<'info, DeviceV0>>,
}

pub fn handler(mut ctx: Context<TransferDeviceV0>) -> Result<()> {
    let accounts = &mut ctx.accounts;
    require!(accounts.device.is_active(), RegistryError::DeviceSuspended);
    accounts.operator.device_count = accounts
        .operator
        .device_count
        .checked_sub(1)
        .ok_or(RegistryError::MathOverflow)?;
    accounts.new_operator.device_count = accounts
        .new_operator
        .device_count
        .checked_add(1)
        .ok_or(RegistryError::MathOverflow)?;
    let device = &mut accounts.device;
    let event = DeviceTransferred {
        device_key: device.device_key,
        operator_before: device.operator,
        operator_after: accounts.new_operator.authority,
        reward_recipient_before: device.reward_recipient,
    };
    device.operator = accounts.new_operator.authority;
    device.reward_recipient = None;
    emit_cpi!(event);
    Ok(())
}
