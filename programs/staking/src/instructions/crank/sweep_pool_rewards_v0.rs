use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::errors::StakingError;
use crate::events::PoolRewardsSwept;
use crate::instructions::tokens::pay_from_pool_rewards;
use crate::math::pool_rewards::{sweep, PoolClaim};
use crate::state::{seeds, PoolCohortV0, PoolRewardsV0, StakingConfigV0};

/// The reward program's account discriminator of its claim records (`ClaimV0`): the first 8
/// bytes of sha256("account:ClaimV0"). A test checks it against the reward program's type.
pub const REWARD_CLAIM_DISCRIMINATOR: [u8; 8] = [135, 248, 151, 235, 192, 212, 58, 80];

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

/// Anyone takes what the reward program's claims paid a pool's rewards account since the
/// last sweep into the pool's per-share index, in O(1) whatever the number of members, and
/// applies the exits and starts of the cohorts now due (the rule: `PoolRewardsV0`); what
/// arrives while no member earns is paid to the operator's token account. The claim record
/// must exist (a pool never paid has nothing to sweep). The records of the waiting cohorts
/// keyed at most the claim's root are passed as remaining accounts, in the waiting list's
/// order. The claim relayer sends the claim and the sweep in one transaction.
#[event_cpi]
#[derive(Accounts)]
pub struct SweepPoolRewardsV0<'info> {
    #[account(seeds = [seeds::STAKING_CONFIG], bump = config.bump)]
    pub config: Box<Account<'info, StakingConfigV0>>,
    #[account(
        mut,
        seeds = [seeds::POOL_REWARDS, pool_rewards.operator.as_ref()],
        bump = pool_rewards.bump,
    )]
    pub pool_rewards: Box<Account<'info, PoolRewardsV0>>,
    /// CHECK: the reward program's claim record of `pool_rewards`, read by
    /// `read_reward_claim` (address, owner, discriminator and recipient checked).
    pub claim_record: UncheckedAccount<'info>,
    /// CHECK: the pool rewards' token account (read and paid from only when the operator is
    /// paid; checked then by `pay_from_pool_rewards`).
    #[account(mut)]
    pub pool_reward_tokens: UncheckedAccount<'info>,
    /// The operator's token account of the network mint (paid when no member earns).
    #[account(mut, token::mint = network_mint, token::authority = pool_rewards.operator)]
    pub operator_tokens: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = config.network_mint)]
    pub network_mint: Box<InterfaceAccount<'info, Mint>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn handler<'info>(ctx: Context<'info, SweepPoolRewardsV0<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
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
        pay_from_pool_rewards(
            &accounts.pool_rewards,
            &accounts.pool_reward_tokens.to_account_info(),
            &accounts.operator_tokens,
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
