//! Events of the device_registry program (emitted with `emit_cpi!`). Each carries the clock's
//! unix time first, then the whole record of every account the instruction wrote, as it is
//! after the change (or, for a closed device, as it was last), and the facts of the action
//! (payer, fees, before-values). An indexer rebuilds every registry record from these events
//! alone: a record's address follows from its fields (`["device", device.device_key]`,
//! `["operator", operator.authority]`, `["device_class", device_class.class_id]`,
//! `["maker", maker.maker]`, `["registry_config"]`).

use anchor_lang::prelude::*;

use crate::state::{
    DeviceClassParams, DeviceClassV0, DeviceStatus, DeviceV0, MakerV0, OperatorV0, RegistryConfigV0,
};

/// `initialize_registry_v0`: the registry was created.
#[event]
pub struct RegistryInitialized {
    pub unix_timestamp: i64,
    /// The upgrade authority that created it (and paid its rent).
    pub deployer: Pubkey,
    pub registry: RegistryConfigV0,
}

/// `add_device_class_v0`: a class was created and the registry's class count grew.
#[event]
pub struct DeviceClassAdded {
    pub unix_timestamp: i64,
    pub device_class: DeviceClassV0,
    pub registry: RegistryConfigV0,
}

/// `update_device_class_v0`: a class's parameters changed.
#[event]
pub struct DeviceClassUpdated {
    pub unix_timestamp: i64,
    pub before: DeviceClassParams,
    pub device_class: DeviceClassV0,
}

/// `approve_maker_v0` / `revoke_maker_v0`: a maker's approval was set.
#[event]
pub struct MakerApprovalChanged {
    pub unix_timestamp: i64,
    pub approved_before: bool,
    pub maker: MakerV0,
}

/// `register_operator_v0`: an operator was created and the registry's operator count grew.
#[event]
pub struct OperatorRegistered {
    pub unix_timestamp: i64,
    pub operator: OperatorV0,
    pub registry: RegistryConfigV0,
}

/// `update_operator_v0`: an operator's reward recipient or metadata URI changed.
#[event]
pub struct OperatorUpdated {
    pub unix_timestamp: i64,
    pub reward_recipient_before: Pubkey,
    pub metadata_uri_before: String,
    pub operator: OperatorV0,
}

/// `onboard_device_v0`: a device was created; its operator, class and the registry counted it,
/// and the attesting maker (if any) counted its attestation.
#[event]
pub struct DeviceOnboarded {
    pub unix_timestamp: i64,
    /// Paid the record's rent and the fee.
    pub payer: Pubkey,
    pub fee_burned_credits: u64,
    pub device: DeviceV0,
    pub operator: OperatorV0,
    pub device_class: DeviceClassV0,
    pub registry: RegistryConfigV0,
    /// The attesting maker's record, when a maker co-signed.
    pub maker: Option<MakerV0>,
}

/// `assert_location_v0`: an assertion was counted (and the device moved when the cell
/// changed, for the fee).
#[event]
pub struct LocationAsserted {
    pub unix_timestamp: i64,
    pub payer: Pubkey,
    pub location_before: u64,
    pub fee_burned_credits: u64,
    pub device: DeviceV0,
}

/// `set_reward_recipient_v0`: a device's own reward recipient was set or cleared.
#[event]
pub struct RewardRecipientSet {
    pub unix_timestamp: i64,
    pub reward_recipient_before: Option<Pubkey>,
    pub device: DeviceV0,
}

/// `transfer_device_v0`: a device moved to another operator, who co-signed; its own reward
/// recipient was cleared.
#[event]
pub struct DeviceTransferred {
    pub unix_timestamp: i64,
    /// The previous owner's authority (`operator.authority`).
    pub operator_before: Pubkey,
    pub reward_recipient_before: Option<Pubkey>,
    pub device: DeviceV0,
    /// The previous owner's record, one device fewer.
    pub operator: OperatorV0,
    /// The new owner's record, one device more.
    pub new_operator: OperatorV0,
}

/// `deactivate_device_v0`: a device record was closed (its last state is `device`), and its
/// operator, class and the registry no longer count it.
#[event]
pub struct DeviceDeactivated {
    pub unix_timestamp: i64,
    /// The record's rent, returned to the operator's authority.
    pub rent_returned_lamports: u64,
    pub device: DeviceV0,
    pub operator: OperatorV0,
    pub device_class: DeviceClassV0,
    pub registry: RegistryConfigV0,
}

/// `suspend_device_v0` / `reinstate_device_v0`: a device's status changed.
#[event]
pub struct DeviceStatusChanged {
    pub unix_timestamp: i64,
    pub status_before: DeviceStatus,
    pub reason_before: u16,
    pub device: DeviceV0,
}

/// `pay_for_service_v0`: a dApp burned credits for a device's service.
#[event]
pub struct ServicePaid {
    pub unix_timestamp: i64,
    pub payer: Pubkey,
    pub credits: u64,
    pub credits_spent_before: u64,
    pub device: DeviceV0,
}

/// `transfer_authority_v0`: a new authority was proposed (or the proposal cancelled with
/// `None`); the registry's `pending_authority` is now `pending_after`.
#[event]
pub struct AuthorityTransferProposed {
    pub unix_timestamp: i64,
    pub authority: Pubkey,
    pub pending_before: Option<Pubkey>,
    pub pending_after: Option<Pubkey>,
}

/// `accept_authority_v0`: the proposed authority took over; the registry's authority is now
/// `authority_after` and its `pending_authority` is `None`.
#[event]
pub struct AuthorityTransferAccepted {
    pub unix_timestamp: i64,
    pub authority_before: Pubkey,
    pub authority_after: Pubkey,
}
