use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::DeviceTransferred;
use crate::state::{seeds, DeviceV0, OperatorV0};

/// The operator hands a device to another registered operator, whose authority co-signs: its
/// signature is its consent, so no device (and no fraudulent one) is pushed onto an operator
/// that did not ask for it. A transfer to the holding operator itself is refused. A
/// device-level reward recipient is cleared, so rewards follow the new owner. A suspended
/// device stays put.
#[event_cpi]
#[derive(Accounts)]
pub struct TransferDeviceV0<'info> {
    /// The current owner's wallet.
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, operator_authority.key().as_ref()],
        bump = operator.bump,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
    /// The receiving operator's wallet: consents by signing.
    pub new_operator_authority: Signer<'info>,
    /// The receiving operator's record. `dup`: passing the holder's own record (a transfer to
    /// itself) is refused by `validate` with `TransferToSelf`, not by Anchor's generic
    /// duplicate-account check.
    #[account(
        mut,
        dup,
        seeds = [seeds::OPERATOR, new_operator_authority.key().as_ref()],
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

impl TransferDeviceV0<'_> {
    /// The receiver is another operator and the device is active.
    pub fn validate(&self) -> Result<()> {
        require_keys_neq!(
            self.operator_authority.key(),
            self.new_operator_authority.key(),
            RegistryError::TransferToSelf
        );
        require!(self.device.is_active(), RegistryError::DeviceSuspended);
        Ok(())
    }
}

#[access_control(ctx.accounts.validate())]
pub fn handler(ctx: Context<TransferDeviceV0>) -> Result<()> {
    let accounts = &mut *ctx.accounts;
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
    let operator_before = device.operator;
    let reward_recipient_before = device.reward_recipient;
    device.operator = accounts.new_operator_authority.key();
    device.reward_recipient = None;
    device.invariant()?;
    let event = DeviceTransferred {
        unix_timestamp: Clock::get()?.unix_timestamp,
        operator_before,
        reward_recipient_before,
        device: DeviceV0::clone(device),
        operator: OperatorV0::clone(&accounts.operator),
        new_operator: OperatorV0::clone(&accounts.new_operator),
    };
    emit_cpi!(event);
    Ok(())
}
