use anchor_lang::prelude::*;

/// What happens to staking at the start of one epoch, at PDA `["epoch_stake", epoch]`:
/// positions created during the epoch before add their weight here, and lockup bonuses
/// ending in the epoch before register their removal here. When the epoch is funded the
/// activating weight joins the active weight, the expiring weight leaves it, and the reward
/// index at that moment is kept, so those positions earn from this epoch on (or lose their
/// bonus from this epoch on), and not before.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct EpochStakeV0 {
    pub bump: u8,
    pub epoch: u64,
    /// Who paid the rent; `close_epoch_stake_v0` returns it there.
    pub rent_payer: Pubkey,
    /// Weight of positions that start earning with this epoch.
    pub activating_weight: u128,
    /// Lockup bonuses that stop counting with this epoch.
    pub expiring_weight: u128,
    /// Positions that still need this record (to activate, or to end their bonus at its
    /// checkpoint); it can be closed once funded and no position needs it.
    pub references: u32,
    /// `reward_per_weight` just before this epoch's rewards were added (valid once funded).
    pub reward_per_weight_at_activation: u128,
    pub funded: bool,
    /// Rewards this epoch added (0 until funded) and the weight they were split over.
    pub rewards_funded: u64,
    pub active_weight: u128,
}
