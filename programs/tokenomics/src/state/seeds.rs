//! Every PDA seed of the tokenomics program.

/// The singleton network configuration: `["config"]`.
pub const CONFIG: &[u8] = b"config";
/// A network token mint created by `initialize`: `["network_mint"]`.
pub const NETWORK_MINT: &[u8] = b"network_mint";
/// Mint authority of the network token: `["network_mint_authority"]`.
pub const NETWORK_MINT_AUTHORITY: &[u8] = b"network_mint_authority";
/// The service credit mint (Token-2022, NonTransferable): `["credit_mint"]`.
pub const CREDIT_MINT: &[u8] = b"credit_mint";
/// Mint authority of the service credits: `["credit_mint_authority"]`.
pub const CREDIT_MINT_AUTHORITY: &[u8] = b"credit_mint_authority";
/// The reward_epochs PDA that alone may call `mint_epoch_emission`, derived under the reward
/// program id: `["epoch_minter"]`.
pub const EPOCH_MINTER: &[u8] = b"epoch_minter";
