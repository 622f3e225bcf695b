use anchor_lang::error::ErrorCode as AnchorError;
use groundwork_client::staking as client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, TOKEN_PROGRAM_ID};
use groundwork_tests::*;
use staking::errors::StakingError;
use staking::events::{LockupExtended, PositionCreated, Withdrawn};
use staking::{CreatePositionArgsV0, LockupKind};

#[test]
fn a_cliff_position_locks_tokens_with_its_weight() {
    let mut network = StakingNetwork::launch();
    let staker = network.holder(gwk(1_000));
    let landed = network
        .create_position(&staker, 7, gwk(1_000), cliff(FOUR_YEARS_S / 2))
        .unwrap();

    let position = network.position(&staker.pubkey(), 7);
    assert_eq!(
        (position.owner, position.id, position.kind),
        (staker.pubkey(), 7, LockupKind::Cliff)
    );
    // 1 + 3 * (2 years / 4 years) = 2.5x.
    assert_eq!(position.multiplier_bps, 25_000);
    // The 1.5x bonus counts beside the amount until the epoch after the cliff ends.
    assert_eq!(position.bonus_weight, u128::from(gwk(1_500)));
    let expiry = network
        .staking_config()
        .bonus_expiry_epoch(position.end_ts)
        .unwrap();
    assert_eq!(position.bonus_expiry_epoch, Some(expiry));
    assert_eq!(
        position.end_ts,
        network.rt.clock().unix_timestamp + FOUR_YEARS_S / 2
    );
    assert_eq!((position.activation_epoch, position.activated), (1, false));
    assert_eq!(network.network_balance(&staker.pubkey()), 0);
    assert_eq!(network.stake_vault_balance(), gwk(1_000));
    let config = network.staking_config();
    assert_eq!(
        (
            config.total_principal,
            config.active_weight,
            config.position_count
        ),
        (gwk(1_000), 0, 1)
    );
    let record: staking::EpochStakeV0 = network.rt.anchor_account(&client::epoch_stake_address(1));
    assert_eq!(record.activating_weight, u128::from(gwk(2_500)));
    let expiry_record = network.epoch_stake(expiry).unwrap();
    assert_eq!(
        (expiry_record.expiring_weight, expiry_record.references),
        (u128::from(gwk(1_500)), 1)
    );

    let event: PositionCreated = landed.event(&staking::ID);
    assert_eq!(event.amount, gwk(1_000));
    assert_eq!(event.position, position);
    assert_eq!(event.records, vec![record, expiry_record]);
    assert_eq!(event.config, network.staking_config());
}

#[test]
fn the_bonus_saturates_at_four_years() {
    let mut network = StakingNetwork::launch();
    let staker = network.holder(gwk(20));
    network
        .create_position(&staker, 0, gwk(10), constant(2 * FOUR_YEARS_S))
        .unwrap();
    network
        .create_position(&staker, 1, gwk(10), flexible())
        .unwrap();
    assert_eq!(network.position(&staker.pubkey(), 0).multiplier_bps, 40_000);
    assert_eq!(network.position(&staker.pubkey(), 1).multiplier_bps, 10_000);
}

#[test]
fn position_arguments_are_validated() {
    let mut network = StakingNetwork::launch();
    let staker = network.holder(gwk(10));
    assert_error(
        &network.create_position(&staker, 0, 0, flexible()),
        StakingError::ZeroAmount,
    );
    assert_error(
        &network.create_position(&staker, 0, gwk(1), cliff(0)),
        StakingError::InvalidLockupDuration,
    );
    assert_error(
        &network.create_position(&staker, 0, gwk(1), constant(-5)),
        StakingError::InvalidLockupDuration,
    );
    // Naming another epoch's activation record.
    let instruction = client::create_position(
        &staker.pubkey(),
        network.network_token,
        CreatePositionArgsV0 {
            id: 0,
            amount: gwk(1),
            lockup: flexible(),
            activation_epoch: 5,
            bonus_expiry_epoch: None,
        },
    );
    assert_error(
        &network.rt.send(&[instruction], &[&staker]),
        StakingError::WrongEpochStake,
    );
    // More than the staker holds.
    assert_error(
        &network.create_position(&staker, 0, gwk(11), flexible()),
        1u32,
    );
    assert_eq!(network.network_balance(&staker.pubkey()), gwk(10));
}

#[test]
fn a_cliff_position_cannot_be_withdrawn_before_its_end() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(100), cliff(3_600));
    let position = network.position(&staker.pubkey(), 0);
    network.rt.advance_seconds(3_599);
    let token = network.network_token;
    let outcome = network
        .rt
        .send(&[client::withdraw(&position, token)], &[&staker]);
    assert_error(&outcome, StakingError::StillLocked);
    assert_error(
        &network.start_unlock(&staker, 0),
        StakingError::CannotStartUnlock,
    );

    network.rt.advance_seconds(1);
    let token = network.network_token;
    let landed = network
        .rt
        .send_ok(&[client::withdraw(&position, token)], &[&staker]);
    let event: Withdrawn = landed.event(&staking::ID);
    assert_eq!(event.amount, gwk(100));
    assert_eq!(network.network_balance(&staker.pubkey()), gwk(100));
    assert_eq!(network.stake_vault_balance(), 0);
    let config = network.staking_config();
    assert_eq!(config.total_principal, 0);
    // The pending weight left the activation record too.
    let record: staking::EpochStakeV0 = network.rt.anchor_account(&client::epoch_stake_address(1));
    assert_eq!(record.activating_weight, 0);

    // Empty now: it can be closed, rent back to the owner.
    let position = network.position(&staker.pubkey(), 0);
    let lamports = network.rt.account(&staker.pubkey()).unwrap().lamports;
    let rent = network
        .rt
        .account(&client::position_address(&staker.pubkey(), 0))
        .unwrap()
        .lamports;
    network
        .rt
        .send_ok(&[client::close_position(&position)], &[&staker]);
    assert!(network
        .rt
        .account(&client::position_address(&staker.pubkey(), 0))
        .is_none());
    assert_eq!(
        network.rt.account(&staker.pubkey()).unwrap().lamports,
        lamports + rent
    );
    assert_eq!(network.staking_config().position_count, 0);
}

#[test]
fn a_constant_lockup_never_counts_down_until_unlocking_starts() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(100), constant(3_600));
    let position = network.position(&staker.pubkey(), 0);
    network.rt.advance_seconds(10 * 3_600);
    let token = network.network_token;
    let outcome = network
        .rt
        .send(&[client::withdraw(&position, token)], &[&staker]);
    assert_error(&outcome, StakingError::StillLocked);

    network.start_unlock(&staker, 0).unwrap();
    let position = network.position(&staker.pubkey(), 0);
    assert_eq!(position.kind, LockupKind::Cliff);
    assert_eq!(position.end_ts, network.rt.clock().unix_timestamp + 3_600);
    // The weight stays what the constant lockup earned.
    assert_eq!(
        position.multiplier_bps,
        network.position(&staker.pubkey(), 0).multiplier_bps
    );
    network.rt.advance_seconds(3_600);
    let token = network.network_token;
    network
        .rt
        .send_ok(&[client::withdraw(&position, token)], &[&staker]);
    assert_eq!(network.network_balance(&staker.pubkey()), gwk(100));
}

#[test]
fn a_flexible_position_waits_its_cooldown() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(5), flexible());
    let position = network.position(&staker.pubkey(), 0);
    let token = network.network_token;
    let outcome = network
        .rt
        .send(&[client::withdraw(&position, token)], &[&staker]);
    assert_error(&outcome, StakingError::StillLocked);

    network.start_unlock(&staker, 0).unwrap();
    let position = network.position(&staker.pubkey(), 0);
    assert_eq!(
        position.withdrawable_epoch,
        Some(network.current_epoch() + 2)
    );
    assert_error(
        &network.start_unlock(&staker, 0),
        StakingError::AlreadyUnlocking,
    );

    network.next_epoch();
    let token = network.network_token;
    let outcome = network
        .rt
        .send(&[client::withdraw(&position, token)], &[&staker]);
    assert_error(&outcome, StakingError::StillLocked);
    network.next_epoch();
    let token = network.network_token;
    network
        .rt
        .send_ok(&[client::withdraw(&position, token)], &[&staker]);
    assert_eq!(network.network_balance(&staker.pubkey()), gwk(5));
}

#[test]
fn nobody_but_the_owner_withdraws_extends_or_closes() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(5), cliff(60));
    network.rt.advance_seconds(61);
    let thief = network.rt.funded_keypair();
    let mut position = network.position(&staker.pubkey(), 0);
    position.owner = thief.pubkey();
    // The thief signs instructions naming the staker's position (and its own token account).
    let mut withdraw = client::withdraw(&position, network.network_token);
    withdraw.accounts[2].pubkey = client::position_address(&staker.pubkey(), 0);
    let token = network.network_token;
    network
        .rt
        .token_account(&thief.pubkey(), &token.mint, &token.token_program);
    assert_error(
        &network.rt.send(&[withdraw], &[&thief]),
        StakingError::NotPositionOwner,
    );
    let mut extend = client::extend_lockup(&position, constant(FOUR_YEARS_S), None);
    extend.accounts[2].pubkey = client::position_address(&staker.pubkey(), 0);
    assert_error(
        &network.rt.send(&[extend], &[&thief]),
        StakingError::NotPositionOwner,
    );
    let mut close = client::close_position(&position);
    close.accounts[2].pubkey = client::position_address(&staker.pubkey(), 0);
    assert_error(
        &network.rt.send(&[close], &[&thief]),
        StakingError::NotPositionOwner,
    );
    assert_eq!(network.position(&staker.pubkey(), 0).amount, gwk(5));
}

#[test]
fn a_lockup_can_only_get_longer() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), cliff(FOUR_YEARS_S / 2));
    let position = network.position(&staker.pubkey(), 0);
    for shorter in [
        cliff(FOUR_YEARS_S / 4),
        constant(FOUR_YEARS_S / 4),
        flexible(),
    ] {
        assert_error(
            &network.extend(&staker, 0, shorter),
            StakingError::LockupNotLonger,
        );
    }
    let old_expiry = position.bonus_expiry_epoch.unwrap();
    let landed = network.extend(&staker, 0, constant(FOUR_YEARS_S)).unwrap();
    let event: LockupExtended = landed.event(&staking::ID);
    assert_eq!(
        (event.multiplier_before_bps, event.position.multiplier_bps),
        (25_000, 40_000)
    );
    let position = network.position(&staker.pubkey(), 0);
    assert_eq!(event.position, position);
    // A constant lockup's bonus does not count down: its old expiry is unregistered.
    assert_eq!(
        (
            position.kind,
            position.bonus_weight,
            position.bonus_expiry_epoch
        ),
        (LockupKind::Constant, u128::from(gwk(30)), None)
    );
    let old_record = network.epoch_stake(old_expiry).unwrap();
    assert_eq!((old_record.expiring_weight, old_record.references), (0, 0));
    // Still pending: the activation record carries the new weight.
    let record: staking::EpochStakeV0 = network.rt.anchor_account(&client::epoch_stake_address(1));
    assert_eq!(record.activating_weight, u128::from(gwk(40)));
}

#[test]
fn a_non_empty_position_cannot_be_closed() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), flexible());
    let position = network.position(&staker.pubkey(), 0);
    let outcome = network
        .rt
        .send(&[client::close_position(&position)], &[&staker]);
    assert_error(&outcome, StakingError::PositionNotEmpty);
}

#[test]
fn a_substituted_vault_or_mint_is_refused() {
    let mut network = StakingNetwork::launch();
    let staker = network.staker_with_position(gwk(10), cliff(60));
    network.rt.advance_seconds(61);
    let position = network.position(&staker.pubkey(), 0);
    // Another token account of the network mint (the treasury's) in place of the stake vault.
    let fake_vault = network.network_token.account_of(&network.treasury.pubkey());
    let mut withdraw = client::withdraw(&position, network.network_token);
    withdraw.accounts[6].pubkey = fake_vault;
    assert_error(
        &network.rt.send(&[withdraw], &[&staker]),
        AnchorError::ConstraintHasOne,
    );
    // Another mint in place of the network mint.
    let other_authority = network.rt.funded_keypair();
    let other_mint = network
        .rt
        .create_mint(&TOKEN_PROGRAM_ID, 6, &other_authority.pubkey(), None);
    let mut withdraw = client::withdraw(&position, network.network_token);
    withdraw.accounts[8].pubkey = other_mint;
    assert_error(
        &network.rt.send(&[withdraw], &[&staker]),
        AnchorError::ConstraintHasOne,
    );
    assert_eq!(network.stake_vault_balance(), gwk(10));
}

#[test]
fn extreme_amounts_overflow_cleanly() {
    let mut network = StakingNetwork::launch();
    let staker = network.holder(gwk(10));
    // A position of the whole initial supply cannot be funded by this staker, and a
    // u64::MAX amount at the top multiplier is refused by the token program, not wrapped.
    let outcome = network.create_position(&staker, 0, u64::MAX, constant(FOUR_YEARS_S));
    assert_error(&outcome, 1u32);
    assert_eq!(network.staking_config().total_principal, 0);
}

#[test]
fn parameter_changes_apply_to_new_lockups_only() {
    let mut network = StakingNetwork::launch();
    let staker = network.holder(gwk(20));
    network
        .create_position(&staker, 0, gwk(10), cliff(FOUR_YEARS_S))
        .unwrap();
    let authority = network.authority.insecure_clone();
    let mut params = default_params();
    params.max_bonus_bps = 10_000;
    params.cooldown_epochs = 5;
    let landed = network.rt.send_ok(
        &[client::update_staking_params(&authority.pubkey(), params)],
        &[&authority],
    );
    let event: staking::events::StakingParamsUpdated = landed.event(&staking::ID);
    assert_eq!((event.before, event.after), (default_params(), params));

    // The existing position keeps its 4x; a new one gets the new 2x.
    assert_eq!(network.position(&staker.pubkey(), 0).multiplier_bps, 40_000);
    network
        .create_position(&staker, 1, gwk(10), cliff(FOUR_YEARS_S))
        .unwrap();
    assert_eq!(network.position(&staker.pubkey(), 1).multiplier_bps, 20_000);
}

#[test]
fn parameters_are_validated_and_only_the_authority_sets_them() {
    let mut network = StakingNetwork::launch();
    let authority = network.authority.insecure_clone();
    let intruder = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[client::update_staking_params(
            &intruder.pubkey(),
            default_params(),
        )],
        &[&intruder],
    );
    assert_error(&outcome, StakingError::NotAuthority);
    for (tweak, expected) in [
        (
            (|p: &mut staking::StakingParams| p.saturation_s = 0)
                as fn(&mut staking::StakingParams),
            StakingError::InvalidSaturation,
        ),
        (|p| p.cooldown_epochs = 0, StakingError::InvalidCooldown),
        (|p| p.max_slash_bps = 0, StakingError::InvalidMaxSlash),
        (|p| p.max_slash_bps = 10_001, StakingError::InvalidMaxSlash),
    ] {
        let mut params = default_params();
        tweak(&mut params);
        let outcome = network.rt.send(
            &[client::update_staking_params(&authority.pubkey(), params)],
            &[&authority],
        );
        assert_error(&outcome, expected);
    }
    assert_eq!(network.staking_config().params, default_params());
}

#[test]
fn the_staking_authority_moves_in_two_steps() {
    let mut network = StakingNetwork::launch();
    let authority = network.authority.insecure_clone();
    let successor = network.rt.funded_keypair();
    let stranger = network.rt.funded_keypair();
    let accept = |network: &mut StakingNetwork,
                  signer: &groundwork_harness::solana_keypair::Keypair| {
        network
            .rt
            .send(&[client::accept_authority(&signer.pubkey())], &[signer])
    };
    assert_error(
        &accept(&mut network, &successor),
        StakingError::NoPendingAuthority,
    );
    let outcome = network.rt.send(
        &[client::transfer_authority(
            &stranger.pubkey(),
            Some(stranger.pubkey()),
        )],
        &[&stranger],
    );
    assert_error(&outcome, StakingError::NotAuthority);

    // Propose a mistyped key, then correct it: only the last proposal can accept.
    let mistyped = network.rt.funded_keypair();
    for proposed in [mistyped.pubkey(), successor.pubkey()] {
        network.rt.send_ok(
            &[client::transfer_authority(
                &authority.pubkey(),
                Some(proposed),
            )],
            &[&authority],
        );
    }
    assert_eq!(
        network.staking_config().pending_authority,
        Some(successor.pubkey())
    );
    assert_error(
        &accept(&mut network, &mistyped),
        StakingError::NotPendingAuthority,
    );
    assert_error(
        &accept(&mut network, &stranger),
        StakingError::NotPendingAuthority,
    );
    let landed = network.rt.send_ok(
        &[client::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    let event: staking::events::AuthorityTransferAccepted = landed.event(&staking::ID);
    assert_eq!(
        (event.authority_before, event.authority_after),
        (authority.pubkey(), successor.pubkey())
    );
    let config = network.staking_config();
    assert_eq!(
        (config.authority, config.pending_authority),
        (successor.pubkey(), None)
    );
    // The proposal is spent: accepting again fails.
    assert_error(
        &accept(&mut network, &successor),
        StakingError::NoPendingAuthority,
    );

    // The old authority has lost its powers; the new one has them.
    let mut params = default_params();
    params.cooldown_epochs = 7;
    let outcome = network.rt.send(
        &[client::update_staking_params(&authority.pubkey(), params)],
        &[&authority],
    );
    assert_error(&outcome, StakingError::NotAuthority);
    network.rt.send_ok(
        &[client::update_staking_params(&successor.pubkey(), params)],
        &[&successor],
    );
    assert_eq!(network.staking_config().params.cooldown_epochs, 7);
}

#[test]
fn a_pending_staking_authority_transfer_can_be_cancelled() {
    let mut network = StakingNetwork::launch();
    let authority = network.authority.insecure_clone();
    let successor = network.rt.funded_keypair();
    network.rt.send_ok(
        &[client::transfer_authority(
            &authority.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&authority],
    );
    let landed = network.rt.send_ok(
        &[client::transfer_authority(&authority.pubkey(), None)],
        &[&authority],
    );
    let event: staking::events::AuthorityTransferProposed = landed.event(&staking::ID);
    assert_eq!(
        (event.authority, event.pending_before, event.pending_after),
        (authority.pubkey(), Some(successor.pubkey()), None)
    );
    let outcome = network.rt.send(
        &[client::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    assert_error(&outcome, StakingError::NoPendingAuthority);
    assert_eq!(network.staking_config().authority, authority.pubkey());
}

#[test]
fn only_the_upgrade_authority_initializes_staking() {
    let mut network = RegistryNetwork::launch();
    let intruder = network.rt.funded_keypair();
    let args = staking::InitializeStakingArgsV0 {
        authority: intruder.pubkey(),
        reward_program: groundwork_harness::EPOCH_MINTER_RELAY_ID,
        genesis_ts: 0,
        epoch_len_s: 60,
        params: default_params(),
    };
    let token = network.network_token;
    let outcome = network.rt.send(
        &[client::initialize_staking(&intruder.pubkey(), token, args)],
        &[&intruder],
    );
    assert_error(&outcome, StakingError::NotUpgradeAuthority);
}
