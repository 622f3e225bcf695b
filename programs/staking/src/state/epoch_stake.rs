use anchor_lang::prelude::*;

/// What happens to staking at the start of one epoch, at PDA `["epoch_stake", epoch]`:
/// positions created during the epoch before add their weight here, and when the epoch is
/// funded that weight joins the active weight and the reward index at that moment is kept,
/// so those positions earn from this epoch on, and not before.
#[account]
#[derive(InitSpace)]
pub struct EpochStakeV0 {
    pub bump: u8,
    pub epoch: u64,
    /// Weight of positions that start earning with this epoch.
    pub activating_weight: u128,
    /// `reward_per_weight` just before this epoch's rewards were added (valid once funded).
    pub reward_per_weight_at_activation: u128,
    pub funded: bool,
    /// Rewards this epoch added (0 until funded) and the weight they were split over.
    pub rewards_funded: u64,
    pub active_weight: u128,
}
