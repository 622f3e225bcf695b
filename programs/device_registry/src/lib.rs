//! Groundwork device registry: device classes and makers (authority), operators, and devices
//! onboarded by transaction with proof of key possession, fees burned in tokenomics' service
//! credits, H3 locations of resolution 8 to 15, suspension, transfers the receiver co-signs,
//! and paid service. Every change emits an event carrying the records it wrote.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod errors;
pub mod events;
pub mod h3;
pub mod instructions;
pub mod state;

pub use instructions::*;
pub use state::*;

declare_id!("8YB9GpQ3m2eDzsGTh96jxX8s8kYH9LTwr4LkjvAXRMFV");

#[program]
pub mod device_registry {
    use super::*;

    /// Creates the registry (upgrade authority only) with its authority and tokenomics' credit
    /// mint.
    pub fn initialize_registry_v0(
        ctx: Context<InitializeRegistryV0>,
        authority: Pubkey,
    ) -> Result<()> {
        instructions::admin::initialize_registry_v0::handler(ctx, authority)
    }

    /// Authority: adds the next device class.
    pub fn add_device_class_v0(
        ctx: Context<AddDeviceClassV0>,
        params: DeviceClassParams,
    ) -> Result<()> {
        instructions::admin::add_device_class_v0::handler(ctx, params)
    }

    /// Authority: changes a device class.
    pub fn update_device_class_v0(
        ctx: Context<UpdateDeviceClassV0>,
        params: DeviceClassParams,
    ) -> Result<()> {
        instructions::admin::update_device_class_v0::handler(ctx, params)
    }

    /// Authority: approves (or re-approves) a maker.
    pub fn approve_maker_v0(ctx: Context<ApproveMakerV0>, maker: Pubkey) -> Result<()> {
        instructions::admin::approve_maker_v0::handler(ctx, maker)
    }

    /// Authority: revokes a maker.
    pub fn revoke_maker_v0(ctx: Context<RevokeMakerV0>) -> Result<()> {
        instructions::admin::revoke_maker_v0::handler(ctx)
    }

    /// Authority: suspends an active device with a non-zero reason code.
    pub fn suspend_device_v0(ctx: Context<SuspendDeviceV0>, reason: u16) -> Result<()> {
        instructions::admin::suspend_device_v0::handler(ctx, reason)
    }

    /// Authority: reinstates a suspended device.
    pub fn reinstate_device_v0(ctx: Context<ReinstateDeviceV0>) -> Result<()> {
        instructions::admin::reinstate_device_v0::handler(ctx)
    }

    /// Authority: proposes a new registry authority (step one of two), or cancels with `None`.
    pub fn transfer_authority_v0(
        ctx: Context<AuthorityV0>,
        new_authority: Option<Pubkey>,
    ) -> Result<()> {
        instructions::admin::authority::transfer_authority_handler(ctx, new_authority)
    }

    /// The proposed registry authority accepts (step two of two).
    pub fn accept_authority_v0(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
        instructions::admin::authority::accept_authority_handler(ctx)
    }

    /// A wallet registers as an operator.
    pub fn register_operator_v0(
        ctx: Context<RegisterOperatorV0>,
        args: RegisterOperatorArgsV0,
    ) -> Result<()> {
        instructions::operators::register_operator_v0::handler(ctx, args)
    }

    /// An operator changes its reward recipient or metadata URI.
    pub fn update_operator_v0(
        ctx: Context<UpdateOperatorV0>,
        args: UpdateOperatorArgsV0,
    ) -> Result<()> {
        instructions::operators::update_operator_v0::handler(ctx, args)
    }

    /// Onboards a device at an H3 cell of resolution 8 to 15 (operator + device key sign; maker
    /// co-signs when required).
    pub fn onboard_device_v0(ctx: Context<OnboardDeviceV0>, location: u64) -> Result<()> {
        instructions::operators::onboard_device_v0::handler(ctx, location)
    }

    /// Asserts a device's location (fee only when the cell changes).
    pub fn assert_location_v0(ctx: Context<AssertLocationV0>, location: u64) -> Result<()> {
        instructions::operators::assert_location_v0::handler(ctx, location)
    }

    /// Sets or clears a device's own reward recipient.
    pub fn set_reward_recipient_v0(
        ctx: Context<SetRewardRecipientV0>,
        recipient: Option<Pubkey>,
    ) -> Result<()> {
        instructions::operators::set_reward_recipient_v0::handler(ctx, recipient)
    }

    /// Transfers a device to another registered operator, whose authority co-signs.
    pub fn transfer_device_v0(ctx: Context<TransferDeviceV0>) -> Result<()> {
        instructions::operators::transfer_device_v0::handler(ctx)
    }

    /// Closes a device record, rent back to the operator.
    pub fn deactivate_device_v0(ctx: Context<DeactivateDeviceV0>) -> Result<()> {
        instructions::operators::deactivate_device_v0::handler(ctx)
    }

    /// A dApp burns credits for a device's service.
    pub fn pay_for_service_v0(ctx: Context<PayForServiceV0>, credits: u64) -> Result<()> {
        instructions::dapp::pay_for_service_v0::handler(ctx, credits)
    }
}
