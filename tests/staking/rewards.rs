use anchor_lang::error::ErrorCode as AnchorError;
use groundwork_client::staking as client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, through_relay, IMPOSTOR_RELAY_ID};
use groundwork_tests::*;
use staking::errors::StakingError;
use staking::events::{EpochRewardsFunded, StakeRewardsClaimed};

#[test]
fn rewards_split_by_weight_and_an_empty_epoch_carries_over() {
    let mut network = StakingNetwork::launch();
    let flexible_staker = network.staker_with_position(gwk(1_000), flexible());
    let locked_staker = network.staker_with_position(gwk(1_000), cliff(FOUR_YEARS_S));
    let (a, b) = (flexible_staker.pubkey(), locked_staker.pubkey());

    // Epoch 0: the positions were created in it, so nothing is active: 500 carries.
    network.next_epoch();
    let event: EpochRewardsFunded = network.fund(0, 500).unwrap().event(&staking::ID);
    assert_eq!(
        (event.config.active_weight, event.config.carried_rewards),
        (0, 500)
    );
    assert_eq!(network.claimable(&a, 0), 0);

    // Epoch 1: both active (weights 1,000 and 4,000 GWK): 1,500 split 1:4.
    network.next_epoch();
    let event: EpochRewardsFunded = network.fund(1, 1_000).unwrap().event(&staking::ID);
    assert_eq!(event.activated_weight, u128::from(gwk(5_000)));
    assert_eq!(network.claimable(&a, 0), 300);
    assert_eq!(network.claimable(&b, 0), 1_200);

    let landed = network.claim(&a, 0).unwrap();
    let event: StakeRewardsClaimed = landed.event(&staking::ID);
    assert_eq!((event.position.owner, event.amount), (a, 300));
    network.claim(&b, 0).unwrap();
    assert_eq!(network.network_balance(&a), 300);
    assert_eq!(network.network_balance(&b), 1_200);
    assert_eq!(network.reward_vault_balance(), 0);
    let config = network.staking_config();
    assert_eq!(
        (
            config.total_funded,
            config.total_claimed,
            config.carried_rewards
        ),
        (1_500, 1_500, 0)
    );

    // Nothing left to claim; a second claim pays nothing.
    assert_error(&network.claim(&a, 0), StakingError::NothingToClaim);
    assert_eq!(network.network_balance(&a), 300);
}

#[test]
fn a_position_created_during_an_epoch_earns_nothing_of_it() {
    let mut network = StakingNetwork::launch();
    let early = network.staker_with_position(gwk(100), flexible());
    network.end_epoch_and_fund(0);
    // Epoch 1: a large position arrives just before the epoch is funded.
    let late = network.staker_with_position(gwk(10_000), flexible());
    network.end_epoch_and_fund(1_000);
    assert_eq!(network.claimable(&early.pubkey(), 0), 1_000);
    assert_eq!(network.claimable(&late.pubkey(), 0), 0);
    // From epoch 2 on it takes its share.
    network.end_epoch_and_fund(10_100);
    assert_eq!(network.claimable(&early.pubkey(), 0), 1_000 + 100);
    assert_eq!(network.claimable(&late.pubkey(), 0), 10_000);
}

#[test]
fn only_the_reward_programs_pda_funds_epochs() {
    let mut network = StakingNetwork::launch();
    network.staker_with_position(gwk(1), flexible());
    network.next_epoch();
    let user = network.holder(gwk(10));
    let token = network.network_token;
    // A user signing as the funder with its own tokens.
    let direct = client::fund_epoch_rewards(
        &user.pubkey(),
        &token.account_of(&user.pubkey()),
        token,
        0,
        gwk(1),
    );
    assert_error(
        &network.rt.send(&[direct], &[&user]),
        AnchorError::ConstraintHasOne,
    );
    // Another program's PDA.
    let impostor = client::reward_funder_address(&IMPOSTOR_RELAY_ID);
    network.give(&impostor, gwk(1));
    let inner =
        client::fund_epoch_rewards(&impostor, &token.account_of(&impostor), token, 0, gwk(1));
    let outcome = network
        .rt
        .send(&[through_relay(IMPOSTOR_RELAY_ID, inner)], &[]);
    assert_error(&outcome, AnchorError::ConstraintHasOne);
    assert_eq!(network.staking_config().next_epoch_to_fund, 0);
    assert_eq!(network.reward_vault_balance(), 0);
}

#[test]
fn epochs_are_funded_once_in_order_after_they_end() {
    let mut network = StakingNetwork::launch();
    assert_error(&network.fund(0, 10), StakingError::EpochNotEnded);
    network.next_epoch();
    assert_error(&network.fund(1, 10), StakingError::EpochNotNext);
    network.fund(0, 10).unwrap();
    assert_error(&network.fund(0, 10), StakingError::EpochNotNext);
    let config = network.staking_config();
    assert_eq!((config.next_epoch_to_fund, config.total_funded), (1, 10));
}

#[test]
fn anyone_can_claim_for_a_staker_and_the_tokens_go_to_the_staker() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(777);
    let crank = network.rt.funded_keypair();
    let position = network.position(&staker.pubkey(), 0);
    let token = network.network_token;
    network
        .rt
        .send_paid_by(
            &crank,
            &[client::claim_stake_rewards(&position, token)],
            &[],
        )
        .unwrap();
    assert_eq!(network.network_balance(&staker.pubkey()), 777);
}

#[test]
fn rewards_earned_before_a_withdrawal_stay_claimable() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(400);
    network.start_unlock(&staker, 0).unwrap();
    network.end_epoch_and_fund(100);
    network.next_epoch();
    let position = network.position(&staker.pubkey(), 0);
    let token = network.network_token;
    network
        .rt
        .send_ok(&[client::withdraw(&position, token)], &[&staker]);
    // Withdrawn: it earns nothing more, but keeps what it earned.
    network.end_epoch_and_fund(1_000);
    assert_eq!(network.claimable(&staker.pubkey(), 0), 500);
    network.claim(&staker.pubkey(), 0).unwrap();
    assert_eq!(network.network_balance(&staker.pubkey()), gwk(10) + 500);
    let position = network.position(&staker.pubkey(), 0);
    network
        .rt
        .send_ok(&[client::close_position(&position)], &[&staker]);
}
