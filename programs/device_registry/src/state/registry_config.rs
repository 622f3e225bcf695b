use anchor_lang::prelude::*;

/// The registry of one network, at PDA `["registry_config"]`. Its address is the network id
/// that devices put in every telemetry message.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct RegistryConfigV0 {
    pub bump: u8,
    /// The network authority: manages classes and makers, suspends devices.
    pub authority: Pubkey,
    /// Proposed new authority; it takes over only by signing `accept_authority_v0`.
    pub pending_authority: Option<Pubkey>,
    /// The service credit mint (Token-2022, NonTransferable) whose credits pay fees and service.
    pub credit_mint: Pubkey,
    /// Classes are numbered 0, 1, 2...; this is the next number.
    pub device_class_count: u16,
    pub operator_count: u64,
    /// Devices onboarded and not deactivated.
    pub device_count: u64,
}
