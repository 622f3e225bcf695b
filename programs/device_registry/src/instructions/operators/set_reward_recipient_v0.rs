use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::events::RewardRecipientSet;
use crate::state::{seeds, DeviceV0};

/// The operator sends one device's rewards to `recipient`, or back to the operator's reward
/// recipient with `None`.
#[event_cpi]
#[derive(Accounts)]
pub struct SetRewardRecipientV0<'info> {
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::DEVICE, device.device_key.as_ref()],
        bump = device.bump,
        constraint = device.operator == operator_authority.key() @ RegistryError::NotDeviceOperator,
    )]
    pub device: Box<Account<'info, DeviceV0>>,
}

pub fn handler(ctx: Context<SetRewardRecipientV0>, recipient: Option<Pubkey>) -> Result<()> {
    let device = &mut ctx.accounts.device;
    let reward_recipient_before = device.reward_recipient;
    device.reward_recipient = recipient;
    device.invariant()?;
    let event = RewardRecipientSet {
        unix_timestamp: Clock::get()?.unix_timestamp,
        reward_recipient_before,
        device: DeviceV0::clone(device),
    };
    emit_cpi!(event);
    Ok(())
}
