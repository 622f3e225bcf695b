use anchor_lang::prelude::*;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_interface::{
    transfer_checked, Mint, TokenAccount, TokenInterface, TransferChecked,
};

use crate::errors::RewardError;
use crate::events::{log_event, RewardsClaimed};
use crate::state::{seeds, ClaimV0, RewardConfigV0};

/// Most hashes a proof may carry (a tree of 2^32 leaves).
pub const MAX_PROOF_LEN: usize = 32;

#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClaimArgsV0 {
    /// The recipient's leaf amount: everything it earned since genesis.
    pub cumulative_amount: u64,
    pub proof: Vec<[u8; 32]>,
}

/// Anyone (a relayer for recipients without SOL) pays `recipient` what the newest active root
/// says it earned minus what it was already paid, into its token account (created if
/// needed). The caller pays the rent of the claim record once. Its event is logged as `emit!`
/// logs ([`log_event`]): the `emit_cpi!` accounts would not fit beside a 20-hash proof.
///
/// A recipient owned by the staking program (a delegation pool's rewards account) must sign:
/// only the staking program's sweep claims a pool's leaf, in the same instruction that takes
/// it into the pool's index, so nobody can claim it apart from its sweep and make one sweep
/// cover several epochs.
#[derive(Accounts)]
pub struct ClaimV0Accounts<'info> {
    #[account(mut)]
    pub payer: Signer<'info>,
    /// CHECK: any wallet; the leaf names it.
    pub recipient: UncheckedAccount<'info>,
    #[account(
        init_if_needed,
        payer = payer,
        space = 8 + ClaimV0::INIT_SPACE,
        seeds = [seeds::CLAIM, recipient.key().as_ref()],
        bump,
    )]
    pub claim_record: Box<Account<'info, ClaimV0>>,
    #[account(
        mut,
        seeds = [seeds::REWARD_CONFIG],
        bump = config.bump,
        has_one = network_mint,
        has_one = reward_vault,
    )]
    pub config: Box<Account<'info, RewardConfigV0>>,
    /// CHECK: this program's signing PDA, owner of the reward vault.
    #[account(seeds = [seeds::EPOCH_MINTER], bump = config.epoch_minter_bump)]
    pub epoch_minter: UncheckedAccount<'info>,
    #[account(mut)]
    pub reward_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        init_if_needed,
        payer = payer,
        associated_token::mint = network_mint,
        associated_token::authority = recipient,
        associated_token::token_program = token_program,
    )]
    pub recipient_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

impl ClaimV0Accounts<'_> {
    /// The proof is at most 32 hashes and proves (`recipient`, `cumulative_amount`) against the
    /// newest active root; something is due; and paying it keeps the total paid within the
    /// active root's total.
    pub fn validate(&self, args: &ClaimArgsV0) -> Result<()> {
        require!(args.proof.len() <= MAX_PROOF_LEN, RewardError::ProofTooLong);
        require!(
            *self.recipient.owner != staking::ID || self.recipient.is_signer,
            RewardError::PoolClaimedOnlyBySweep
        );
        require!(
            self.config.active_root_epoch.is_some(),
            RewardError::NoActiveRoot
        );
        require!(
            groundwork_merkle::verify(
                &self.config.active_root,
                &self.recipient.key().to_bytes(),
                args.cumulative_amount,
                &args.proof,
            ),
            RewardError::InvalidProof
        );
        let due = args
            .cumulative_amount
            .checked_sub(self.claim_record.claimed)
            .filter(|due| *due > 0)
            .ok_or(RewardError::NothingDue)?;
        let total_after = self
            .config
            .total_claimed
            .checked_add(due)
            .ok_or(RewardError::MathOverflow)?;
        require!(
            total_after <= self.config.active_cumulative_total,
            RewardError::ClaimExceedsRootTotal
        );
        Ok(())
    }
}

#[access_control(ctx.accounts.validate(&args))]
pub fn handler(ctx: Context<ClaimV0Accounts>, args: ClaimArgsV0) -> Result<()> {
    let unix_timestamp = Clock::get()?.unix_timestamp;
    let accounts = &mut *ctx.accounts;
    let root_epoch = accounts
        .config
        .active_root_epoch
        .ok_or(RewardError::NoActiveRoot)?;
    let recipient = accounts.recipient.key();
    let record = &mut accounts.claim_record;
    let claimed_before = record.claimed;
    let due = args
        .cumulative_amount
        .checked_sub(claimed_before)
        .ok_or(RewardError::NothingDue)?;
    let total_claimed = accounts
        .config
        .total_claimed
        .checked_add(due)
        .ok_or(RewardError::MathOverflow)?;

    record.bump = ctx.bumps.claim_record;
    record.recipient = recipient;
    record.claimed = args.cumulative_amount;
    record.claims = record.claims.saturating_add(1);
    record.last_root_epoch = root_epoch;
    let claims = record.claims;
    accounts.config.total_claimed = total_claimed;
    accounts.config.invariant()?;

    let signer_seeds: &[&[&[u8]]] = &[&[seeds::EPOCH_MINTER, &[accounts.config.epoch_minter_bump]]];
    transfer_checked(
        CpiContext::new_with_signer(
            accounts.token_program.key(),
            TransferChecked {
                from: accounts.reward_vault.to_account_info(),
                mint: accounts.network_mint.to_account_info(),
                to: accounts.recipient_tokens.to_account_info(),
                authority: accounts.epoch_minter.to_account_info(),
            },
            signer_seeds,
        ),
        due,
        accounts.network_mint.decimals,
    )?;
    log_event(&RewardsClaimed {
        unix_timestamp,
        recipient,
        payer: accounts.payer.key(),
        amount: due,
        cumulative_amount: args.cumulative_amount,
        claimed_before,
        claims,
        root_epoch,
        total_claimed,
    });
    Ok(())
}
