//! Events of the device_registry program (emitted with `emit_cpi!`), carrying before/after
//! values for every change.

use anchor_lang::prelude::*;

use crate::state::DeviceClassParams;

#[event]
pub struct RegistryInitialized {
    pub registry: Pubkey,
    pub authority: Pubkey,
    pub credit_mint: Pubkey,
}

#[event]
pub struct DeviceClassAdded {
    pub class_id: u16,
    pub params: DeviceClassParams,
}

#[event]
pub struct DeviceClassUpdated {
    pub class_id: u16,
    pub before: DeviceClassParams,
    pub after: DeviceClassParams,
}

#[event]
pub struct MakerApprovalChanged {
    pub maker: Pubkey,
    pub approved_before: bool,
    pub approved_after: bool,
}

#[event]
pub struct OperatorRegistered {
    pub operator: Pubkey,
    pub reward_recipient: Pubkey,
    pub metadata_uri: String,
}

#[event]
pub struct OperatorUpdated {
    pub operator: Pubkey,
    pub reward_recipient_before: Pubkey,
    pub reward_recipient_after: Pubkey,
    pub metadata_uri_before: String,
    pub metadata_uri_after: String,
}

#[event]
pub struct DeviceOnboarded {
    pub device_key: Pubkey,
    pub operator: Pubkey,
    pub class_id: u16,
    pub location: u64,
    pub payer: Pubkey,
    pub fee_burned_credits: u64,
    pub maker: Option<Pubkey>,
    pub operator_device_count: u64,
}

#[event]
pub struct LocationAsserted {
    pub device_key: Pubkey,
    pub location_before: u64,
    pub location_after: u64,
    pub fee_burned_credits: u64,
    pub location_assertions: u32,
}

#[event]
pub struct RewardRecipientSet {
    pub device_key: Pubkey,
    pub before: Option<Pubkey>,
    pub after: Option<Pubkey>,
}

#[event]
pub struct DeviceTransferred {
    pub device_key: Pubkey,
    pub operator_before: Pubkey,
    pub operator_after: Pubkey,
    /// A device-level reward recipient is cleared by a transfer.
    pub reward_recipient_before: Option<Pubkey>,
}

#[event]
pub struct DeviceDeactivated {
    pub device_key: Pubkey,
    pub operator: Pubkey,
    pub rent_returned_lamports: u64,
    pub credits_spent: u64,
}

#[event]
pub struct DeviceStatusChanged {
    pub device_key: Pubkey,
    pub suspended_before: bool,
    pub suspended_after: bool,
    pub reason_before: u16,
    pub reason_after: u16,
}

#[event]
pub struct ServicePaid {
    pub device_key: Pubkey,
    pub payer: Pubkey,
    pub credits: u64,
    pub credits_spent_before: u64,
    pub credits_spent_after: u64,
}

#[event]
pub struct RegistryAuthorityTransferProposed {
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

#[event]
pub struct RegistryAuthorityTransferAccepted {
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}
