//! The staking program: PDAs, one builder per instruction, and the read-only view of what a
//! position can claim.
//!
//! Builders for an existing position take its decoded account: they add the activation
//! record while it is pending, the record of its bonus expiry epoch while it has one, and its
//! operator pool, the pool's device rewards and the pool cohort it waits in while it is
//! delegated.

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::solana_program::system_program;
use anchor_lang::{InstructionData, ToAccountMetas};
use staking::state::seeds;
use staking::{
    CreatePositionArgsV0, InitializeStakingArgsV0, LockupArgs, LockupKind, PoolRewardsV0,
    PositionV0, StakingConfigV0, StakingParams,
};

use crate::ledger::{accounts_of_type, read, Ledger, LedgerError};
use crate::tokenomics::NetworkToken;
use crate::{event_authority_address, program_data_address};

pub use staking::math::claimable as claimable_rewards;
pub use staking::ID as PROGRAM_ID;

fn pda(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &PROGRAM_ID).0
}

pub fn config_address() -> Pubkey {
    pda(&[seeds::STAKING_CONFIG])
}

pub fn vault_authority_address() -> Pubkey {
    pda(&[seeds::VAULT_AUTHORITY])
}

pub fn stake_vault_address() -> Pubkey {
    pda(&[seeds::STAKE_VAULT])
}

pub fn reward_vault_address() -> Pubkey {
    pda(&[seeds::REWARD_VAULT])
}

pub fn position_address(owner: &Pubkey, id: u64) -> Pubkey {
    pda(&[seeds::POSITION, owner.as_ref(), &id.to_le_bytes()])
}

pub fn operator_pool_address(operator: &Pubkey) -> Pubkey {
    pda(&[seeds::OPERATOR_POOL, operator.as_ref()])
}

pub fn epoch_stake_address(epoch: u64) -> Pubkey {
    pda(&[seeds::EPOCH_STAKE, &epoch.to_le_bytes()])
}

/// An operator pool's device rewards account: its recipient in the reward tree.
pub fn pool_rewards_address(operator: &Pubkey) -> Pubkey {
    pda(&[seeds::POOL_REWARDS, operator.as_ref()])
}

/// The record of the pool cohort keyed by `key_epoch` of `operator`'s pool.
pub fn pool_cohort_address(operator: &Pubkey, key_epoch: u64) -> Pubkey {
    pda(&[
        seeds::POOL_COHORT,
        operator.as_ref(),
        &key_epoch.to_le_bytes(),
    ])
}

/// The token account holding `operator`'s pool device rewards (the associated token account
/// of its pool rewards address, where the reward program's claim pays).
pub fn pool_reward_tokens_address(operator: &Pubkey, network_token: NetworkToken) -> Pubkey {
    network_token.account_of(&pool_rewards_address(operator))
}

/// The pool cohort a delegation made in `current_epoch` joins (its first earning epoch's, or
/// the newest waiting one when the pool's list is full).
pub fn delegation_cohort(pool_rewards: Option<&PoolRewardsV0>, current_epoch: u64) -> u64 {
    let first_epoch = current_epoch + 1;
    pool_rewards.map_or(first_epoch, |pool_rewards| {
        pool_rewards.cohort_for(first_epoch)
    })
}

/// The cohort a delegation to `operator` sent now joins, read from the chain behind `ledger`.
pub fn delegation_cohort_now(ledger: &dyn Ledger, operator: &Pubkey) -> Result<u64, LedgerError> {
    let config: StakingConfigV0 = read(ledger, &config_address())?
        .ok_or_else(|| LedgerError::Inconsistent("staking is not initialized".into()))?;
    let pool_rewards: Option<PoolRewardsV0> = read(ledger, &pool_rewards_address(operator))?;
    let epoch = config.epoch_at(ledger.unix_timestamp()?);
    Ok(delegation_cohort(pool_rewards.as_ref(), epoch))
}

/// The reward program's PDA that funds epochs.
pub fn reward_funder_address(reward_program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seeds::REWARD_FUNDER], reward_program).0
}

fn instruction(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    crate::anchor_instruction(PROGRAM_ID, accounts, data)
}

/// The staking program's event authority (Anchor's `#[event_cpi]` signer).
pub fn event_authority() -> Pubkey {
    event_authority_address(&PROGRAM_ID)
}

/// The activation record a pending position still needs.
fn activation_record(position: &PositionV0) -> Option<Pubkey> {
    (!position.activated).then(|| epoch_stake_address(position.activation_epoch))
}

/// The record of the epoch that ends the position's bonus, while it has one.
fn bonus_record(position: &PositionV0) -> Option<Pubkey> {
    position.bonus_expiry_epoch.map(epoch_stake_address)
}

/// The bonus expiry epoch a lockup starting (or restarting) at `now` gets: for a cliff, the
/// epoch after the one it ends in; `None` for flexible and constant lockups.
pub fn bonus_expiry_epoch(config: &StakingConfigV0, lockup: LockupArgs, now: i64) -> Option<u64> {
    match lockup.kind {
        LockupKind::Cliff => config
            .bonus_expiry_epoch(now.saturating_add(lockup.duration_s))
            .ok(),
        LockupKind::Flexible | LockupKind::Constant => None,
    }
}

/// The record account for a new bonus expiry `epoch`, unless it is one the instruction
/// already names (`taken`): the same account cannot be passed twice as writable.
fn new_record(epoch: Option<u64>, taken: &[Option<u64>]) -> Option<Pubkey> {
    epoch
        .filter(|epoch| !taken.contains(&Some(*epoch)))
        .map(epoch_stake_address)
}

fn pool_of(position: &PositionV0) -> Option<Pubkey> {
    position.operator.as_ref().map(operator_pool_address)
}

fn pool_rewards_of(position: &PositionV0) -> Option<Pubkey> {
    position.operator.as_ref().map(pool_rewards_address)
}

/// The pool cohort the position waits in (to start or to stop earning), while it waits.
fn cohort_of(position: &PositionV0) -> Option<Pubkey> {
    match (
        position.operator,
        position.pool_cohort_epoch.or(position.pool_exit_epoch),
    ) {
        (Some(operator), Some(key_epoch)) => Some(pool_cohort_address(&operator, key_epoch)),
        _ => None,
    }
}

fn address_of(position: &PositionV0) -> Pubkey {
    position_address(&position.owner, position.id)
}

pub fn initialize_staking(
    deployer: &Pubkey,
    network_token: NetworkToken,
    args: InitializeStakingArgsV0,
) -> Instruction {
    instruction(
        staking::accounts::InitializeStakingV0 {
            deployer: *deployer,
            program_data: program_data_address(&PROGRAM_ID),
            config: config_address(),
            network_mint: network_token.mint,
            vault_authority: vault_authority_address(),
            stake_vault: stake_vault_address(),
            reward_vault: reward_vault_address(),
            token_program: network_token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::InitializeStakingV0 { args },
    )
}

fn authority_accounts(authority: &Pubkey) -> staking::accounts::AuthorityV0 {
    staking::accounts::AuthorityV0 {
        authority: *authority,
        config: config_address(),
        event_authority: event_authority(),
        program: PROGRAM_ID,
    }
}

pub fn update_staking_params(authority: &Pubkey, params: StakingParams) -> Instruction {
    instruction(
        authority_accounts(authority),
        staking::instruction::UpdateStakingParamsV0 { params },
    )
}

/// Proposes `new_authority` (`None` cancels a proposal).
pub fn transfer_authority(authority: &Pubkey, new_authority: Option<Pubkey>) -> Instruction {
    instruction(
        authority_accounts(authority),
        staking::instruction::TransferAuthorityV0 { new_authority },
    )
}

/// The proposed authority takes over.
pub fn accept_authority(new_authority: &Pubkey) -> Instruction {
    instruction(
        staking::accounts::AcceptAuthorityV0 {
            new_authority: *new_authority,
            config: config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::AcceptAuthorityV0 {},
    )
}

pub fn slash(
    authority: &Pubkey,
    operator: &Pubkey,
    network_token: NetworkToken,
    bps: u16,
    reason: u16,
) -> Instruction {
    instruction(
        staking::accounts::SlashV0 {
            authority: *authority,
            config: config_address(),
            pool: operator_pool_address(operator),
            network_mint: network_token.mint,
            stake_vault: stake_vault_address(),
            vault_authority: vault_authority_address(),
            token_program: network_token.token_program,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::SlashV0 { bps, reason },
    )
}

/// `fund_epoch_rewards_v0` as the reward program sends it (the funder PDA must sign, and owns
/// `funder_tokens`).
pub fn fund_epoch_rewards(
    reward_funder: &Pubkey,
    funder_tokens: &Pubkey,
    network_token: NetworkToken,
    epoch: u64,
    amount: u64,
) -> Instruction {
    instruction(
        staking::accounts::FundEpochRewardsV0 {
            reward_funder: *reward_funder,
            config: config_address(),
            epoch_stake: epoch_stake_address(epoch),
            funder_tokens: *funder_tokens,
            reward_vault: reward_vault_address(),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::FundEpochRewardsV0 { epoch, amount },
    )
}

/// `create_position_v0` from `owner`'s associated network token account. `activation_epoch`
/// is the current epoch + 1 (0 before genesis); `bonus_expiry_epoch` comes from
/// [`bonus_expiry_epoch`] (a cliff's bonus record is omitted when it would be the activation
/// record: such a bonus never counts).
pub fn create_position(
    owner: &Pubkey,
    network_token: NetworkToken,
    args: CreatePositionArgsV0,
) -> Instruction {
    instruction(
        staking::accounts::CreatePositionV0 {
            owner: *owner,
            config: config_address(),
            position: position_address(owner, args.id),
            activation_record: epoch_stake_address(args.activation_epoch),
            bonus_record: new_record(args.bonus_expiry_epoch, &[Some(args.activation_epoch)]),
            owner_tokens: network_token.account_of(owner),
            stake_vault: stake_vault_address(),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::CreatePositionV0 { args },
    )
}

/// `extend_lockup_v0` to `lockup`; `new_bonus_expiry_epoch` comes from
/// [`bonus_expiry_epoch`] at the time it is sent.
pub fn extend_lockup(
    position: &PositionV0,
    lockup: LockupArgs,
    new_bonus_expiry_epoch: Option<u64>,
) -> Instruction {
    let pending_activation = (!position.activated).then_some(position.activation_epoch);
    instruction(
        staking::accounts::ExtendLockupV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            activation_record: activation_record(position),
            bonus_record: bonus_record(position),
            new_bonus_record: new_record(
                new_bonus_expiry_epoch,
                &[position.bonus_expiry_epoch, pending_activation],
            ),
            pool: pool_of(position),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::ExtendLockupV0 {
            lockup,
            new_bonus_expiry_epoch,
        },
    )
}

/// `start_unlock_v0`; for a constant lockup `bonus_expiry_epoch` is the epoch after the one
/// its countdown, started now, ends in (see [`bonus_expiry_epoch`] with a cliff of its
/// duration), `None` for a flexible position.
pub fn start_unlock(position: &PositionV0, bonus_expiry_epoch: Option<u64>) -> Instruction {
    let pending_activation = (!position.activated).then_some(position.activation_epoch);
    instruction(
        staking::accounts::StartUnlockV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            activation_record: activation_record(position),
            bonus_record: new_record(bonus_expiry_epoch, &[pending_activation]),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::StartUnlockV0 { bonus_expiry_epoch },
    )
}

pub fn withdraw(position: &PositionV0, network_token: NetworkToken) -> Instruction {
    instruction(
        staking::accounts::WithdrawV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            activation_record: activation_record(position),
            bonus_record: bonus_record(position),
            owner_tokens: network_token.account_of(&position.owner),
            stake_vault: stake_vault_address(),
            vault_authority: vault_authority_address(),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::WithdrawV0 {},
    )
}

pub fn close_position(position: &PositionV0) -> Instruction {
    instruction(
        staking::accounts::ClosePositionV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::ClosePositionV0 {},
    )
}

/// `delegate_v0` to the registered operator whose wallet is `operator`.
/// `delegate_v0` into pool cohort `cohort_epoch` (see [`delegation_cohort`]).
pub fn delegate(position: &PositionV0, operator: &Pubkey, cohort_epoch: u64) -> Instruction {
    instruction(
        staking::accounts::DelegateV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            activation_record: activation_record(position),
            bonus_record: bonus_record(position),
            operator_authority: *operator,
            operator: crate::device_registry::operator_address(operator),
            pool: operator_pool_address(operator),
            pool_rewards: pool_rewards_address(operator),
            pool_cohort: pool_cohort_address(operator, cohort_epoch),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::DelegateV0 { cohort_epoch },
    )
}

/// `undelegate_v0` in epoch `exit_epoch` (the current one: the program checks it).
pub fn undelegate(position: &PositionV0, exit_epoch: u64) -> Instruction {
    let operator = position.operator.unwrap_or_default();
    let exit_cohort = pool_cohort_address(&operator, exit_epoch);
    instruction(
        staking::accounts::UndelegateV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            pool_rewards: pool_rewards_of(position),
            // The record it waits in to start, unless it is the exit cohort itself.
            pool_cohort: cohort_of(position).filter(|cohort| *cohort != exit_cohort),
            exit_cohort,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::UndelegateV0 { exit_epoch },
    )
}

/// `undelegate_v0` sent now, its exit epoch read from the chain behind `ledger`.
pub fn undelegate_now(
    ledger: &dyn Ledger,
    position: &PositionV0,
) -> Result<Instruction, LedgerError> {
    let config: StakingConfigV0 = read(ledger, &config_address())?
        .ok_or_else(|| LedgerError::Inconsistent("staking is not initialized".into()))?;
    Ok(undelegate(
        position,
        config.epoch_at(ledger.unix_timestamp()?),
    ))
}

/// `complete_undelegation_v0`: the position's tokens back, and its remaining pool device
/// rewards paid into the owner's token account.
pub fn complete_undelegation(position: &PositionV0, network_token: NetworkToken) -> Instruction {
    let operator = position.operator.expect("a delegated position");
    instruction(
        staking::accounts::CompleteUndelegationV0 {
            owner: position.owner,
            config: config_address(),
            position: address_of(position),
            pool: operator_pool_address(&operator),
            bonus_record: bonus_record(position),
            pool_rewards: pool_rewards_address(&operator),
            pool_cohort: cohort_of(position),
            pool_reward_tokens: Some(pool_reward_tokens_address(&operator, network_token)),
            owner_tokens: network_token.account_of(&position.owner),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::CompleteUndelegationV0 {},
    )
}

pub fn claim_stake_rewards(position: &PositionV0, network_token: NetworkToken) -> Instruction {
    instruction(
        staking::accounts::ClaimStakeRewardsV0 {
            config: config_address(),
            position: address_of(position),
            activation_record: activation_record(position),
            bonus_record: bonus_record(position),
            pool: pool_of(position),
            pool_rewards: pool_rewards_of(position),
            pool_cohort: cohort_of(position),
            pool_reward_tokens: position
                .operator
                .map(|operator| pool_reward_tokens_address(&operator, network_token)),
            owner_tokens: network_token.account_of(&position.owner),
            reward_vault: reward_vault_address(),
            vault_authority: vault_authority_address(),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::ClaimStakeRewardsV0 {},
    )
}

/// `sync_position_v0` (anyone may send): brings the position up to date without paying it.
pub fn sync_position(position: &PositionV0) -> Instruction {
    instruction(
        staking::accounts::SyncPositionV0 {
            config: config_address(),
            position: address_of(position),
            activation_record: activation_record(position),
            bonus_record: bonus_record(position),
            pool: pool_of(position),
            pool_rewards: pool_rewards_of(position),
            pool_cohort: cohort_of(position),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::SyncPositionV0 {},
    )
}

/// `set_commission_v0`: the operator whose wallet is `operator` sets its pool's commission
/// (from the next epoch).
pub fn set_commission(operator: &Pubkey, commission_bps: u16) -> Instruction {
    instruction(
        staking::accounts::SetCommissionV0 {
            operator_authority: *operator,
            operator: crate::device_registry::operator_address(operator),
            config: config_address(),
            pool_rewards: pool_rewards_address(operator),
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::SetCommissionV0 { commission_bps },
    )
}

/// `sweep_pool_rewards_v0` of `operator`'s pool (anyone may send; `payer` pays the claim
/// record's and the pool token account's rent the first time): claims the pool's leaf
/// (`cumulative_amount`, `proof`) in the newest active root, of epoch `root_epoch`, and takes
/// it into the pool's index. `pool_rewards` is the pool rewards account as read now, whose
/// waiting cohorts keyed at most `root_epoch` are passed. `operator_tokens`: whether to pass
/// the operator's token account (required when no member earns: the operator is paid).
#[allow(clippy::too_many_arguments)]
pub fn sweep_pool_rewards(
    payer: &Pubkey,
    operator: &Pubkey,
    pool_rewards: &PoolRewardsV0,
    root_epoch: u64,
    network_token: NetworkToken,
    cumulative_amount: u64,
    proof: Vec<[u8; 32]>,
    operator_tokens: bool,
) -> Instruction {
    use crate::reward_epochs as rewards;
    let pool = pool_rewards_address(operator);
    let mut sweep = instruction(
        staking::accounts::SweepPoolRewardsV0 {
            payer: *payer,
            config: config_address(),
            pool_rewards: pool,
            reward_program: rewards::PROGRAM_ID,
            claim_record: rewards::claim_address(&pool),
            reward_config: rewards::config_address(),
            epoch_minter: rewards::epoch_minter_address(),
            reward_vault: rewards::reward_vault_address(),
            pool_reward_tokens: pool_reward_tokens_address(operator, network_token),
            operator_tokens: operator_tokens.then(|| network_token.account_of(operator)),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::SweepPoolRewardsV0 {
            args: staking::SweepPoolRewardsArgsV0 {
                cumulative_amount,
                proof,
            },
        },
    );
    sweep.accounts.extend(
        pool_rewards
            .waiting_cohorts()
            .iter()
            .take_while(|cohort| cohort.key_epoch <= root_epoch)
            .map(|cohort| {
                anchor_lang::solana_program::instruction::AccountMeta::new(
                    pool_cohort_address(operator, cohort.key_epoch),
                    false,
                )
            }),
    );
    sweep
}

/// `close_pool_cohort_v0` of `operator`'s cohort `key_epoch`, whose rent goes back to
/// `rent_payer`.
pub fn close_pool_cohort(operator: &Pubkey, key_epoch: u64, rent_payer: &Pubkey) -> Instruction {
    instruction(
        staking::accounts::ClosePoolCohortV0 {
            cohort: pool_cohort_address(operator, key_epoch),
            rent_payer: *rent_payer,
            pool_rewards: pool_rewards_address(operator),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::ClosePoolCohortV0 {},
    )
}

/// `close_epoch_stake_v0` of `epoch`'s record, whose rent goes back to `rent_payer`.
pub fn close_epoch_stake(epoch: u64, rent_payer: &Pubkey) -> Instruction {
    instruction(
        staking::accounts::CloseEpochStakeV0 {
            record: epoch_stake_address(epoch),
            rent_payer: *rent_payer,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        staking::instruction::CloseEpochStakeV0 {},
    )
}

/// What `position` can claim now, read from the chain behind `ledger`: the config, the pool it
/// is delegated to, and the epoch-stake records it still needs (the CLI's view; no
/// transaction).
pub fn claimable_now(ledger: &dyn Ledger, position: &PositionV0) -> Result<u64, LedgerError> {
    let config: StakingConfigV0 = read(ledger, &config_address())?
        .ok_or_else(|| LedgerError::Inconsistent("staking is not initialized".into()))?;
    let pool: Option<staking::OperatorPoolV0> = match position.operator {
        Some(operator) => read(ledger, &operator_pool_address(&operator))?,
        None => None,
    };
    let activation: Option<staking::EpochStakeV0> = match activation_record(position) {
        Some(address) => read(ledger, &address)?,
        None => None,
    };
    let bonus: Option<staking::EpochStakeV0> = match bonus_record(position) {
        Some(address) => read(ledger, &address)?,
        None => None,
    };
    claimable_rewards(
        position,
        &config,
        pool.as_ref(),
        activation.as_ref(),
        bonus.as_ref(),
    )
    .map_err(|error| LedgerError::Inconsistent(format!("position {}: {error:?}", position.id)))
}

/// The pool device rewards `position` can claim now: counted, plus what its shares earned
/// since (once its cohort has started), read from the chain behind `ledger`.
pub fn pool_claimable_now(ledger: &dyn Ledger, position: &PositionV0) -> Result<u64, LedgerError> {
    let mut position = position.clone();
    if let Some(operator) = position.operator {
        let pool_rewards: PoolRewardsV0 = read(ledger, &pool_rewards_address(&operator))?
            .ok_or_else(|| {
                LedgerError::Inconsistent(format!(
                    "position {} is delegated to {operator}, whose pool rewards are missing",
                    position.id
                ))
            })?;
        let mut cohort: Option<staking::PoolCohortV0> = match cohort_of(&position) {
            Some(address) => read(ledger, &address)?,
            None => None,
        };
        staking::math::pool_rewards::settle_pool_rewards(
            &mut position,
            &pool_rewards,
            cohort.as_mut(),
        )
        .map_err(|error| {
            LedgerError::Inconsistent(format!("position {}: {error:?}", position.id))
        })?;
    }
    Ok(position.unclaimed_pool_rewards)
}

/// The tokens `position` stands for now: its own while undelegated, else what its shares of
/// the operator pool are worth (after the pool's slashes), floored.
pub fn tokens_now(ledger: &dyn Ledger, position: &PositionV0) -> Result<u64, LedgerError> {
    let Some(operator) = position.operator else {
        return Ok(position.amount);
    };
    let pool: staking::OperatorPoolV0 = read(ledger, &operator_pool_address(&operator))?
        .ok_or_else(|| {
            LedgerError::Inconsistent(format!(
                "position {} is delegated to {operator}, whose pool is missing",
                position.id
            ))
        })?;
    pool.value_of(position.shares)
        .map_err(|error| LedgerError::Inconsistent(format!("position {}: {error:?}", position.id)))
}

/// Offset of `PositionV0.owner`: discriminator 8, bump 1.
pub const POSITION_OWNER_OFFSET: usize = 8 + 1;

/// Every position `owner` holds, by id.
pub fn positions_of_owner(
    ledger: &dyn Ledger,
    owner: &Pubkey,
) -> Result<Vec<PositionV0>, LedgerError> {
    let mut positions: Vec<PositionV0> =
        accounts_of_type::<PositionV0>(ledger, &PROGRAM_ID, Some((POSITION_OWNER_OFFSET, owner)))?
            .into_iter()
            .map(|(_, position)| position)
            .collect();
    positions.sort_by_key(|position| position.id);
    Ok(positions)
}

/// Every position delegated to `operator`'s pool (a scan of all positions: the operator field
/// follows variable-length fields, so it cannot be a memcmp filter).
pub fn positions_delegated_to(
    ledger: &dyn Ledger,
    operator: &Pubkey,
) -> Result<Vec<PositionV0>, LedgerError> {
    let mut positions: Vec<PositionV0> = accounts_of_type::<PositionV0>(ledger, &PROGRAM_ID, None)?
        .into_iter()
        .map(|(_, position)| position)
        .filter(|position| position.operator == Some(*operator))
        .collect();
    positions.sort_by_key(|position| (position.owner, position.id));
    Ok(positions)
}
