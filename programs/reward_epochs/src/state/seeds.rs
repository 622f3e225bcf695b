//! Every PDA seed of the reward_epochs program.

/// The reward config: `["reward_config"]`.
pub const REWARD_CONFIG: &[u8] = b"reward_config";
/// The program's signing PDA: mints epochs in tokenomics, funds staking, owns the reward
/// vault: `["epoch_minter"]` (the seed tokenomics and staking expect).
pub const EPOCH_MINTER: &[u8] = b"epoch_minter";
/// The device reward vault (token account): `["reward_vault"]`.
pub const REWARD_VAULT: &[u8] = b"reward_vault";
/// One closed epoch: `["epoch", epoch (u64 LE)]`.
pub const EPOCH: &[u8] = b"epoch";
/// What one recipient was paid: `["claim", recipient]`.
pub const CLAIM: &[u8] = b"claim";
