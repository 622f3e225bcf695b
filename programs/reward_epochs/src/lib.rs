//! Groundwork reward epochs: closes each epoch (minting its emission through tokenomics and
//! splitting it between devices, stakers and the treasury), lets an M-of-N oracle quorum set
//! each epoch's merkle root of cumulative device rewards, and pays recipients permissionless
//! cumulative claims against the newest active root.
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod errors;
pub mod events;
pub mod instructions;
pub mod math;
pub mod state;

pub use instructions::*;
pub use state::*;

declare_id!("9GAs2ZqyEHM8K56L6Huune6XqRgr8ho5kHrQgWbyVezB");

#[program]
pub mod reward_epochs {
    use super::*;

    /// Upgrade authority: creates the reward config (epoch timing copied from staking, wiring
    /// of staking and tokenomics checked) and the device reward vault.
    pub fn initialize_rewards_v0(
        ctx: Context<InitializeRewardsV0>,
        args: InitializeRewardsArgsV0,
    ) -> Result<()> {
        instructions::admin::initialize_rewards_v0::handler(ctx, args)
    }

    /// Authority: replaces the oracle set and quorum; only current members' votes count.
    pub fn set_oracles_v0(
        ctx: Context<AuthorityV0>,
        oracles: Vec<Pubkey>,
        quorum: u8,
    ) -> Result<()> {
        instructions::admin::set_oracles_v0::handler(ctx, oracles, quorum)
    }

    /// Authority: changes the split (future epochs), challenge period (future pending roots)
    /// and treasury (a token account of the network mint).
    pub fn update_reward_params_v0(
        ctx: Context<UpdateRewardParamsV0>,
        params: RewardParamsV0,
    ) -> Result<()> {
        instructions::admin::update_reward_params_v0::handler(ctx, params)
    }

    /// Authority: proposes a new authority (step one of two), or cancels with `None`.
    pub fn transfer_authority_v0(
        ctx: Context<AuthorityV0>,
        new_authority: Option<Pubkey>,
    ) -> Result<()> {
        instructions::admin::authority::transfer_authority_handler(ctx, new_authority)
    }

    /// The proposed authority accepts (step two of two).
    pub fn accept_authority_v0(ctx: Context<AcceptAuthorityV0>) -> Result<()> {
        instructions::admin::authority::accept_authority_handler(ctx)
    }

    /// Authority: vetoes a pending root before its activation time.
    pub fn veto_root_v0(ctx: Context<VetoRootV0>, epoch: u64) -> Result<()> {
        instructions::admin::veto_root_v0::handler(ctx, epoch)
    }

    /// Anyone: closes an ended epoch (mint, stakers, treasury, device pool), in order, once.
    pub fn close_epoch_v0(ctx: Context<CloseEpochV0>, epoch: u64) -> Result<()> {
        instructions::crank::close_epoch_v0::handler(ctx, epoch)
    }

    /// A current oracle votes an epoch's root.
    pub fn submit_root_v0(
        ctx: Context<SubmitRootV0>,
        epoch: u64,
        args: SubmitRootArgsV0,
    ) -> Result<()> {
        instructions::oracle::submit_root_v0::handler(ctx, epoch, args)
    }

    /// Anyone: activates a pending root from its activation time on.
    pub fn activate_root_v0(ctx: Context<ActivateRootV0>, epoch: u64) -> Result<()> {
        instructions::crank::activate_root_v0::handler(ctx, epoch)
    }

    /// Anyone: closes a settled epoch record (older than the active root), rent to its payer.
    pub fn close_epoch_record_v0(ctx: Context<CloseEpochRecordV0>, epoch: u64) -> Result<()> {
        instructions::crank::close_epoch_record_v0::handler(ctx, epoch)
    }

    /// Anyone: pays a recipient its cumulative reward minus what it was paid.
    pub fn claim_v0(ctx: Context<ClaimV0Accounts>, args: ClaimArgsV0) -> Result<()> {
        instructions::claimant::claim_v0::handler(ctx, args)
    }
}
