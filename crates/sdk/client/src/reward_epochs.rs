//! The reward_epochs program: PDAs and one builder per instruction.

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::solana_program::system_program;
use anchor_lang::{InstructionData, ToAccountMetas};
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use reward_epochs::state::seeds;
use reward_epochs::{ClaimArgsV0, InitializeRewardsArgsV0, RewardParamsV0, SubmitRootArgsV0};

use crate::tokenomics::NetworkToken;
use crate::{event_authority_address, program_data_address, staking, tokenomics};

pub use reward_epochs::ID as PROGRAM_ID;

fn pda(seeds: &[&[u8]]) -> Pubkey {
    Pubkey::find_program_address(seeds, &PROGRAM_ID).0
}

pub fn config_address() -> Pubkey {
    pda(&[seeds::REWARD_CONFIG])
}

/// The program's signing PDA: the epoch minter of tokenomics and the funder of staking.
pub fn epoch_minter_address() -> Pubkey {
    pda(&[seeds::EPOCH_MINTER])
}

/// The device reward vault.
pub fn reward_vault_address() -> Pubkey {
    pda(&[seeds::REWARD_VAULT])
}

pub fn epoch_address(epoch: u64) -> Pubkey {
    pda(&[seeds::EPOCH, &epoch.to_le_bytes()])
}

/// The token account a claim pays `recipient` into (its associated token account of the
/// network token; the claim creates it when missing, at the payer's expense).
pub fn recipient_token_account(recipient: &Pubkey, network_token: NetworkToken) -> Pubkey {
    get_associated_token_address_with_program_id(
        recipient,
        &network_token.mint,
        &network_token.token_program,
    )
}

pub fn claim_address(recipient: &Pubkey) -> Pubkey {
    pda(&[seeds::CLAIM, recipient.as_ref()])
}

fn instruction(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    crate::anchor_instruction(PROGRAM_ID, accounts, data)
}

fn event_authority() -> Pubkey {
    event_authority_address(&PROGRAM_ID)
}

/// `initialize_rewards_v0`: epoch timing is read from staking's config, and staking and
/// tokenomics must both name reward_epochs as their reward program.
pub fn initialize_rewards(
    deployer: &Pubkey,
    network_token: NetworkToken,
    treasury: &Pubkey,
    args: InitializeRewardsArgsV0,
) -> Instruction {
    instruction(
        reward_epochs::accounts::InitializeRewardsV0 {
            deployer: *deployer,
            program_data: program_data_address(&PROGRAM_ID),
            config: config_address(),
            epoch_minter: epoch_minter_address(),
            network_mint: network_token.mint,
            reward_vault: reward_vault_address(),
            treasury: *treasury,
            staking_config: staking::config_address(),
            tokenomics_config: tokenomics::config_address(),
            token_program: network_token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::InitializeRewardsV0 { args },
    )
}

fn authority_accounts(authority: &Pubkey) -> reward_epochs::accounts::AuthorityV0 {
    reward_epochs::accounts::AuthorityV0 {
        authority: *authority,
        config: config_address(),
        event_authority: event_authority(),
        program: PROGRAM_ID,
    }
}

pub fn set_oracles(authority: &Pubkey, oracles: Vec<Pubkey>, quorum: u8) -> Instruction {
    instruction(
        authority_accounts(authority),
        reward_epochs::instruction::SetOraclesV0 { oracles, quorum },
    )
}

/// `update_reward_params_v0`; `treasury` must be a token account of `network_mint`.
pub fn update_reward_params(
    authority: &Pubkey,
    network_mint: &Pubkey,
    treasury: &Pubkey,
    params: RewardParamsV0,
) -> Instruction {
    instruction(
        reward_epochs::accounts::UpdateRewardParamsV0 {
            authority: *authority,
            config: config_address(),
            network_mint: *network_mint,
            treasury: *treasury,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::UpdateRewardParamsV0 { params },
    )
}

pub fn transfer_authority(authority: &Pubkey, new_authority: Option<Pubkey>) -> Instruction {
    instruction(
        authority_accounts(authority),
        reward_epochs::instruction::TransferAuthorityV0 { new_authority },
    )
}

pub fn accept_authority(new_authority: &Pubkey) -> Instruction {
    instruction(
        reward_epochs::accounts::AcceptAuthorityV0 {
            new_authority: *new_authority,
            config: config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::AcceptAuthorityV0 {},
    )
}

pub fn veto_root(authority: &Pubkey, epoch: u64) -> Instruction {
    instruction(
        reward_epochs::accounts::VetoRootV0 {
            authority: *authority,
            config: config_address(),
            epoch_record: epoch_address(epoch),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::VetoRootV0 { epoch },
    )
}

/// `close_epoch_v0`, with every tokenomics and staking account it passes on.
pub fn close_epoch(
    payer: &Pubkey,
    network_token: NetworkToken,
    treasury: &Pubkey,
    epoch: u64,
) -> Instruction {
    instruction(
        reward_epochs::accounts::CloseEpochV0 {
            payer: *payer,
            config: config_address(),
            epoch_record: epoch_address(epoch),
            epoch_minter: epoch_minter_address(),
            reward_vault: reward_vault_address(),
            treasury: *treasury,
            network_mint: network_token.mint,
            tokenomics_config: tokenomics::config_address(),
            network_mint_authority: tokenomics::network_mint_authority_address(),
            tokenomics_event_authority: event_authority_address(&tokenomics::PROGRAM_ID),
            tokenomics_program: tokenomics::PROGRAM_ID,
            staking_config: staking::config_address(),
            staking_epoch_stake: staking::epoch_stake_address(epoch),
            staking_reward_vault: staking::reward_vault_address(),
            staking_event_authority: event_authority_address(&staking::PROGRAM_ID),
            staking_program: staking::PROGRAM_ID,
            token_program: network_token.token_program,
            system_program: system_program::ID,
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::CloseEpochV0 { epoch },
    )
}

pub fn submit_root(oracle: &Pubkey, epoch: u64, args: SubmitRootArgsV0) -> Instruction {
    instruction(
        reward_epochs::accounts::SubmitRootV0 {
            oracle: *oracle,
            config: config_address(),
            epoch_record: epoch_address(epoch),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::SubmitRootV0 { epoch, args },
    )
}

pub fn activate_root(epoch: u64) -> Instruction {
    instruction(
        reward_epochs::accounts::ActivateRootV0 {
            config: config_address(),
            epoch_record: epoch_address(epoch),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::ActivateRootV0 { epoch },
    )
}

/// `close_epoch_record_v0`: closes the settled record of `epoch`, its rent back to
/// `rent_payer` (the payer of its `close_epoch`, as the record names it).
pub fn close_epoch_record(rent_payer: &Pubkey, epoch: u64) -> Instruction {
    instruction(
        reward_epochs::accounts::CloseEpochRecordV0 {
            epoch_record: epoch_address(epoch),
            rent_payer: *rent_payer,
            config: config_address(),
            event_authority: event_authority(),
            program: PROGRAM_ID,
        },
        reward_epochs::instruction::CloseEpochRecordV0 { epoch },
    )
}

/// `claim_v0` for `recipient`, paid (fees and rent) by `payer`.
pub fn claim(
    payer: &Pubkey,
    recipient: &Pubkey,
    network_token: NetworkToken,
    cumulative_amount: u64,
    proof: Vec<[u8; 32]>,
) -> Instruction {
    instruction(
        reward_epochs::accounts::ClaimV0Accounts {
            payer: *payer,
            recipient: *recipient,
            claim_record: claim_address(recipient),
            config: config_address(),
            epoch_minter: epoch_minter_address(),
            reward_vault: reward_vault_address(),
            recipient_tokens: recipient_token_account(recipient, network_token),
            network_mint: network_token.mint,
            token_program: network_token.token_program,
            associated_token_program: anchor_spl::associated_token::ID,
            system_program: system_program::ID,
        },
        reward_epochs::instruction::ClaimV0 {
            args: ClaimArgsV0 {
                cumulative_amount,
                proof,
            },
        },
    )
}
