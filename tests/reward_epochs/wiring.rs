//! Audit finding 9 (parameters): one source for epoch timing (staking's config), initialize
//! checks that staking and tokenomics are wired to this program and mint, and the treasury
//! must be a token account of the network mint.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use groundwork_client::tokenomics::NetworkToken;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, Outcome, EPOCH_MINTER_RELAY_ID, TOKEN_PROGRAM_ID};
use groundwork_tests::*;
use reward_epochs::errors::RewardError;
use reward_epochs::RewardParamsV0;

/// Initializes reward_epochs for `network_token` on a network whose tokenomics and staking
/// name the given reward programs.
fn initialize_on(network: &mut StakingNetwork, network_token: NetworkToken) -> Outcome {
    let owner = network.rt.funded_keypair();
    let treasury = network.rt.token_account(
        &owner.pubkey(),
        &network_token.mint,
        &network_token.token_program,
    );
    let args = rewards_args(
        network.authority.pubkey(),
        &[Pubkey::new_unique(), Pubkey::new_unique()],
    );
    initialize_rewards(network, network_token, &treasury, args)
}

#[test]
fn epoch_timing_is_copied_from_staking() {
    let network = CycleNetwork::launch();
    let staking = network.staking_config();
    let rewards = network.reward_config();
    assert_eq!(
        (rewards.genesis_ts, rewards.epoch_len_s),
        (staking.genesis_ts, staking.epoch_len_s)
    );
    assert_eq!(rewards.genesis_ts, network.genesis_ts);
}

#[test]
fn initialize_refuses_staking_wired_to_another_reward_program() {
    let mut network = network_before_rewards(reward_epochs::ID, EPOCH_MINTER_RELAY_ID);
    let token = network.network_token;
    assert_error(
        &initialize_on(&mut network, token),
        RewardError::StakingNotWired,
    );
}

#[test]
fn initialize_refuses_tokenomics_wired_to_another_reward_program() {
    let mut network = network_before_rewards(EPOCH_MINTER_RELAY_ID, reward_epochs::ID);
    let token = network.network_token;
    assert_error(
        &initialize_on(&mut network, token),
        RewardError::TokenomicsNotWired,
    );
}

#[test]
fn initialize_refuses_a_mint_other_than_the_networks() {
    let mut network = network_before_rewards(reward_epochs::ID, reward_epochs::ID);
    let mint_authority = network.rt.funded_keypair();
    let other = NetworkToken {
        mint: network
            .rt
            .create_mint(&TOKEN_PROGRAM_ID, 6, &mint_authority.pubkey(), None),
        token_program: TOKEN_PROGRAM_ID,
    };
    assert_error(
        &initialize_on(&mut network, other),
        RewardError::StakingNotWired,
    );
    // The same network with its own mint is accepted.
    let token = network.network_token;
    initialize_on(&mut network, token).unwrap();
}

#[test]
fn a_treasury_of_another_mint_is_refused() {
    let mut network = CycleNetwork::launch();
    let params = RewardParamsV0 {
        split: default_split(),
        challenge_period_s: 0,
    };
    let mint_authority = network.rt.funded_keypair();
    let other_mint = network
        .rt
        .create_mint(&TOKEN_PROGRAM_ID, 6, &mint_authority.pubkey(), None);
    let dao = network.dao.pubkey();
    let other_mint_account = network
        .rt
        .token_account(&dao, &other_mint, &TOKEN_PROGRAM_ID);
    assert_error(
        &network.update_reward_params(params, &other_mint_account),
        AnchorError::ConstraintTokenMint,
    );
    // A wallet in place of its token account, and a mistyped address.
    assert_error(
        &network.update_reward_params(params, &dao),
        AnchorError::AccountOwnedByWrongProgram,
    );
    assert_error(
        &network.update_reward_params(params, &Pubkey::new_unique()),
        AnchorError::AccountNotInitialized,
    );
    assert_eq!(network.reward_config().treasury, network.dao_treasury);

    // A token account of the network mint is accepted and paid from the next epoch on.
    let token = network.network_token;
    let council = network.rt.funded_keypair();
    let new_treasury =
        network
            .rt
            .token_account(&council.pubkey(), &token.mint, &token.token_program);
    network.update_reward_params(params, &new_treasury).unwrap();
    // close_epoch must now name the new treasury (the old one is refused by `has_one`).
    let old_treasury = network.dao_treasury;
    network.next_epoch();
    assert_error(&network.close_epoch(0), AnchorError::ConstraintHasOne);
    network.dao_treasury = new_treasury;
    network.close_epoch(0).unwrap();
    let epoch = 0;
    assert_eq!(network.rt.token_balance(&old_treasury), 0);
    assert_eq!(
        network.rt.token_balance(&new_treasury),
        network.epoch_record(epoch).treasury_share
    );
}
