//! A scripted history through the runtime: every kind of change a device, operator, class,
//! maker, pool, position, payment or purchase can go through (the events an indexer must
//! rebuild state from).

use anchor_lang::prelude::Pubkey;
use device_registry::{RegisterOperatorArgsV0, UpdateOperatorArgsV0};
use groundwork_client::device_registry as registry;
use groundwork_client::staking as staking_client;
use groundwork_harness::solana_signer::Signer;

use crate::*;

/// The whole scripted history: every kind of change a device, operator, class, maker, pool,
/// position, payment or purchase can go through.
pub fn run_history(network: &mut StakingNetwork) -> Vec<Pubkey> {
    let authority = network.authority.insecure_clone();
    let maker = network.maker.insecure_clone();
    let alice = network.operator(2_000_000);
    let bob = network.operator(2_000_000);
    let dapp = network.wallet_with_credits(300_000);

    // Operators change their recipient and metadata.
    let recipient = Pubkey::new_unique();
    network.rt.send_ok(
        &[registry::update_operator(
            &alice.pubkey(),
            UpdateOperatorArgsV0 {
                reward_recipient: Some(recipient),
                metadata_uri: Some("https://alice.example/operator.json".into()),
            },
        )],
        &[&alice],
    );

    // Onboard, move, re-assert, recipients, suspend, reinstate, transfer.
    let hotspot = network.onboard_ok(&alice, HOTSPOT_CLASS, CELL_A);
    let sensor = network.onboard_ok(&alice, SENSOR_CLASS, CELL_A);
    let third = network.onboard_ok(&bob, HOTSPOT_CLASS, CELL_B);
    for location in [CELL_B, CELL_B] {
        network.rt.send_ok(
            &[registry::assert_location(
                &alice.pubkey(),
                &alice.pubkey(),
                &hotspot.pubkey(),
                HOTSPOT_CLASS,
                location,
            )],
            &[&alice],
        );
    }
    let device_recipient = Pubkey::new_unique();
    for recipient in [Some(device_recipient), None, Some(device_recipient)] {
        network.rt.send_ok(
            &[registry::set_reward_recipient(
                &alice.pubkey(),
                &hotspot.pubkey(),
                recipient,
            )],
            &[&alice],
        );
    }
    network.suspend(&sensor.pubkey(), 7);
    network.rt.send_ok(
        &[registry::reinstate_device(
            &authority.pubkey(),
            &sensor.pubkey(),
        )],
        &[&authority],
    );
    network.suspend(&sensor.pubkey(), 9);
    network.transfer(&alice, &bob, &hotspot.pubkey()).unwrap();

    // Payments for service; then a device retires and its key comes back with alice.
    for credits in [1_000, 2_500] {
        network.rt.send_ok(
            &[registry::pay_for_service(
                &dapp.pubkey(),
                &third.pubkey(),
                credits,
            )],
            &[&dapp],
        );
    }
    network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &hotspot.pubkey(),
            700,
        )],
        &[&dapp],
    );
    network.rt.send_ok(
        &[registry::deactivate_device(
            &bob.pubkey(),
            &third.pubkey(),
            HOTSPOT_CLASS,
        )],
        &[&bob],
    );
    network
        .onboard_key(&alice, &third, HOTSPOT_CLASS, CELL_A)
        .unwrap();
    network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &third.pubkey(),
            40,
        )],
        &[&dapp],
    );

    // Class and maker changes, and a two-step transfer of the registry authority.
    let mut cheaper = hotspot_class();
    cheaper.onboarding_fee_credits /= 2;
    cheaper.reward_weight_bps = 12_000;
    network.rt.send_ok(
        &[registry::update_device_class(
            &authority.pubkey(),
            HOTSPOT_CLASS,
            cheaper,
        )],
        &[&authority],
    );
    network.rt.send_ok(
        &[
            registry::revoke_maker(&authority.pubkey(), &maker.pubkey()),
            registry::approve_maker(&authority.pubkey(), maker.pubkey()),
        ],
        &[&authority],
    );
    let successor = network.rt.funded_keypair();
    network.rt.send_ok(
        &[registry::transfer_authority(
            &authority.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&authority],
    );
    network.rt.send_ok(
        &[registry::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    let late_operator = network.wallet_with_credits(1);
    network.rt.send_ok(
        &[registry::register_operator(
            &late_operator.pubkey(),
            RegisterOperatorArgsV0 {
                reward_recipient: late_operator.pubkey(),
                metadata_uri: String::new(),
            },
        )],
        &[&late_operator],
    );

    // Staking: positions of every lockup, delegation, slashes, extension, unlock, unbonding,
    // claims, withdrawal, closing.
    let mut params = default_params();
    params.saturation_s = 4 * EPOCH_LEN_S;
    network.set_params(params).unwrap();
    let cliff_staker = network.staker_with_position(gwk(100), cliff(2 * EPOCH_LEN_S));
    let constant_staker = network.staker_with_position(gwk(300), constant(3 * EPOCH_LEN_S));
    let flexible_staker = network.staker_with_position(gwk(50), flexible());
    network.end_epoch_and_fund(0);
    network.end_epoch_and_fund(1_000_000);
    network
        .delegate(&constant_staker, 0, &alice.pubkey())
        .unwrap();
    network
        .delegate(&flexible_staker, 0, &alice.pubkey())
        .unwrap();
    network.slash(&alice.pubkey(), 1_000).unwrap();
    network.end_epoch_and_fund(2_000_000);
    network
        .extend(&constant_staker, 0, constant(4 * EPOCH_LEN_S))
        .unwrap();
    network.slash(&alice.pubkey(), 2_500).unwrap();
    let position = network.position(&constant_staker.pubkey(), 0);
    network
        .rt
        .send_ok(&[staking_client::sync_position(&position)], &[]);
    network.end_epoch_and_fund(3_000_000);
    network.claim(&cliff_staker.pubkey(), 0).unwrap();
    network.claim(&constant_staker.pubkey(), 0).unwrap();
    let position = network.position(&flexible_staker.pubkey(), 0);
    let exit_epoch = network.current_epoch();
    network.rt.send_ok(
        &[staking_client::undelegate(&position, exit_epoch)],
        &[&flexible_staker],
    );
    network.start_unlock(&constant_staker, 0).unwrap();
    for _ in 0..3 {
        network.end_epoch_and_fund(500_000);
    }
    let token = network.network_token;
    network.rt.send_ok(
        &[staking_client::complete_undelegation(&position, token)],
        &[&flexible_staker],
    );
    let token = network.network_token;
    let position = network.position(&cliff_staker.pubkey(), 0);
    network.rt.send_ok(
        &[staking_client::withdraw(&position, token)],
        &[&cliff_staker],
    );
    network.claim(&cliff_staker.pubkey(), 0).unwrap();
    let position = network.position(&cliff_staker.pubkey(), 0);
    network.rt.send_ok(
        &[staking_client::close_position(&position)],
        &[&cliff_staker],
    );
    let activation = network
        .position(&flexible_staker.pubkey(), 0)
        .activation_epoch;
    let rent_payer = network.epoch_stake(activation).unwrap().rent_payer;
    network.rt.send_ok(
        &[staking_client::close_epoch_stake(activation, &rent_payer)],
        &[],
    );
    network.end_epoch_and_fund(100_000);

    vec![
        alice.pubkey(),
        bob.pubkey(),
        late_operator.pubkey(),
        dapp.pubkey(),
        hotspot.pubkey(),
        sensor.pubkey(),
        third.pubkey(),
        cliff_staker.pubkey(),
        constant_staker.pubkey(),
        flexible_staker.pubkey(),
    ]
}
