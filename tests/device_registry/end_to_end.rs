//! The whole registry flow in one network: credits bought with the network token, 100 devices
//! of two classes onboarded, then moved, paid, suspended, transferred (with the receiver's
//! consent) and deactivated — with every balance, counter and record checked afterwards.

use anchor_lang::prelude::Pubkey;
use device_registry::{DeviceStatus, MakerV0, RegisterOperatorArgsV0};
use groundwork_client::device_registry as registry;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::transaction_size;
use groundwork_tests::*;

const HOTSPOTS: usize = 60;
const SENSORS: usize = 40;
const PAID_DEVICES: usize = 10;

#[test]
fn onboard_one_hundred_devices_and_run_their_lifecycle() {
    let mut network = RegistryNetwork::launch();
    let supply_at_start = network.supply();

    // An operator buys credits with the network token at the fixed price.
    let operator = network.holder(600 * GWK);
    network
        .buy_credits(&operator, 600 * GWK, 600 * CREDITS_PER_GWK)
        .unwrap();
    assert_eq!(network.network_balance(&operator.pubkey()), 0);
    assert_eq!(network.credits(&operator.pubkey()), 30_000_000);
    network.rt.send_ok(
        &[registry::register_operator(
            &operator.pubkey(),
            RegisterOperatorArgsV0 {
                reward_recipient: operator.pubkey(),
                metadata_uri: "https://op.example/a".into(),
            },
        )],
        &[&operator],
    );
    let second_operator = network.operator(0);

    // 60 hotspots and 40 maker-attested sensors.
    let hotspots: Vec<Keypair> = (0..HOTSPOTS)
        .map(|_| network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A))
        .collect();
    let sensors: Vec<Keypair> = (0..SENSORS)
        .map(|_| network.onboard_ok(&operator, SENSOR_CLASS, CELL_B))
        .collect();

    // The largest instruction fits one transaction with a compute budget and a priority fee.
    let largest = onboarding(
        operator.pubkey(),
        operator.pubkey(),
        Pubkey::new_unique(),
        SENSOR_CLASS,
        Some(network.maker.pubkey()),
        CELL_A,
    );
    let mut instructions =
        groundwork_harness::compute_budget_instructions(200_000, 10_000).to_vec();
    instructions.push(largest.clone());
    let (bytes, accounts) = transaction_size(&instructions, &operator.pubkey());
    println!(
        "onboard_device_v0 with maker: {} instruction accounts, transaction of {} distinct accounts and {} bytes (limit 1,232) with compute-budget instructions",
        largest.accounts.len(),
        accounts,
        bytes
    );
    assert!(bytes <= 1_232);

    // One hotspot moves (fee), a dApp pays ten devices, one is suspended, one transferred,
    // one sensor deactivated.
    let key = operator.pubkey();
    network.rt.send_ok(
        &[registry::assert_location(
            &key,
            &key,
            &hotspots[0].pubkey(),
            HOTSPOT_CLASS,
            CELL_B,
        )],
        &[&operator],
    );
    let dapp = network.holder(GWK);
    network.buy_credits(&dapp, GWK, 0).unwrap();
    for (index, device) in hotspots.iter().take(PAID_DEVICES).enumerate() {
        let credits = 100 * (index as u64 + 1);
        network.rt.send_ok(
            &[registry::pay_for_service(
                &dapp.pubkey(),
                &device.pubkey(),
                credits,
            )],
            &[&dapp],
        );
    }
    network.suspend(&hotspots[1].pubkey(), 3);
    network
        .transfer(&operator, &second_operator, &hotspots[2].pubkey())
        .expect("the second operator co-signed");
    let deactivated = &sensors[0];
    network.rt.send_ok(
        &[registry::deactivate_device(
            &key,
            &deactivated.pubkey(),
            SENSOR_CLASS,
        )],
        &[&operator],
    );

    // Balances.
    let fees = HOTSPOTS as u64 * HOTSPOT_ONBOARDING_FEE
        + SENSORS as u64 * SENSOR_ONBOARDING_FEE
        + HOTSPOT_LOCATION_FEE;
    assert_eq!(network.credits(&operator.pubkey()), 30_000_000 - fees);
    let paid: u64 = (1..=PAID_DEVICES as u64).map(|i| 100 * i).sum();
    assert_eq!(network.credits(&dapp.pubkey()), CREDITS_PER_GWK - paid);
    // The second operator holds the one GWK's worth of credits its wallet was funded with.
    assert_eq!(network.credits(&second_operator.pubkey()), CREDITS_PER_GWK);
    assert_eq!(
        network.credit_supply(),
        30_000_000 + 2 * CREDITS_PER_GWK - fees - paid
    );
    assert_eq!(network.supply(), supply_at_start - 602 * GWK);

    // Counters.
    assert_eq!(network.operator_record(&operator.pubkey()).device_count, 98);
    assert_eq!(
        network
            .operator_record(&second_operator.pubkey())
            .device_count,
        1
    );
    assert_eq!(network.device_class(HOTSPOT_CLASS).device_count, 60);
    assert_eq!(network.device_class(SENSOR_CLASS).device_count, 39);
    let registry_config = network.registry();
    assert_eq!(
        (registry_config.device_count, registry_config.operator_count),
        (99, 2)
    );
    let maker: MakerV0 = network
        .rt
        .anchor_account(&registry::maker_address(&network.maker.pubkey()));
    assert_eq!(maker.devices_attested, 40);

    // Records.
    for (index, device) in hotspots.iter().enumerate() {
        let record = network.device(&device.pubkey());
        let expected_operator = if index == 2 {
            second_operator.pubkey()
        } else {
            operator.pubkey()
        };
        let expected_status = if index == 1 {
            DeviceStatus::Suspended
        } else {
            DeviceStatus::Active
        };
        let expected_spent = if index < PAID_DEVICES {
            100 * (index as u64 + 1)
        } else {
            0
        };
        let (expected_location, expected_assertions) =
            if index == 0 { (CELL_B, 2) } else { (CELL_A, 1) };
        assert_eq!(record.operator, expected_operator, "hotspot {index}");
        assert_eq!(record.status, expected_status, "hotspot {index}");
        assert_eq!(record.credits_spent, expected_spent, "hotspot {index}");
        assert_eq!(
            (record.location, record.location_assertions),
            (expected_location, expected_assertions),
            "hotspot {index}"
        );
        assert_eq!(
            (record.class_id, record.device_key),
            (HOTSPOT_CLASS, device.pubkey())
        );
    }
    assert_eq!(network.device(&hotspots[1].pubkey()).suspension_reason, 3);
    assert!(network
        .rt
        .account(&registry::device_address(&deactivated.pubkey()))
        .is_none());
    for device in &sensors[1..] {
        let record = network.device(&device.pubkey());
        assert_eq!(
            (
                record.class_id,
                record.location,
                record.operator,
                record.status
            ),
            (
                SENSOR_CLASS,
                CELL_B,
                operator.pubkey(),
                DeviceStatus::Active
            )
        );
    }

    let device_account = network
        .rt
        .account(&registry::device_address(&hotspots[0].pubkey()))
        .unwrap();
    println!(
        "device record: {} bytes, rent {} lamports ({:.6} SOL)",
        device_account.data.len(),
        device_account.lamports,
        device_account.lamports as f64 / 1e9
    );
}
