use anchor_lang::prelude::*;

use crate::errors::RegistryError;
use crate::h3::validate_location;

/// Whether a device may earn and be paid.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum DeviceStatus {
    Active,
    /// Suspended by the authority: earns nothing, cannot be paid, moved, transferred or
    /// deactivated until reinstated.
    Suspended,
}

/// A device, at PDA `["device", device_key]`, so a key is onboarded once in the whole network.
/// Kept small (139 bytes with its discriminator) because a network may hold millions.
///
/// Invariant ([`DeviceV0::invariant`], checked by every handler that writes a device): the
/// suspension reason is non-zero exactly while the device is suspended, and the location is a
/// valid H3 cell of resolution 8 to 15.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct DeviceV0 {
    pub bump: u8,
    pub status: DeviceStatus,
    /// Reason code of the current suspension (0 exactly when active).
    pub suspension_reason: u16,
    pub class_id: u16,
    /// The device's ed25519 key: it signs telemetry.
    pub device_key: Pubkey,
    /// The owning operator's authority (wallet); its record is `["operator", operator]`.
    pub operator: Pubkey,
    /// Rewards go here when set; otherwise to the operator's reward recipient.
    pub reward_recipient: Option<Pubkey>,
    /// Asserted H3 cell index (resolution 8 to 15).
    pub location: u64,
    /// Location assertions accepted since onboarding (the onboarding location included).
    pub location_assertions: u32,
    /// Credits dApps have burned for this device's service since onboarding.
    pub credits_spent: u64,
    pub onboarded_at: i64,
}

impl DeviceV0 {
    pub fn is_active(&self) -> bool {
        self.status == DeviceStatus::Active
    }

    /// Fails unless the record is consistent: a non-zero suspension reason exactly while
    /// suspended, and a location that is a valid cell of resolution 8 to 15.
    pub fn invariant(&self) -> Result<()> {
        require!(
            (self.suspension_reason == 0) == self.is_active(),
            RegistryError::SuspensionReasonMismatch
        );
        validate_location(self.location).map_err(RegistryError::from)?;
        Ok(())
    }
}
