use anchor_lang::prelude::*;

use crate::errors::RegistryError;

pub const MAX_CLASS_NAME_LEN: usize = 32;

/// A kind of device (e.g. "outdoor-hotspot"), at PDA `["device_class", class_id (u16 LE)]`.
///
/// Invariant ([`DeviceClassV0::invariant`], checked by every handler that writes a class): a
/// name of 1 to 32 bytes and a positive reward weight.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct DeviceClassV0 {
    pub bump: u8,
    pub class_id: u16,
    #[max_len(MAX_CLASS_NAME_LEN)]
    pub name: String,
    /// Credits burned to onboard a device of this class.
    pub onboarding_fee_credits: u64,
    /// Credits burned each time a device of this class moves to another cell.
    pub location_fee_credits: u64,
    /// Reward weight in basis points (10,000 = 1.0).
    pub reward_weight_bps: u16,
    /// An approved maker must co-sign onboarding.
    pub maker_attestation_required: bool,
    /// Devices of this class onboarded and not deactivated.
    pub device_count: u64,
}

/// What the authority sets on a class.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq, InitSpace)]
pub struct DeviceClassParams {
    #[max_len(MAX_CLASS_NAME_LEN)]
    pub name: String,
    pub onboarding_fee_credits: u64,
    pub location_fee_credits: u64,
    pub reward_weight_bps: u16,
    pub maker_attestation_required: bool,
}

/// The rules every class satisfies: a name of 1 to 32 bytes and a positive reward weight.
fn check_class_rules(name: &str, reward_weight_bps: u16) -> Result<()> {
    require!(
        !name.is_empty() && name.len() <= MAX_CLASS_NAME_LEN,
        RegistryError::InvalidClassName
    );
    require!(reward_weight_bps > 0, RegistryError::InvalidRewardWeight);
    Ok(())
}

impl DeviceClassParams {
    /// Fails unless a class with these parameters would satisfy the class invariant.
    pub fn validate(&self) -> Result<()> {
        check_class_rules(&self.name, self.reward_weight_bps)
    }
}

impl DeviceClassV0 {
    pub fn params(&self) -> DeviceClassParams {
        DeviceClassParams {
            name: self.name.clone(),
            onboarding_fee_credits: self.onboarding_fee_credits,
            location_fee_credits: self.location_fee_credits,
            reward_weight_bps: self.reward_weight_bps,
            maker_attestation_required: self.maker_attestation_required,
        }
    }

    pub fn apply(&mut self, params: DeviceClassParams) {
        self.name = params.name;
        self.onboarding_fee_credits = params.onboarding_fee_credits;
        self.location_fee_credits = params.location_fee_credits;
        self.reward_weight_bps = params.reward_weight_bps;
        self.maker_attestation_required = params.maker_attestation_required;
    }

    /// Fails unless the class has a name of 1 to 32 bytes and a positive reward weight.
    pub fn invariant(&self) -> Result<()> {
        check_class_rules(&self.name, self.reward_weight_bps)
    }
}
