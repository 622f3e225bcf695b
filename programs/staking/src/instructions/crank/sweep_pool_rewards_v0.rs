use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::program::invoke_signed;
use anchor_spl::associated_token::AssociatedToken;
use anchor_spl::token_interface::{Mint, TokenInterface};

use crate::errors::StakingError;
use crate::events::PoolRewardsSwept;
use crate::instructions::tokens::pay_operator;
use crate::math::pool_rewards::{sweep, PoolClaim};
use crate::state::{seeds, PoolCohortV0, PoolRewardsV0, StakingConfigV0};

/// The reward program's account discriminator of its claim records (`ClaimV0`): the first 8
/// bytes of sha256("account:ClaimV0"). A test checks it against the reward program's type.
pub const REWARD_CLAIM_DISCRIMINATOR: [u8; 8] = [135, 248, 151, 235, 192, 212, 58, 80];

/// The reward program's instruction discriminator of `claim_v0`: the first 8 bytes of
/// sha256("global:claim_v0"). A test checks it against the reward program's instruction.
pub const REWARD_CLAIM_INSTRUCTION: [u8; 8] = [201, 15, 24, 84, 22, 121, 50, 251];

/// Reads the reward program's claim record of `recipient` (raw, so the staking program does
/// not depend on the reward program's crate): owned by the reward program, at its
/// `["claim", recipient]` PDA, with the claim discriminator and this recipient. Layout after
/// the discriminator: bump (1), recipient (32), claimed (u64), claims (u32), last root epoch
/// (u64).
pub fn read_reward_claim(
    account: &AccountInfo,
    reward_program: &Pubkey,
    recipient: &Pubkey,
) -> Result<PoolClaim> {
    let (address, _) =
        Pubkey::find_program_address(&[seeds::REWARD_CLAIM, recipient.as_ref()], reward_program);
    require_keys_eq!(account.key(), address, StakingError::NotPoolClaimRecord);
    require_keys_eq!(
        *account.owner,
        *reward_program,
        StakingError::NotPoolClaimRecord
    );
    let data = account.try_borrow_data()?;
    require!(
        data.len() >= 61
            && data[..8] == REWARD_CLAIM_DISCRIMINATOR
            && data[9..41] == recipient.to_bytes(),
        StakingError::NotPoolClaimRecord
    );
    let u64_at = |offset: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&data[offset..offset + 8]);
        u64::from_le_bytes(bytes)
    };
    Ok(PoolClaim {
        claimed: u64_at(41),
        last_root_epoch: u64_at(53),
    })
}

/// The pool's leaf in the newest active root (its cumulative amount and proof).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct SweepPoolRewardsArgsV0 {
    pub cumulative_amount: u64,
    pub proof: Vec<[u8; 32]>,
}

/// Anyone claims a pool's leaf from the reward program (by CPI, the pool rewards PDA signing
/// as the recipient: the reward program pays a pool's leaf only this way) and takes what it
/// paid into the pool's per-share index, in O(1) whatever the number of members, applying the
/// exits and starts of the cohorts now due (the rule: `PoolRewardsV0`); what arrives while no
/// member earns is paid to the operator's token account. The records of the waiting cohorts
/// keyed at most the newest active root's epoch are passed as remaining accounts, exactly
/// those, in the waiting list's order.
#[event_cpi]
#[derive(Accounts)]
pub struct SweepPoolRewardsV0<'info> {
    /// Pays the claim record's and the pool token account's rent the first time.
    #[account(mut)]
    pub payer: Signer<'info>,
    #[account(seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POOL_REWARDS, pool_rewards.operator.as_ref()],
        bump = pool_rewards.bump,
    )]
    pub pool_rewards: Box<Account<'info, PoolRewardsV0>>,
    /// CHECK: the reward program the staking config names (the CPI's target).
    #[account(address = config.reward_program)]
    pub reward_program: UncheckedAccount<'info>,
    /// CHECK: the reward program's claim record of `pool_rewards` (checked by the reward
    /// program, read afterwards by `read_reward_claim`).
    #[account(mut)]
    pub claim_record: UncheckedAccount<'info>,
    /// CHECK: the reward program's config (checked by the reward program).
    #[account(mut)]
    pub reward_config: UncheckedAccount<'info>,
    /// CHECK: the reward program's signing PDA (checked by the reward program).
    pub epoch_minter: UncheckedAccount<'info>,
    /// CHECK: the reward program's vault (checked by the reward program).
    #[account(mut)]
    pub reward_vault: UncheckedAccount<'info>,
    /// CHECK: the pool rewards' associated token account (created by the claim if needed;
    /// checked by the reward program, and by `pay_from_pool_rewards` when paid from).
    #[account(mut)]
    pub pool_reward_tokens: UncheckedAccount<'info>,
    /// CHECK: the operator's token account of the network mint, required only when no
    /// member earns and the operator is paid (checked then by `pay_operator`).
    #[account(mut)]
    pub operator_tokens: Option<UncheckedAccount<'info>>,
    #[account(address = config.network_mint)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub associated_token_program: Program<'info, AssociatedToken>,
    pub system_program: Program<'info, System>,
}

impl<'info> SweepPoolRewardsV0<'info> {
    /// The reward program's `claim_v0` of the pool's leaf, the pool rewards PDA signing.
    fn claim_leaf(&self, args: &SweepPoolRewardsArgsV0) -> Result<()> {
        let mut data = REWARD_CLAIM_INSTRUCTION.to_vec();
        args.cumulative_amount.serialize(&mut data)?;
        args.proof.serialize(&mut data)?;
        let claim = Instruction {
            program_id: self.reward_program.key(),
            accounts: vec![
                AccountMeta::new(self.payer.key(), true),
                AccountMeta::new_readonly(self.pool_rewards.key(), true),
                AccountMeta::new(self.claim_record.key(), false),
                AccountMeta::new(self.reward_config.key(), false),
                AccountMeta::new_readonly(self.epoch_minter.key(), false),
                AccountMeta::new(self.reward_vault.key(), false),
                AccountMeta::new(self.pool_reward_tokens.key(), false),
                AccountMeta::new_readonly(self.network_mint.key(), false),
                AccountMeta::new_readonly(self.token_program.key(), false),
                AccountMeta::new_readonly(self.associated_token_program.key(), false),
                AccountMeta::new_readonly(self.system_program.key(), false),
            ],
            data,
        };
        let signer_seeds: &[&[&[u8]]] = &[&[
            seeds::POOL_REWARDS,
            self.pool_rewards.operator.as_ref(),
            &[self.pool_rewards.bump],
        ]];
        invoke_signed(
            &claim,
            &[
                self.payer.to_account_info(),
                self.pool_rewards.to_account_info(),
                self.claim_record.to_account_info(),
                self.reward_config.to_account_info(),
                self.epoch_minter.to_account_info(),
                self.reward_vault.to_account_info(),
                self.pool_reward_tokens.to_account_info(),
                self.network_mint.to_account_info(),
                self.token_program.to_account_info(),
                self.associated_token_program.to_account_info(),
                self.system_program.to_account_info(),
                self.reward_program.to_account_info(),
            ],
            signer_seeds,
        )?;
        Ok(())
    }
}

pub fn handler<'info>(
    ctx: Context<'info, SweepPoolRewardsV0<'info>>,
    args: SweepPoolRewardsArgsV0,
) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    ctx.accounts.claim_leaf(&args)?;
    let accounts = &mut *ctx.accounts;
    let pool_key = accounts.pool_rewards.key();
    let claim = read_reward_claim(
        &accounts.claim_record.to_account_info(),
        &accounts.config.reward_program,
        &pool_key,
    )?;
    let mut cohort_accounts: Vec<Account<'info, PoolCohortV0>> = Vec::new();
    for info in ctx.remaining_accounts {
        require!(info.is_writable, StakingError::CohortsMissing);
        let cohort: Account<'info, PoolCohortV0> = Account::try_from(info)?;
        let (expected, _) = Pubkey::find_program_address(
            &[
                seeds::POOL_COHORT,
                cohort.operator.as_ref(),
                &cohort.key_epoch.to_le_bytes(),
            ],
            &crate::ID,
        );
        require_keys_eq!(info.key(), expected, StakingError::WrongPoolCohort);
        cohort_accounts.push(cohort);
    }
    let mut cohorts: Vec<&mut PoolCohortV0> = cohort_accounts
        .iter_mut()
        .map(|cohort| &mut **cohort)
        .collect();
    let swept = sweep(&mut accounts.pool_rewards, claim, &mut cohorts)?;
    for cohort in cohort_accounts.iter() {
        cohort.exit(&crate::ID)?;
    }
    if swept.to_operator > 0 {
        let operator_tokens = accounts
            .operator_tokens
            .as_ref()
            .ok_or(StakingError::OperatorTokensMissing)?;
        pay_operator(
            &accounts.pool_rewards,
            &accounts.pool_reward_tokens.to_account_info(),
            &operator_tokens.to_account_info(),
            &accounts.network_mint,
            &accounts.token_program,
            swept.to_operator,
        )?;
    }
    let event = PoolRewardsSwept {
        unix_timestamp: now,
        operator: accounts.pool_rewards.operator,
        root_epoch: claim.last_root_epoch,
        received: swept.received,
        distributed: swept.distributed,
        to_operator: swept.to_operator,
        exact: swept.exact,
        exited: swept.exited,
        started_before: swept.started_before,
        started_after: swept.started_after,
        cohorts: cohort_accounts
            .iter()
            .map(|cohort| (**cohort).clone())
            .collect(),
        pool_rewards: (**accounts.pool_rewards).clone(),
    };
    emit_cpi!(event);
    Ok(())
}
