use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use groundwork_client::staking as client;
use groundwork_harness::assert_error;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use staking::errors::StakingError;
use staking::events::{Delegated, OperatorSlashed, Undelegated};

/// A network with a registered operator and two active stakers (100 and 300 GWK, flexible):
/// created in epoch 0, they are active once epoch 1 is funded.
fn network_with_active_stakers() -> (StakingNetwork, Keypair, Keypair, Keypair) {
    let mut network = StakingNetwork::launch();
    let operator = network.operator(0);
    let first = network.staker_with_position(gwk(100), flexible());
    let second = network.staker_with_position(gwk(300), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(0);
    (network, operator, first, second)
}

/// What a position's shares are worth now.
fn value(network: &StakingNetwork, staker: &Pubkey) -> u64 {
    let position = network.position(staker, 0);
    network
        .pool(&position.operator.unwrap())
        .value_of(position.shares)
        .unwrap()
}

#[test]
fn delegating_moves_the_position_into_the_operator_pool() {
    let (mut network, operator, first, second) = network_with_active_stakers();
    let position = network.position(&first.pubkey(), 0);
    let delegation = network.delegate_instruction(&position, &operator.pubkey());
    let landed = network.rt.send_ok(&[delegation], &[&first]);
    let event: Delegated = landed.event(&staking::ID);
    assert_eq!(
        (
            event.operator,
            event.amount,
            event.position.delegation_active_epoch
        ),
        (operator.pubkey(), gwk(100), network.current_epoch() + 1)
    );
    assert_eq!(event.position, network.position(&first.pubkey(), 0));
    assert_eq!(event.pool, network.pool(&operator.pubkey()));
    network.delegate(&second, 0, &operator.pubkey()).unwrap();

    let pool = network.pool(&operator.pubkey());
    assert_eq!(
        (pool.tokens, pool.members, pool.operator),
        (gwk(400), 2, operator.pubkey())
    );
    let position = network.position(&first.pubkey(), 0);
    assert_eq!(
        (position.amount, position.operator),
        (0, Some(operator.pubkey()))
    );
    assert_eq!(value(&network, &first.pubkey()), gwk(100));
    // The total weight is unchanged by delegation.
    assert_eq!(network.staking_config().active_weight, u128::from(gwk(400)));
    // Delegated positions keep earning.
    network.end_epoch_and_fund(4_000);
    assert_eq!(network.claimable(&first.pubkey(), 0), 1_000);
    assert_eq!(network.claimable(&second.pubkey(), 0), 3_000);
    network.claim(&second.pubkey(), 0).unwrap();
    assert_eq!(network.network_balance(&second.pubkey()), 3_000);
}

#[test]
fn a_position_must_be_active_to_delegate() {
    let mut network = StakingNetwork::launch();
    let operator = network.operator(0);
    let staker = network.staker_with_position(gwk(1), flexible());
    let position = network.position(&staker.pubkey(), 0);
    let delegation = network.delegate_instruction(&position, &operator.pubkey());
    let outcome = network.rt.send(&[delegation], &[&staker]);
    assert_error(&outcome, StakingError::PositionNotActive);
}

#[test]
fn delegating_to_an_unregistered_operator_is_refused() {
    let (mut network, _, first, _) = network_with_active_stakers();
    let position = network.position(&first.pubkey(), 0);
    let delegation = network.delegate_instruction(&position, &Pubkey::new_unique());
    let outcome = network.rt.send(&[delegation], &[&first]);
    // No registry record at that operator's PDA: nothing owned by the registry there.
    assert_error(&outcome, AnchorError::ConstraintOwner);
    // A registry account of another type (a device class) as the record: wrong address.
    let mut instruction = network.delegate_instruction(&position, &Pubkey::new_unique());
    instruction.accounts[6].pubkey = groundwork_client::device_registry::device_class_address(0);
    let outcome = network.rt.send(&[instruction], &[&first]);
    assert_error(&outcome, AnchorError::ConstraintSeeds);
    assert_eq!(network.position(&first.pubkey(), 0).operator, None);
}

#[test]
fn a_slash_reduces_every_delegator_by_the_same_fraction_and_burns() {
    let (mut network, operator, first, second) = network_with_active_stakers();
    let bystander_operator = network.operator(0);
    network.delegate(&first, 0, &operator.pubkey()).unwrap();
    network.delegate(&second, 0, &operator.pubkey()).unwrap();
    let supply = network.supply();

    let landed = network.slash(&operator.pubkey(), 2_500).unwrap();
    let event: OperatorSlashed = landed.event(&staking::ID);
    assert_eq!(
        (event.bps, event.reason, event.burned),
        (2_500, 11, gwk(100))
    );
    assert_eq!(
        (event.pool_tokens_before, event.pool.tokens),
        (gwk(400), gwk(300))
    );
    assert_eq!(event.pool, network.pool(&operator.pubkey()));
    assert_eq!(value(&network, &first.pubkey()), gwk(75));
    assert_eq!(value(&network, &second.pubkey()), gwk(225));
    assert_eq!(network.supply(), supply - gwk(100));
    assert_eq!(network.stake_vault_balance(), gwk(300));
    let config = network.staking_config();
    assert_eq!(
        (config.total_principal, config.total_slashed),
        (gwk(300), gwk(100))
    );
    // Weight follows: 300 GWK at 1x.
    assert_eq!(config.active_weight, u128::from(gwk(300)));
    // Another operator's pool is untouched (it has none).
    assert_error(
        &network.slash(&bystander_operator.pubkey(), 100),
        AnchorError::AccountNotInitialized,
    );
}

#[test]
fn slashing_is_for_the_authority_and_capped_per_call() {
    let (mut network, operator, first, _) = network_with_active_stakers();
    network.delegate(&first, 0, &operator.pubkey()).unwrap();
    assert_error(
        &network.slash(&operator.pubkey(), 5_001),
        StakingError::InvalidSlash,
    );
    assert_error(
        &network.slash(&operator.pubkey(), 0),
        StakingError::InvalidSlash,
    );
    let intruder = network.rt.funded_keypair();
    let token = network.network_token;
    let outcome = network.rt.send(
        &[client::slash(
            &intruder.pubkey(),
            &operator.pubkey(),
            token,
            100,
            1,
        )],
        &[&intruder],
    );
    assert_error(&outcome, StakingError::NotAuthority);
    assert_eq!(network.pool(&operator.pubkey()).tokens, gwk(100));
}

#[test]
fn an_undelegation_stays_slashable_through_its_unbonding_epochs() {
    let (mut network, operator, first, second) = network_with_active_stakers();
    network.delegate(&first, 0, &operator.pubkey()).unwrap();
    network.delegate(&second, 0, &operator.pubkey()).unwrap();
    network.end_epoch_and_fund(0);

    // The first staker sees trouble coming and undelegates in epoch e.
    let requested = network.current_epoch();
    let position = network.position(&first.pubkey(), 0);
    let exit_epoch = network.current_epoch();
    let landed = network
        .rt
        .send_ok(&[client::undelegate(&position, exit_epoch)], &[&first]);
    let event: staking::events::UndelegationRequested = landed.event(&staking::ID);
    assert_eq!(
        (event.requested_epoch, event.completes_epoch),
        (requested, requested + 3)
    );
    let position = network.position(&first.pubkey(), 0);
    assert_eq!(event.position, position);
    let token = network.network_token;
    let outcome = network.rt.send(
        &[client::complete_undelegation(&position, token)],
        &[&first],
    );
    assert_error(&outcome, StakingError::UndelegationNotMatured);

    // At the first second of epoch e + 1 (where the undelegation used to complete) and in
    // e + 2 it is still in the pool: the slash decided after the oracle's grace and
    // challenge periods reaches it.
    network.next_epoch();
    let token = network.network_token;
    let outcome = network.rt.send(
        &[client::complete_undelegation(&position, token)],
        &[&first],
    );
    assert_error(&outcome, StakingError::UndelegationNotMatured);
    network.next_epoch();
    let token = network.network_token;
    let outcome = network.rt.send(
        &[client::complete_undelegation(&position, token)],
        &[&first],
    );
    assert_error(&outcome, StakingError::UndelegationNotMatured);
    network.slash(&operator.pubkey(), 5_000).unwrap();
    let token = network.network_token;
    let outcome = network
        .rt
        .send(&[client::withdraw(&position, token)], &[&first]);
    assert_error(&outcome, StakingError::PositionDelegated);

    // After two full epochs it completes, with the halved stake.
    network.next_epoch();
    assert_eq!(network.current_epoch(), requested + 3);
    let token = network.network_token;
    let landed = network.rt.send_ok(
        &[client::complete_undelegation(&position, token)],
        &[&first],
    );
    let event: Undelegated = landed.event(&staking::ID);
    assert_eq!(event.amount, gwk(50));
    let position = network.position(&first.pubkey(), 0);
    assert_eq!((position.amount, position.operator), (gwk(50), None));
    assert_eq!(network.pool(&operator.pubkey()).tokens, gwk(150));

    network.start_unlock(&first, 0).unwrap();
    network.next_epoch();
    network.next_epoch();
    let position = network.position(&first.pubkey(), 0);
    let token = network.network_token;
    network
        .rt
        .send_ok(&[client::withdraw(&position, token)], &[&first]);
    assert_eq!(network.network_balance(&first.pubkey()), gwk(50));
    assert_eq!(network.stake_vault_balance(), gwk(150));
}

#[test]
fn the_unbonding_period_is_fixed_when_the_undelegation_is_requested() {
    let (mut network, operator, first, _) = network_with_active_stakers();
    network.delegate(&first, 0, &operator.pubkey()).unwrap();
    let position = network.position(&first.pubkey(), 0);
    let exit_epoch = network.current_epoch();
    network
        .rt
        .send_ok(&[client::undelegate(&position, exit_epoch)], &[&first]);
    let completes = network
        .position(&first.pubkey(), 0)
        .pending_undelegation
        .unwrap()
        .completes_epoch;
    // The authority shortens unbonding to one epoch: the running one keeps its two.
    let mut params = default_params();
    params.unbonding_epochs = 1;
    let authority = network.authority.insecure_clone();
    network.rt.send_ok(
        &[client::update_staking_params(&authority.pubkey(), params)],
        &[&authority],
    );
    network.next_epoch();
    network.next_epoch();
    assert_eq!(network.current_epoch() + 1, completes);
    let token = network.network_token;
    let outcome = network.rt.send(
        &[client::complete_undelegation(&position, token)],
        &[&first],
    );
    assert_error(&outcome, StakingError::UndelegationNotMatured);
    network.next_epoch();
    let token = network.network_token;
    network.rt.send_ok(
        &[client::complete_undelegation(&position, token)],
        &[&first],
    );
}

#[test]
fn undelegation_needs_a_delegation_and_only_one_request() {
    let (mut network, operator, first, _) = network_with_active_stakers();
    let position = network.position(&first.pubkey(), 0);
    let exit_epoch = network.current_epoch();
    assert_error(
        &network
            .rt
            .send(&[client::undelegate(&position, exit_epoch)], &[&first]),
        StakingError::PositionNotDelegated,
    );
    network.delegate(&first, 0, &operator.pubkey()).unwrap();
    let position = network.position(&first.pubkey(), 0);
    let exit_epoch = network.current_epoch();
    network
        .rt
        .send_ok(&[client::undelegate(&position, exit_epoch)], &[&first]);
    let exit_epoch = network.current_epoch();
    assert_error(
        &network
            .rt
            .send(&[client::undelegate(&position, exit_epoch)], &[&first]),
        StakingError::UndelegationPending,
    );
    let delegation = network.delegate_instruction(&position, &operator.pubkey());
    assert_error(
        &network.rt.send(&[delegation], &[&first]),
        StakingError::PositionDelegated,
    );
}
