//! Every PDA seed of the staking program.

/// The staking config: `["staking_config"]`.
pub const STAKING_CONFIG: &[u8] = b"staking_config";
/// Owner of both vaults: `["vault_authority"]`.
pub const VAULT_AUTHORITY: &[u8] = b"vault_authority";
/// Token account holding staked principal: `["stake_vault"]`.
pub const STAKE_VAULT: &[u8] = b"stake_vault";
/// Token account holding funded, unclaimed staker rewards: `["reward_vault"]`.
pub const REWARD_VAULT: &[u8] = b"reward_vault";
/// A position: `["position", owner, id (u64 LE)]`.
pub const POSITION: &[u8] = b"position";
/// An operator's delegation pool: `["operator_pool", operator]`.
pub const OPERATOR_POOL: &[u8] = b"operator_pool";
/// Per-epoch activation record: `["epoch_stake", epoch (u64 LE)]`.
pub const EPOCH_STAKE: &[u8] = b"epoch_stake";
/// The reward program's signing PDA (the one that also mints epochs), derived under the
/// reward program id: `["epoch_minter"]`.
pub const REWARD_FUNDER: &[u8] = b"epoch_minter";
/// An operator pool's device rewards (its recipient in the reward tree): `["pool_rewards",
/// operator]`.
pub const POOL_REWARDS: &[u8] = b"pool_rewards";
/// Delegations waiting to earn a pool's device rewards: `["pool_cohort", operator, key epoch
/// (u64 LE)]`.
pub const POOL_COHORT: &[u8] = b"pool_cohort";
/// A recipient's claim record in the reward program: `["claim", recipient]`, derived under
/// the reward program id.
pub const REWARD_CLAIM: &[u8] = b"claim";
