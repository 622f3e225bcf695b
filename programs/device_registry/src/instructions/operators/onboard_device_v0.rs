use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, Token2022, TokenAccount};

use crate::errors::RegistryError;
use crate::events::DeviceOnboarded;
use crate::h3::validate_location;
use crate::instructions::credits::burn_credits;
use crate::state::{
    seeds, DeviceClassV0, DeviceStatus, DeviceV0, MakerV0, OperatorV0, RegistryConfigV0,
};

/// An operator onboards a device. The device key signs (proof that the operator holds it),
/// the operator signs, an approved maker co-signs when the class requires it, and the payer
/// burns the class's onboarding fee from its own credits. The record is the PDA of the device
/// key, so a key is onboarded once in the whole network.
#[event_cpi]
#[derive(Accounts)]
pub struct OnboardDeviceV0<'info> {
    /// Pays the record's rent and the fee (from its credit account).
    #[account(mut)]
    pub payer: Signer<'info>,
    pub operator_authority: Signer<'info>,
    #[account(
        mut,
        seeds = [seeds::OPERATOR, operator_authority.key().as_ref()],
        bump = operator.bump,
    )]
    pub operator: Box<Account<'info, OperatorV0>>,
    /// The device's own key, proving possession.
    pub device_key: Signer<'info>,
    #[account(
        init,
        payer = payer,
        space = 8 + DeviceV0::INIT_SPACE,
        seeds = [seeds::DEVICE, device_key.key().as_ref()],
        bump,
    )]
    pub device: Box<Account<'info, DeviceV0>>,
    #[account(
        mut,
        seeds = [seeds::DEVICE_CLASS, &device_class.class_id.to_le_bytes()],
        bump = device_class.bump,
    )]
    pub device_class: Box<Account<'info, DeviceClassV0>>,
    /// The attesting maker, when the class requires one.
    pub maker: Option<Signer<'info>>,
    #[account(mut)]
    pub maker_record: Option<Box<Account<'info, MakerV0>>>,
    #[account(
        mut,
        seeds = [seeds::REGISTRY_CONFIG],
        bump = config.bump,
        has_one = credit_mint,
    )]
    pub config: Box<Account<'info, RegistryConfigV0>>,
    #[account(mut)]
    pub credit_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        mut,
        token::mint = credit_mint,
        token::authority = payer,
        token::token_program = credit_token_program,
    )]
    pub payer_credits: Box<InterfaceAccount<'info, TokenAccount>>,
    pub credit_token_program: Program<'info, Token2022>,
    pub system_program: Program<'info, System>,
}

impl OnboardDeviceV0<'_> {
    /// The location is a valid H3 cell of resolution 8 to 15, and the attesting maker (required
    /// when the class says so; checked the same way when given anyway) signed with its own,
    /// approved record.
    pub fn validate(&self, location: &u64) -> Result<()> {
        validate_location(*location).map_err(RegistryError::from)?;
        match (&self.maker, &self.maker_record) {
            (Some(maker), Some(record)) => {
                require_keys_eq!(record.maker, maker.key(), RegistryError::MakerMismatch);
                require!(record.approved, RegistryError::MakerNotApproved);
                Ok(())
            }
            (None, None) if !self.device_class.maker_attestation_required => Ok(()),
            _ => err!(RegistryError::MakerAttestationRequired),
        }
    }
}

#[access_control(ctx.accounts.validate(&location))]
pub fn handler(ctx: Context<OnboardDeviceV0>, location: u64) -> Result<()> {
    let accounts = &mut *ctx.accounts;
    let fee = accounts.device_class.onboarding_fee_credits;
    burn_credits(
        &accounts.credit_token_program,
        &accounts.credit_mint,
        &accounts.payer_credits,
        &accounts.payer,
        fee,
    )?;

    let increment = |count: u64| count.checked_add(1).ok_or(RegistryError::MathOverflow);
    accounts.operator.device_count = increment(accounts.operator.device_count)?;
    accounts.device_class.device_count = increment(accounts.device_class.device_count)?;
    accounts.config.device_count = increment(accounts.config.device_count)?;
    if let Some(record) = accounts.maker_record.as_mut() {
        record.devices_attested = increment(record.devices_attested)?;
    }
    let unix_timestamp = Clock::get()?.unix_timestamp;
    accounts.device.set_inner(DeviceV0 {
        bump: ctx.bumps.device,
        status: DeviceStatus::Active,
        suspension_reason: 0,
        class_id: accounts.device_class.class_id,
        device_key: accounts.device_key.key(),
        operator: accounts.operator_authority.key(),
        reward_recipient: None,
        location,
        location_assertions: 1,
        credits_spent: 0,
        onboarded_at: unix_timestamp,
    });
    accounts.device.invariant()?;
    accounts.device_class.invariant()?;
    let event = DeviceOnboarded {
        unix_timestamp,
        payer: accounts.payer.key(),
        fee_burned_credits: fee,
        device: DeviceV0::clone(&accounts.device),
        operator: OperatorV0::clone(&accounts.operator),
        device_class: DeviceClassV0::clone(&accounts.device_class),
        registry: RegistryConfigV0::clone(&accounts.config),
        maker: accounts
            .maker_record
            .as_deref()
            .map(|record| (**record).clone()),
    };
    emit_cpi!(event);
    Ok(())
}
