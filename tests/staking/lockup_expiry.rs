//! Findings 1 and 2 of the outside read: a lockup bonus lasts exactly as long as its lockup,
//! a pool slashed near zero takes no newcomers, and epoch-stake records are closable once
//! settled.

use groundwork_client::staking as client;
use groundwork_harness::assert_error;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use staking::errors::StakingError;
use staking::events::EpochRewardsFunded;
use staking::StakingParams;

/// Parameters under which a 2-epoch lockup already earns the full 4x.
fn two_epoch_saturation() -> StakingParams {
    StakingParams {
        saturation_s: 2 * EPOCH_LEN_S,
        ..default_params()
    }
}

#[test]
fn a_cliff_bonus_stops_counting_the_epoch_after_the_cliff_ends() {
    let mut network = StakingNetwork::launch();
    network.set_params(two_epoch_saturation()).unwrap();
    // Epoch 0: a 4x cliff ending at the first second of epoch 2, beside a flexible 1x.
    let locked = network.staker_with_position(gwk(100), cliff(2 * EPOCH_LEN_S));
    let flexible_staker = network.staker_with_position(gwk(100), flexible());
    let position = network.position(&locked.pubkey(), 0);
    assert_eq!(position.multiplier_bps, 40_000);
    assert_eq!(position.bonus_expiry_epoch, Some(3));

    network.end_epoch_and_fund(0); // epoch 0: nothing active yet
    network.end_epoch_and_fund(5_000); // epoch 1: 4 : 1
    network.end_epoch_and_fund(5_000); // epoch 2 (the cliff ended at its start): still 4 : 1
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(500)));
    // The cliff is over and withdrawable, but its bonus no longer dilutes the others.
    let landed = network.end_epoch_and_fund(2_000); // epoch 3: 1 : 1
    let event: EpochRewardsFunded = landed.event(&staking::ID);
    assert_eq!(event.expired_weight, u128::from(gwk(300)));
    assert_eq!(event.config.active_weight, u128::from(gwk(200)));
    assert_eq!(
        network.claimable(&locked.pubkey(), 0),
        4_000 + 4_000 + 1_000
    );
    assert_eq!(
        network.claimable(&flexible_staker.pubkey(), 0),
        1_000 + 1_000 + 1_000
    );

    // Claiming ends the bonus on the position too, at the checkpoint of epoch 3.
    network.claim(&locked.pubkey(), 0).unwrap();
    assert_eq!(network.network_balance(&locked.pubkey()), 9_000);
    let position = network.position(&locked.pubkey(), 0);
    assert_eq!(
        (position.bonus_weight, position.bonus_expiry_epoch),
        (0, None)
    );
    network.end_epoch_and_fund(2_000); // epoch 4: still 1 : 1
    assert_eq!(network.claimable(&locked.pubkey(), 0), 1_000);
}

#[test]
fn a_constant_lockup_keeps_its_bonus_until_its_unlock_completes() {
    let mut network = StakingNetwork::launch();
    network.set_params(two_epoch_saturation()).unwrap();
    let locked = network.staker_with_position(gwk(100), constant(2 * EPOCH_LEN_S));
    let flexible_staker = network.staker_with_position(gwk(100), flexible());
    network.end_epoch_and_fund(0);
    for _ in 0..3 {
        network.end_epoch_and_fund(5_000); // a constant lockup never counts down: 4 : 1
    }
    // Epoch 4: the countdown starts; the cliff ends at the start of epoch 6, the bonus with
    // the funding of epoch 7.
    network.start_unlock(&locked, 0).unwrap();
    let position = network.position(&locked.pubkey(), 0);
    assert_eq!(
        position.bonus_expiry_epoch,
        Some(network.current_epoch() + 3)
    );
    for _ in 0..3 {
        network.end_epoch_and_fund(5_000); // epochs 4, 5, 6: still 4 : 1
    }
    network.end_epoch_and_fund(2_000); // epoch 7: 1 : 1
    assert_eq!(network.claimable(&locked.pubkey(), 0), 6 * 4_000 + 1_000);
    assert_eq!(
        network.claimable(&flexible_staker.pubkey(), 0),
        6 * 1_000 + 1_000
    );
    // Withdrawn, it leaves the weight entirely.
    let token = network.network_token;
    let position = network.position(&locked.pubkey(), 0);
    network
        .rt
        .send_ok(&[client::withdraw(&position, token)], &[&locked]);
    network.end_epoch_and_fund(1_000);
    assert_eq!(
        network.claimable(&flexible_staker.pubkey(), 0),
        7_000 + 1_000
    );
}

#[test]
fn a_delegated_bonus_expires_and_is_lowered_by_slashes() {
    let mut network = StakingNetwork::launch();
    network.set_params(two_epoch_saturation()).unwrap();
    let operator = network.operator(0);
    let locked = network.staker_with_position(gwk(100), cliff(3 * EPOCH_LEN_S));
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(0);
    network.delegate(&locked, 0, &operator.pubkey()).unwrap();
    // 100 GWK in the pool, a 300 GWK bonus registered until epoch 4.
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(400)));
    network.slash(&operator.pubkey(), 5_000).unwrap();
    // The pool's tokens halve at once; the member's bonus earns at half its weight.
    network.end_epoch_and_fund(4_000); // epoch 2
    let earned = network.claimable(&locked.pubkey(), 0);
    // 50 GWK base + 150 GWK effective bonus out of 350 GWK registered: 4,000 * 200 / 350.
    assert_eq!(earned, 2_285);
    // Touching the position revalues its bonus down to the slashed value.
    network.claim(&locked.pubkey(), 0).unwrap();
    assert_eq!(
        network.position(&locked.pubkey(), 0).bonus_weight,
        u128::from(gwk(150))
    );
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(200)));
    network.end_epoch_and_fund(2_000); // epoch 3: the bonus still counts
    network.end_epoch_and_fund(2_000); // epoch 4: only the 50 GWK base
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(50)));
    assert_eq!(network.claimable(&locked.pubkey(), 0), 2_000 + 2_000);
}

#[test]
fn anyone_syncs_a_slashed_member_so_its_bonus_stops_diluting_others() {
    let mut network = StakingNetwork::launch();
    network.set_params(two_epoch_saturation()).unwrap();
    let operator = network.operator(0);
    let member = network.staker_with_position(gwk(100), constant(2 * EPOCH_LEN_S));
    let bystander = network.staker_with_position(gwk(100), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(0);
    network.delegate(&member, 0, &operator.pubkey()).unwrap();
    network.slash(&operator.pubkey(), 5_000).unwrap();
    // 50 pool tokens + 300 registered bonus (earning 150) + 100 bystander.
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(450)));
    // A crank (no signature of the member) revalues the member's bonus.
    let position = network.position(&member.pubkey(), 0);
    let landed = network.rt.send_ok(&[client::sync_position(&position)], &[]);
    let synced: staking::events::PositionSynced = landed.event(&staking::ID);
    assert_eq!(synced.position.bonus_weight, u128::from(gwk(150)));
    assert_eq!(synced.config, network.staking_config());
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(300)));
    // The bystander now earns its true third.
    network.end_epoch_and_fund(3_000);
    assert_eq!(network.claimable(&bystander.pubkey(), 0), 1_000);
    assert_eq!(network.claimable(&member.pubkey(), 0), 2_000);
}

#[test]
fn a_slash_can_never_take_a_whole_pool() {
    let mut network = StakingNetwork::launch();
    let mut params = default_params();
    params.max_slash_bps = 10_000;
    assert_error(&network.set_params(params), StakingError::InvalidMaxSlash);
    params.max_slash_bps = 9_999;
    network.set_params(params).unwrap();
    assert_eq!(network.staking_config().params.max_slash_bps, 9_999);
}

#[test]
fn a_pool_slashed_near_zero_refuses_newcomers_until_it_empties() {
    let mut network = StakingNetwork::launch();
    let mut params = default_params();
    params.max_slash_bps = 9_000;
    network.set_params(params).unwrap();
    let operator = network.operator(0);
    let member = network.staker_with_position(gwk(100), flexible());
    let newcomer = network.staker_with_position(gwk(1_000), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(0);
    network.delegate(&member, 0, &operator.pubkey()).unwrap();
    // Seven 90% slashes: each share is worth 1e-7 of a token.
    for _ in 0..7 {
        network.slash(&operator.pubkey(), 9_000).unwrap();
    }
    assert_eq!(network.pool(&operator.pubkey()).tokens, 10);
    assert_error(
        &network.delegate(&newcomer, 0, &operator.pubkey()),
        StakingError::PoolShareValueTooLow,
    );
    assert_eq!(network.position(&newcomer.pubkey(), 0).amount, gwk(1_000));
    // The member leaves (after unbonding) with what is left; the empty pool starts over.
    let position = network.position(&member.pubkey(), 0);
    let exit_epoch = network.current_epoch();
    network
        .rt
        .send_ok(&[client::undelegate(&position, exit_epoch)], &[&member]);
    for _ in 0..3 {
        network.next_epoch();
    }
    let token = network.network_token;
    network.rt.send_ok(
        &[client::complete_undelegation(&position, token)],
        &[&member],
    );
    assert_eq!(network.position(&member.pubkey(), 0).amount, 10);
    network.delegate(&newcomer, 0, &operator.pubkey()).unwrap();
    let pool = network.pool(&operator.pubkey());
    assert_eq!(
        (pool.tokens, pool.shares),
        (gwk(1_000), u128::from(gwk(1_000)))
    );
}

#[test]
fn an_epoch_stake_record_closes_once_no_position_needs_it() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), flexible());
    let payer = staker.pubkey();
    // Not funded yet.
    assert_error(
        &network
            .rt
            .send(&[client::close_epoch_stake(1, &payer)], &[]),
        StakingError::EpochStakeInUse,
    );
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(100);
    // Funded, but the position has not activated through it yet.
    assert_error(
        &network
            .rt
            .send(&[client::close_epoch_stake(1, &payer)], &[]),
        StakingError::EpochStakeInUse,
    );
    network.claim(&payer, 0).unwrap();
    let rent = network
        .rt
        .account(&client::epoch_stake_address(1))
        .unwrap()
        .lamports;
    let balance = network.rt.account(&payer).unwrap().lamports;
    // Anyone closes it; the rent goes back to the staker who paid it.
    network
        .rt
        .send_ok(&[client::close_epoch_stake(1, &payer)], &[]);
    assert!(network
        .rt
        .account(&client::epoch_stake_address(1))
        .is_none());
    assert_eq!(network.rt.account(&payer).unwrap().lamports, balance + rent);
    // A wrong rent payer is refused.
    let other = network.staker_with_position(gwk(1), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(0);
    let epoch = network.position(&other.pubkey(), 0).activation_epoch;
    assert_error(
        &network
            .rt
            .send(&[client::close_epoch_stake(epoch, &payer)], &[]),
        anchor_lang::error::ErrorCode::ConstraintHasOne,
    );
}
