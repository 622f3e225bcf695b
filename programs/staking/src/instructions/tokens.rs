//! Token movements out of the program's vaults, signed by the vault authority PDA.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{
    transfer_checked, Mint, TokenAccount, TokenInterface, TransferChecked,
};

use crate::errors::StakingError;
use crate::state::{seeds, PoolRewardsV0, StakingConfigV0};

/// Pays `amount` from a program vault to `destination`; nothing when zero.
pub fn pay_from_vault<'info>(
    config: &StakingConfigV0,
    vault: &InterfaceAccount<'info, TokenAccount>,
    destination: &InterfaceAccount<'info, TokenAccount>,
    vault_authority: &UncheckedAccount<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    if amount == 0 {
        return Ok(());
    }
    let signer_seeds: &[&[&[u8]]] = &[&[seeds::VAULT_AUTHORITY, &[config.vault_authority_bump]]];
    transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: vault.to_account_info(),
                mint: mint.to_account_info(),
                to: destination.to_account_info(),
                authority: vault_authority.to_account_info(),
            },
            signer_seeds,
        ),
        amount,
        mint.decimals,
    )
}

/// The token account `account` of the token program, of `mint`, owned by `owner`; else
/// `missing`.
fn check_token_account(
    account: &AccountInfo,
    owner: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    missing: StakingError,
) -> Result<()> {
    require_keys_eq!(*account.owner, *token_program, missing);
    let parsed = TokenAccount::try_deserialize(&mut &account.try_borrow_data()?[..])
        .map_err(|_| error!(missing))?;
    require_keys_eq!(parsed.owner, *owner, missing);
    require_keys_eq!(parsed.mint, *mint, missing);
    Ok(())
}

/// Pays what arrived while no member earned to the operator's token account (of the network
/// mint, owned by the operator), from the pool's token account.
pub fn pay_operator<'info>(
    pool_rewards: &Account<'info, PoolRewardsV0>,
    pool_tokens: &AccountInfo<'info>,
    operator_tokens: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    check_token_account(
        operator_tokens,
        &pool_rewards.operator,
        &mint.key(),
        &token_program.key(),
        StakingError::OperatorTokensMissing,
    )?;
    transfer_from_pool(
        pool_rewards,
        pool_tokens,
        operator_tokens,
        mint,
        token_program,
        amount,
    )
}

/// Pays `amount` of a pool's device rewards from its token account, which must be a token
/// account of the token program, of the network mint, owned by the pool rewards PDA; signed
/// by that PDA.
pub fn pay_from_pool_rewards<'info>(
    pool_rewards: &Account<'info, PoolRewardsV0>,
    pool_tokens: &AccountInfo<'info>,
    destination: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    transfer_from_pool(
        pool_rewards,
        pool_tokens,
        &destination.to_account_info(),
        mint,
        token_program,
        amount,
    )
}

/// The transfer out of the pool's token account (checked to be the pool's), the pool rewards
/// PDA signing.
fn transfer_from_pool<'info>(
    pool_rewards: &Account<'info, PoolRewardsV0>,
    pool_tokens: &AccountInfo<'info>,
    destination: &AccountInfo<'info>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    amount: u64,
) -> Result<()> {
    check_token_account(
        pool_tokens,
        &pool_rewards.key(),
        &mint.key(),
        &token_program.key(),
        StakingError::PoolRewardTokensMissing,
    )?;
    let signer_seeds: &[&[&[u8]]] = &[&[
        seeds::POOL_REWARDS,
        pool_rewards.operator.as_ref(),
        &[pool_rewards.bump],
    ]];
    transfer_checked(
        CpiContext::new_with_signer(
            token_program.key(),
            TransferChecked {
                from: pool_tokens.clone(),
                mint: mint.to_account_info(),
                to: destination.clone(),
                authority: pool_rewards.to_account_info(),
            },
            signer_seeds,
        ),
        amount,
        mint.decimals,
    )
}
