use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountSerialize, Space};
use device_registry::errors::RegistryError;
use device_registry::events::{
    DeviceDeactivated, DeviceOnboarded, DeviceTransferred, LocationAsserted, RewardRecipientSet,
    ServicePaid,
};
use device_registry::{DeviceStatus, DeviceV0, MakerV0};
use groundwork_client::device_registry as registry;
use groundwork_client::tokenomics as tokenomics_client;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, custom_error_code};
use groundwork_tests::*;

#[test]
fn onboarding_burns_the_fee_and_writes_a_small_record() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let credits_before = network.credits(&operator.pubkey());
    let supply_before = network.credit_supply();

    let device = Keypair::new();
    let landed = network
        .onboard_key(&operator, &device, HOTSPOT_CLASS, CELL_A)
        .expect("onboarded");

    assert_eq!(
        network.credits(&operator.pubkey()),
        credits_before - HOTSPOT_ONBOARDING_FEE
    );
    assert_eq!(
        network.credit_supply(),
        supply_before - HOTSPOT_ONBOARDING_FEE
    );
    let record = network.device(&device.pubkey());
    assert_eq!(record.device_key, device.pubkey());
    assert_eq!(record.operator, operator.pubkey());
    assert_eq!(
        (record.class_id, record.location, record.location_assertions),
        (HOTSPOT_CLASS, CELL_A, 1)
    );
    assert_eq!(
        (record.status, record.credits_spent, record.reward_recipient),
        (DeviceStatus::Active, 0, None)
    );
    assert_eq!(record.onboarded_at, network.rt.clock().unix_timestamp);
    assert_eq!(network.operator_record(&operator.pubkey()).device_count, 1);
    assert_eq!(network.device_class(HOTSPOT_CLASS).device_count, 1);
    assert_eq!(network.registry().device_count, 1);

    let account = network
        .rt
        .account(&registry::device_address(&device.pubkey()))
        .unwrap();
    assert_eq!(account.data.len(), 8 + DeviceV0::INIT_SPACE);
    assert!(
        account.data.len() <= 160,
        "device record is {} bytes",
        account.data.len()
    );
    assert_eq!(account.owner, device_registry::ID);

    let event: DeviceOnboarded = landed.event(&device_registry::ID);
    assert_eq!(
        (event.payer, event.fee_burned_credits, event.maker),
        (operator.pubkey(), HOTSPOT_ONBOARDING_FEE, None)
    );
    assert_eq!(event.unix_timestamp, record.onboarded_at);
    // Every record the onboarding wrote, as it is now.
    assert_eq!(event.device, record);
    assert_eq!(event.operator, network.operator_record(&operator.pubkey()));
    assert_eq!(event.device_class, network.device_class(HOTSPOT_CLASS));
    assert_eq!(event.registry, network.registry());
}

#[test]
fn a_separate_payer_can_pay_the_fee_and_rent() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(0);
    let sponsor = network.wallet_with_credits(HOTSPOT_ONBOARDING_FEE);
    let sponsor_credits = network.credits(&sponsor.pubkey());
    let operator_credits = network.credits(&operator.pubkey());
    let device = Keypair::new();
    network.rt.send_ok(
        &[onboarding(
            sponsor.pubkey(),
            operator.pubkey(),
            device.pubkey(),
            HOTSPOT_CLASS,
            None,
            CELL_A,
        )],
        &[&sponsor, &operator, &device],
    );
    assert_eq!(
        network.credits(&sponsor.pubkey()),
        sponsor_credits - HOTSPOT_ONBOARDING_FEE
    );
    assert_eq!(network.credits(&operator.pubkey()), operator_credits);
    assert_eq!(network.device(&device.pubkey()).operator, operator.pubkey());
}

#[test]
fn onboarding_rejects_a_device_key_that_did_not_sign() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = Pubkey::new_unique();
    let mut instruction = onboarding(
        operator.pubkey(),
        operator.pubkey(),
        device,
        HOTSPOT_CLASS,
        None,
        CELL_A,
    );
    instruction.accounts[3].is_signer = false;
    let outcome = network.rt.send(&[instruction], &[&operator]);
    assert_error(&outcome, AnchorError::AccountNotSigner);
    assert!(network
        .rt
        .account(&registry::device_address(&device))
        .is_none());
}

#[test]
fn onboarding_rejects_an_operator_that_did_not_sign() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(0);
    let sponsor = network.wallet_with_credits(HOTSPOT_ONBOARDING_FEE);
    let device = Keypair::new();
    let mut instruction = onboarding(
        sponsor.pubkey(),
        operator.pubkey(),
        device.pubkey(),
        HOTSPOT_CLASS,
        None,
        CELL_A,
    );
    instruction.accounts[1].is_signer = false;
    let outcome = network.rt.send(&[instruction], &[&sponsor, &device]);
    assert_error(&outcome, AnchorError::AccountNotSigner);
}

#[test]
fn a_key_is_onboarded_once_in_the_whole_network() {
    let mut network = RegistryNetwork::launch();
    let first = network.operator(HOTSPOT_ONBOARDING_FEE);
    let second = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&first, HOTSPOT_CLASS, CELL_A);
    let second_credits = network.credits(&second.pubkey());

    let outcome = network.onboard_key(&second, &device, HOTSPOT_CLASS, CELL_B);
    assert_eq!(
        custom_error_code(&outcome),
        Some(0),
        "system program: account already in use"
    );
    let record = network.device(&device.pubkey());
    assert_eq!((record.operator, record.location), (first.pubkey(), CELL_A));
    assert_eq!(network.credits(&second.pubkey()), second_credits);
    assert_eq!(network.operator_record(&second.pubkey()).device_count, 0);
}

#[test]
fn an_unregistered_wallet_cannot_onboard() {
    let mut network = RegistryNetwork::launch();
    let stranger = network.wallet_with_credits(HOTSPOT_ONBOARDING_FEE);
    let (_, outcome) = network.onboard(&stranger, HOTSPOT_CLASS, CELL_A);
    assert_error(&outcome, AnchorError::AccountNotInitialized);
}

#[test]
fn a_class_requiring_a_maker_refuses_onboarding_without_one() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(SENSOR_ONBOARDING_FEE);
    let device = Keypair::new();
    let outcome = network.rt.send(
        &[onboarding(
            operator.pubkey(),
            operator.pubkey(),
            device.pubkey(),
            SENSOR_CLASS,
            None,
            CELL_A,
        )],
        &[&operator, &device],
    );
    assert_error(&outcome, RegistryError::MakerAttestationRequired);
}

#[test]
fn an_approved_maker_attests_and_is_counted() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(SENSOR_ONBOARDING_FEE);
    let (device, outcome) = network.onboard(&operator, SENSOR_CLASS, CELL_A);
    let event: DeviceOnboarded = outcome.unwrap().event(&device_registry::ID);
    assert_eq!(event.fee_burned_credits, SENSOR_ONBOARDING_FEE);
    assert_eq!(network.device(&device.pubkey()).class_id, SENSOR_CLASS);
    let record: MakerV0 = network
        .rt
        .anchor_account(&registry::maker_address(&network.maker.pubkey()));
    assert_eq!(
        (record.maker, record.devices_attested),
        (network.maker.pubkey(), 1)
    );
    assert_eq!(event.maker, Some(record));
}

#[test]
fn a_maker_that_was_never_approved_cannot_attest() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(SENSOR_ONBOARDING_FEE);
    let rogue = network.rt.funded_keypair();
    let device = Keypair::new();
    let outcome = network.rt.send(
        &[onboarding(
            operator.pubkey(),
            operator.pubkey(),
            device.pubkey(),
            SENSOR_CLASS,
            Some(rogue.pubkey()),
            CELL_A,
        )],
        &[&operator, &device, &rogue],
    );
    assert_error(&outcome, AnchorError::AccountNotInitialized);
}

#[test]
fn a_revoked_maker_cannot_attest() {
    let mut network = RegistryNetwork::launch();
    let authority = network.authority.insecure_clone();
    let maker = network.maker.pubkey();
    network.rt.send_ok(
        &[registry::revoke_maker(&authority.pubkey(), &maker)],
        &[&authority],
    );
    let operator = network.operator(SENSOR_ONBOARDING_FEE);
    let (_, outcome) = network.onboard(&operator, SENSOR_CLASS, CELL_A);
    assert_error(&outcome, RegistryError::MakerNotApproved);
}

#[test]
fn a_maker_cannot_attest_with_another_makers_record() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(SENSOR_ONBOARDING_FEE);
    let rogue = network.rt.funded_keypair();
    let device = Keypair::new();
    let mut instruction = onboarding(
        operator.pubkey(),
        operator.pubkey(),
        device.pubkey(),
        SENSOR_CLASS,
        Some(rogue.pubkey()),
        CELL_A,
    );
    // The approved maker's record, signed by the rogue key.
    instruction.accounts[7].pubkey = registry::maker_address(&network.maker.pubkey());
    let outcome = network
        .rt
        .send(&[instruction], &[&operator, &device, &rogue]);
    assert_error(&outcome, RegistryError::MakerMismatch);
}

#[test]
fn invalid_h3_cells_are_refused_with_the_broken_field() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    for (location, expected) in [
        (0u64, RegistryError::LocationNotCellMode),
        (CELL_A | 1 << 63, RegistryError::LocationReservedBitSet),
        (CELL_A | 1 << 56, RegistryError::LocationModeBitsSet),
        (
            (CELL_A & !(0x7F << 45)) | 122 << 45,
            RegistryError::LocationBaseCellOutOfRange,
        ),
        (CELL_A | 0x7 << 9, RegistryError::LocationDigitOutOfRange),
        (
            CELL_A & !(0x7 << 6),
            RegistryError::LocationUnusedDigitNotSeven,
        ),
    ] {
        let (device, outcome) = network.onboard(&operator, HOTSPOT_CLASS, location);
        assert_error(&outcome, expected);
        assert!(network
            .rt
            .account(&registry::device_address(&device.pubkey()))
            .is_none());
    }
}

#[test]
fn a_cell_coarser_than_resolution_8_is_refused_at_onboarding_and_on_assertion() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE + HOTSPOT_LOCATION_FEE);
    // Valid H3 cells, at resolutions 7 and 0: no resolution-8 parent for the density cap.
    for coarse in [CELL_A_RES7, 0x8001fffffffffff] {
        let (device, outcome) = network.onboard(&operator, HOTSPOT_CLASS, coarse);
        assert_error(&outcome, RegistryError::LocationResolutionTooCoarse);
        assert!(network
            .rt
            .account(&registry::device_address(&device.pubkey()))
            .is_none());
    }

    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let key = operator.pubkey();
    let credits = network.credits(&key);
    let outcome = network.rt.send(
        &[registry::assert_location(
            &key,
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
            CELL_A_RES7,
        )],
        &[&operator],
    );
    assert_error(&outcome, RegistryError::LocationResolutionTooCoarse);
    let record = network.device(&device.pubkey());
    assert_eq!((record.location, record.location_assertions), (CELL_A, 1));
    assert_eq!(network.credits(&key), credits);
}

#[test]
fn cells_of_resolution_8_and_15_are_accepted() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE + HOTSPOT_LOCATION_FEE);
    let coarsest = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A_RES8);
    let finest = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A_RES15);
    assert_eq!(network.device(&coarsest.pubkey()).location, CELL_A_RES8);
    assert_eq!(network.device(&finest.pubkey()).location, CELL_A_RES15);

    let key = operator.pubkey();
    network.rt.send_ok(
        &[registry::assert_location(
            &key,
            &key,
            &coarsest.pubkey(),
            HOTSPOT_CLASS,
            CELL_A_RES15,
        )],
        &[&operator],
    );
    let record = network.device(&coarsest.pubkey());
    assert_eq!(
        (record.location, record.location_assertions),
        (CELL_A_RES15, 2)
    );
}

#[test]
fn the_fee_cannot_be_paid_from_someone_elses_credits() {
    let mut network = RegistryNetwork::launch();
    let victim = network.wallet_with_credits(HOTSPOT_ONBOARDING_FEE);
    let operator = network.operator(0);
    let victim_credits = network.credits(&victim.pubkey());
    let device = Keypair::new();
    let mut instruction = onboarding(
        operator.pubkey(),
        operator.pubkey(),
        device.pubkey(),
        HOTSPOT_CLASS,
        None,
        CELL_A,
    );
    instruction.accounts[10].pubkey = tokenomics_client::credit_account_address(&victim.pubkey());
    let outcome = network.rt.send(&[instruction], &[&operator, &device]);
    assert_error(&outcome, AnchorError::ConstraintTokenOwner);
    assert_eq!(network.credits(&victim.pubkey()), victim_credits);
}

#[test]
fn too_few_credits_for_the_fee_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let authority = network.authority.insecure_clone();
    let mut expensive = hotspot_class();
    expensive.onboarding_fee_credits = network.credits(&operator.pubkey()) + 1;
    network.rt.send_ok(
        &[registry::update_device_class(
            &authority.pubkey(),
            HOTSPOT_CLASS,
            expensive,
        )],
        &[&authority],
    );
    let (device, outcome) = network.onboard(&operator, HOTSPOT_CLASS, CELL_A);
    // Token-2022 InsufficientFunds = 1.
    assert_error(&outcome, 1u32);
    assert!(network
        .rt
        .account(&registry::device_address(&device.pubkey()))
        .is_none());
}

#[test]
fn moving_charges_the_location_fee_staying_does_not() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE + 2 * HOTSPOT_LOCATION_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let credits = network.credits(&operator.pubkey());
    let key = operator.pubkey();

    let landed = network.rt.send_ok(
        &[registry::assert_location(
            &key,
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
            CELL_B,
        )],
        &[&operator],
    );
    let event: LocationAsserted = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.payer,
            event.location_before,
            event.device.location,
            event.fee_burned_credits,
            event.device.location_assertions
        ),
        (key, CELL_A, CELL_B, HOTSPOT_LOCATION_FEE, 2)
    );
    assert_eq!(event.device, network.device(&device.pubkey()));
    assert_eq!(network.credits(&key), credits - HOTSPOT_LOCATION_FEE);

    let landed = network.rt.send_ok(
        &[registry::assert_location(
            &key,
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
            CELL_B,
        )],
        &[&operator],
    );
    let event: LocationAsserted = landed.event(&device_registry::ID);
    assert_eq!(
        (event.fee_burned_credits, event.device.location_assertions),
        (0, 3)
    );
    assert_eq!(network.credits(&key), credits - HOTSPOT_LOCATION_FEE);
    let record = network.device(&device.pubkey());
    assert_eq!((record.location, record.location_assertions), (CELL_B, 3));

    let outcome = network.rt.send(
        &[registry::assert_location(
            &key,
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
            CELL_B | 1 << 63,
        )],
        &[&operator],
    );
    assert_error(&outcome, RegistryError::LocationReservedBitSet);
}

#[test]
fn a_suspended_device_cannot_be_relocated_paid_transferred_or_deactivated() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE + HOTSPOT_LOCATION_FEE);
    let other = network.operator(0);
    let dapp = network.wallet_with_credits(1_000);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    network.suspend(&device.pubkey(), 7);
    let key = operator.pubkey();
    let dapp_credits = network.credits(&dapp.pubkey());

    let outcome = network.rt.send(
        &[registry::assert_location(
            &key,
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
            CELL_B,
        )],
        &[&operator],
    );
    assert_error(&outcome, RegistryError::DeviceSuspended);
    let outcome = network.rt.send(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            100,
        )],
        &[&dapp],
    );
    assert_error(&outcome, RegistryError::DeviceSuspended);
    let outcome = network.transfer(&operator, &other, &device.pubkey());
    assert_error(&outcome, RegistryError::DeviceSuspended);
    let outcome = network.rt.send(
        &[registry::deactivate_device(
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
        )],
        &[&operator],
    );
    assert_error(&outcome, RegistryError::DeviceSuspended);

    let record = network.device(&device.pubkey());
    assert_eq!(
        (record.location, record.credits_spent, record.operator),
        (CELL_A, 0, key)
    );
    assert_eq!(network.credits(&dapp.pubkey()), dapp_credits);
}

#[test]
fn an_operator_cannot_act_on_another_operators_device() {
    let mut network = RegistryNetwork::launch();
    let owner = network.operator(HOTSPOT_ONBOARDING_FEE);
    let intruder = network.operator(HOTSPOT_LOCATION_FEE);
    let device = network.onboard_ok(&owner, HOTSPOT_CLASS, CELL_A);
    let accomplice = network.operator(0);
    let key = intruder.pubkey();
    for instruction in [
        registry::assert_location(&key, &key, &device.pubkey(), HOTSPOT_CLASS, CELL_B),
        registry::set_reward_recipient(&key, &device.pubkey(), Some(key)),
        registry::deactivate_device(&key, &device.pubkey(), HOTSPOT_CLASS),
    ] {
        let outcome = network.rt.send(&[instruction], &[&intruder]);
        assert_error(&outcome, RegistryError::NotDeviceOperator);
    }
    // A willing receiver does not help: the holder must sign.
    let outcome = network.transfer(&intruder, &accomplice, &device.pubkey());
    assert_error(&outcome, RegistryError::NotDeviceOperator);
    let record = network.device(&device.pubkey());
    assert_eq!(
        (record.operator, record.location, record.reward_recipient),
        (owner.pubkey(), CELL_A, None)
    );
}

#[test]
fn a_device_can_have_its_own_reward_recipient() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let host = Pubkey::new_unique();
    let landed = network.rt.send_ok(
        &[registry::set_reward_recipient(
            &operator.pubkey(),
            &device.pubkey(),
            Some(host),
        )],
        &[&operator],
    );
    let event: RewardRecipientSet = landed.event(&device_registry::ID);
    assert_eq!(
        (event.reward_recipient_before, event.device.reward_recipient),
        (None, Some(host))
    );
    assert_eq!(event.device, network.device(&device.pubkey()));
    assert_eq!(
        network.device(&device.pubkey()).reward_recipient,
        Some(host)
    );
    network.rt.send_ok(
        &[registry::set_reward_recipient(
            &operator.pubkey(),
            &device.pubkey(),
            None,
        )],
        &[&operator],
    );
    assert_eq!(network.device(&device.pubkey()).reward_recipient, None);
}

#[test]
fn a_transfer_moves_the_device_and_clears_its_recipient() {
    let mut network = RegistryNetwork::launch();
    let seller = network.operator(HOTSPOT_ONBOARDING_FEE);
    let buyer = network.operator(HOTSPOT_LOCATION_FEE);
    let device = network.onboard_ok(&seller, HOTSPOT_CLASS, CELL_A);
    let host = Pubkey::new_unique();
    network.rt.send_ok(
        &[registry::set_reward_recipient(
            &seller.pubkey(),
            &device.pubkey(),
            Some(host),
        )],
        &[&seller],
    );

    let landed = network
        .transfer(&seller, &buyer, &device.pubkey())
        .expect("the buyer co-signed");
    let event: DeviceTransferred = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.operator_before,
            event.device.operator,
            event.reward_recipient_before
        ),
        (seller.pubkey(), buyer.pubkey(), Some(host))
    );
    let record = network.device(&device.pubkey());
    assert_eq!(
        (record.operator, record.reward_recipient),
        (buyer.pubkey(), None)
    );
    assert_eq!(network.operator_record(&seller.pubkey()).device_count, 0);
    assert_eq!(network.operator_record(&buyer.pubkey()).device_count, 1);
    // Both operators' records, as they are now.
    assert_eq!(event.device, record);
    assert_eq!(event.operator, network.operator_record(&seller.pubkey()));
    assert_eq!(event.new_operator, network.operator_record(&buyer.pubkey()));

    // The seller lost control; the buyer has it.
    let outcome = network.rt.send(
        &[registry::set_reward_recipient(
            &seller.pubkey(),
            &device.pubkey(),
            Some(host),
        )],
        &[&seller],
    );
    assert_error(&outcome, RegistryError::NotDeviceOperator);
    let key = buyer.pubkey();
    network.rt.send_ok(
        &[registry::assert_location(
            &key,
            &key,
            &device.pubkey(),
            HOTSPOT_CLASS,
            CELL_B,
        )],
        &[&buyer],
    );
}

#[test]
fn a_device_cannot_be_pushed_onto_an_operator_that_did_not_sign() {
    let mut network = RegistryNetwork::launch();
    let pusher = network.operator(HOTSPOT_ONBOARDING_FEE);
    let victim = network.operator(0);
    let device = network.onboard_ok(&pusher, HOTSPOT_CLASS, CELL_A);
    let mut instruction =
        registry::transfer_device(&pusher.pubkey(), &victim.pubkey(), &device.pubkey());
    // The receiver's signature withheld.
    instruction.accounts[2].is_signer = false;
    let outcome = network.rt.send(&[instruction], &[&pusher]);
    assert_error(&outcome, AnchorError::AccountNotSigner);
    assert_eq!(network.device(&device.pubkey()).operator, pusher.pubkey());
    assert_eq!(network.operator_record(&pusher.pubkey()).device_count, 1);
    assert_eq!(network.operator_record(&victim.pubkey()).device_count, 0);

    // With the receiver's signature (its consent), the same transfer lands.
    network
        .transfer(&pusher, &victim, &device.pubkey())
        .expect("the receiver co-signed");
    assert_eq!(network.device(&device.pubkey()).operator, victim.pubkey());
    assert_eq!(network.operator_record(&pusher.pubkey()).device_count, 0);
    assert_eq!(network.operator_record(&victim.pubkey()).device_count, 1);
}

#[test]
fn a_transfer_needs_a_registered_operator() {
    let mut network = RegistryNetwork::launch();
    let seller = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&seller, HOTSPOT_CLASS, CELL_A);
    let stranger = Keypair::new();
    let outcome = network.transfer(&seller, &stranger, &device.pubkey());
    assert_error(&outcome, AnchorError::AccountNotInitialized);
    assert_eq!(network.device(&device.pubkey()).operator, seller.pubkey());
}

#[test]
fn a_transfer_to_oneself_is_refused() {
    let mut network = RegistryNetwork::launch();
    let seller = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&seller, HOTSPOT_CLASS, CELL_A);
    let outcome = network.rt.send(
        &[registry::transfer_device(
            &seller.pubkey(),
            &seller.pubkey(),
            &device.pubkey(),
        )],
        &[&seller],
    );
    assert_error(&outcome, RegistryError::TransferToSelf);
    assert_eq!(network.device(&device.pubkey()).operator, seller.pubkey());
    assert_eq!(network.operator_record(&seller.pubkey()).device_count, 1);
}

#[test]
fn deactivation_returns_the_rent_and_frees_the_key() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(2 * HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let device_address = registry::device_address(&device.pubkey());
    let rent = network.rt.account(&device_address).unwrap().lamports;
    let last_state = network.device(&device.pubkey());
    let lamports_before = network.rt.account(&operator.pubkey()).unwrap().lamports;

    // The runtime's payer pays the fee, so the operator's balance moves by the rent only.
    let landed = network.rt.send_ok(
        &[registry::deactivate_device(
            &operator.pubkey(),
            &device.pubkey(),
            HOTSPOT_CLASS,
        )],
        &[&operator],
    );
    let event: DeviceDeactivated = landed.event(&device_registry::ID);
    assert_eq!(
        (event.device.device_key, event.rent_returned_lamports),
        (device.pubkey(), rent)
    );
    // The device's last state, and the counters as they are now.
    assert_eq!(event.device, last_state);
    assert_eq!(event.operator, network.operator_record(&operator.pubkey()));
    assert_eq!(event.device_class, network.device_class(HOTSPOT_CLASS));
    assert_eq!(event.registry, network.registry());
    assert!(network.rt.account(&device_address).is_none());
    assert_eq!(
        network.rt.account(&operator.pubkey()).unwrap().lamports,
        lamports_before + rent
    );
    assert_eq!(network.operator_record(&operator.pubkey()).device_count, 0);
    assert_eq!(network.device_class(HOTSPOT_CLASS).device_count, 0);
    assert_eq!(network.registry().device_count, 0);

    // The key can be onboarded again, fee and all, and starts from a clean record.
    let credits = network.credits(&operator.pubkey());
    network
        .onboard_key(&operator, &device, HOTSPOT_CLASS, CELL_B)
        .expect("onboarded again");
    assert_eq!(
        network.credits(&operator.pubkey()),
        credits - HOTSPOT_ONBOARDING_FEE
    );
    let record = network.device(&device.pubkey());
    assert_eq!(
        (
            record.location,
            record.location_assertions,
            record.credits_spent
        ),
        (CELL_B, 1, 0)
    );
}

#[test]
fn a_dapp_pays_for_service_with_its_own_credits() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let dapp = network.wallet_with_credits(10_000);
    let dapp_credits = network.credits(&dapp.pubkey());
    let supply = network.credit_supply();

    network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            1_200,
        )],
        &[&dapp],
    );
    let landed = network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            300,
        )],
        &[&dapp],
    );

    let event: ServicePaid = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.payer,
            event.credits,
            event.credits_spent_before,
            event.device.credits_spent
        ),
        (dapp.pubkey(), 300, 1_200, 1_500)
    );
    assert_eq!(event.device, network.device(&device.pubkey()));
    assert_eq!(network.device(&device.pubkey()).credits_spent, 1_500);
    assert_eq!(network.credits(&dapp.pubkey()), dapp_credits - 1_500);
    assert_eq!(network.credit_supply(), supply - 1_500);

    let outcome = network.rt.send(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            0,
        )],
        &[&dapp],
    );
    assert_error(&outcome, RegistryError::ZeroPayment);
}

#[test]
fn a_deactivated_device_cannot_be_paid() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    network.rt.send_ok(
        &[registry::deactivate_device(
            &operator.pubkey(),
            &device.pubkey(),
            HOTSPOT_CLASS,
        )],
        &[&operator],
    );
    let dapp = network.wallet_with_credits(100);
    let credits = network.credits(&dapp.pubkey());
    let outcome = network.rt.send(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            100,
        )],
        &[&dapp],
    );
    assert_error(&outcome, AnchorError::AccountNotInitialized);
    assert_eq!(network.credits(&dapp.pubkey()), credits);
}

#[test]
fn credits_spent_cannot_overflow() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    // A device whose counter is near the top (as after a very long life).
    let address = registry::device_address(&device.pubkey());
    let mut record = network.device(&device.pubkey());
    record.credits_spent = u64::MAX - 10;
    let mut data = Vec::new();
    record.try_serialize(&mut data).unwrap();
    network.rt.set_account(address, device_registry::ID, data);

    let dapp = network.wallet_with_credits(100);
    let credits = network.credits(&dapp.pubkey());
    let outcome = network.rt.send(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            11,
        )],
        &[&dapp],
    );
    assert_error(&outcome, RegistryError::MathOverflow);
    assert_eq!(network.credits(&dapp.pubkey()), credits);
    network.rt.send_ok(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            10,
        )],
        &[&dapp],
    );
    assert_eq!(network.device(&device.pubkey()).credits_spent, u64::MAX);
}

#[test]
fn a_device_record_breaking_its_invariant_is_not_written() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    // An active device carrying a suspension reason (a state no instruction produces).
    let address = registry::device_address(&device.pubkey());
    let mut record = network.device(&device.pubkey());
    record.suspension_reason = 5;
    let mut data = Vec::new();
    record.try_serialize(&mut data).unwrap();
    network.rt.set_account(address, device_registry::ID, data);

    let dapp = network.wallet_with_credits(100);
    let credits = network.credits(&dapp.pubkey());
    let outcome = network.rt.send(
        &[registry::pay_for_service(
            &dapp.pubkey(),
            &device.pubkey(),
            100,
        )],
        &[&dapp],
    );
    assert_error(&outcome, RegistryError::SuspensionReasonMismatch);
    assert_eq!(network.credits(&dapp.pubkey()), credits);
    assert_eq!(network.device(&device.pubkey()).credits_spent, 0);
}

#[test]
fn paying_from_someone_elses_credits_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let victim = network.wallet_with_credits(100);
    let thief = network.rt.funded_keypair();
    let mut instruction = registry::pay_for_service(&thief.pubkey(), &device.pubkey(), 100);
    instruction.accounts[4].pubkey = tokenomics_client::credit_account_address(&victim.pubkey());
    let outcome = network.rt.send(&[instruction], &[&thief]);
    assert_error(&outcome, AnchorError::ConstraintTokenOwner);
    assert_eq!(network.device(&device.pubkey()).credits_spent, 0);
}
