use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use device_registry::errors::RegistryError;
use device_registry::events::{
    AuthorityTransferAccepted, AuthorityTransferProposed, DeviceClassAdded, DeviceClassUpdated,
    DeviceStatusChanged, MakerApprovalChanged, RegistryInitialized,
};
use device_registry::{DeviceStatus, MakerV0};
use groundwork_client::device_registry as registry;
use groundwork_client::tokenomics as tokenomics_client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, TOKEN_2022_PROGRAM_ID};
use groundwork_tests::*;

#[test]
fn the_registry_records_authority_and_credit_mint() {
    let mut network = TokenomicsNetwork::launch();
    let deployer = network.rt.deployer.insecure_clone();
    let authority = network.authority.pubkey();
    let landed = network.rt.send_ok(
        &[registry::initialize_registry(&deployer.pubkey(), authority)],
        &[&deployer],
    );
    let config: device_registry::RegistryConfigV0 = network
        .rt
        .anchor_account(&registry::registry_config_address());
    assert_eq!(config.authority, authority);
    assert_eq!(config.credit_mint, tokenomics_client::credit_mint_address());
    assert_eq!(
        (
            config.device_class_count,
            config.operator_count,
            config.device_count
        ),
        (0, 0, 0)
    );
    let event: RegistryInitialized = landed.event(&device_registry::ID);
    assert_eq!(
        (event.unix_timestamp, event.deployer),
        (network.rt.clock().unix_timestamp, deployer.pubkey())
    );
    assert_eq!(event.registry, config);
}

#[test]
fn the_credit_mint_must_be_the_tokenomics_credit_mint() {
    let mut network = TokenomicsNetwork::launch();
    let deployer = network.rt.deployer.insecure_clone();
    // A Token-2022 mint of the deployer's own, passing every mint check but not tokenomics'.
    let own_mint = network
        .rt
        .create_mint(&TOKEN_2022_PROGRAM_ID, 0, &deployer.pubkey(), None);
    let mut instruction = registry::initialize_registry(&deployer.pubkey(), deployer.pubkey());
    instruction.accounts[3].pubkey = own_mint;
    let outcome = network.rt.send(&[instruction], &[&deployer]);
    assert_error(&outcome, RegistryError::CreditMintMismatch);
    assert!(network
        .rt
        .account(&registry::registry_config_address())
        .is_none());
}

#[test]
fn a_forged_tokenomics_config_naming_another_mint_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let deployer = network.rt.deployer.insecure_clone();
    let own_mint = network
        .rt
        .create_mint(&TOKEN_2022_PROGRAM_ID, 0, &deployer.pubkey(), None);
    // A copy of the tokenomics config naming the deployer's mint, at another address.
    let mut forged = network.config();
    forged.credit_mint = own_mint;
    let mut data = Vec::new();
    forged.try_serialize(&mut data).unwrap();
    for owner in [tokenomics::ID, Pubkey::new_unique()] {
        let forged_address = Pubkey::new_unique();
        network.rt.set_account(forged_address, owner, data.clone());
        let mut instruction = registry::initialize_registry(&deployer.pubkey(), deployer.pubkey());
        instruction.accounts[3].pubkey = own_mint;
        instruction.accounts[4].pubkey = forged_address;
        let outcome = network.rt.send(&[instruction], &[&deployer]);
        let expected = if owner == tokenomics::ID {
            AnchorError::ConstraintSeeds
        } else {
            AnchorError::AccountOwnedByWrongProgram
        };
        assert_error(&outcome, expected);
    }
    assert!(network
        .rt
        .account(&registry::registry_config_address())
        .is_none());
}

#[test]
fn only_the_upgrade_authority_initializes_the_registry() {
    let mut network = TokenomicsNetwork::launch();
    let intruder = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[registry::initialize_registry(
            &intruder.pubkey(),
            intruder.pubkey(),
        )],
        &[&intruder],
    );
    assert_error(&outcome, RegistryError::NotUpgradeAuthority);
}

#[test]
fn the_credit_mint_must_be_a_token_2022_mint() {
    let mut network = TokenomicsNetwork::launch();
    let deployer = network.rt.deployer.insecure_clone();
    let mut instruction = registry::initialize_registry(&deployer.pubkey(), deployer.pubkey());
    // The classic-token network mint in place of the credit mint.
    instruction.accounts[3].pubkey = network.network_token.mint;
    let outcome = network.rt.send(&[instruction], &[&deployer]);
    assert_error(&outcome, AnchorError::ConstraintMintTokenProgram);
}

#[test]
fn classes_are_numbered_in_order_and_evented() {
    let mut network = RegistryNetwork::launch();
    assert_eq!(network.registry().device_class_count, 2);
    let hotspot = network.device_class(HOTSPOT_CLASS);
    assert_eq!(
        (
            hotspot.class_id,
            hotspot.name.as_str(),
            hotspot.onboarding_fee_credits
        ),
        (0, "outdoor-hotspot", HOTSPOT_ONBOARDING_FEE)
    );
    let sensor = network.device_class(SENSOR_CLASS);
    assert!(sensor.maker_attestation_required);
    assert_eq!(sensor.reward_weight_bps, 2_500);

    let authority = network.authority.insecure_clone();
    let mut params = hotspot_class();
    params.name = "compute-node".to_string();
    let landed = network.rt.send_ok(
        &[registry::add_device_class(
            &authority.pubkey(),
            2,
            params.clone(),
        )],
        &[&authority],
    );
    let event: DeviceClassAdded = landed.event(&device_registry::ID);
    assert_eq!(
        (event.device_class.class_id, event.device_class.params()),
        (2, params)
    );
    assert_eq!(event.device_class, network.device_class(2));
    assert_eq!(event.registry, network.registry());
    assert_eq!(network.registry().device_class_count, 3);
}

#[test]
fn a_class_out_of_order_is_refused() {
    let mut network = RegistryNetwork::launch();
    let authority = network.authority.insecure_clone();
    let outcome = network.rt.send(
        &[registry::add_device_class(
            &authority.pubkey(),
            5,
            hotspot_class(),
        )],
        &[&authority],
    );
    assert_error(&outcome, AnchorError::ConstraintSeeds);
}

#[test]
fn class_parameters_are_validated() {
    let mut network = RegistryNetwork::launch();
    let authority = network.authority.insecure_clone();
    for (params, expected) in [
        (
            DeviceClassParamsBuilder::name(""),
            RegistryError::InvalidClassName,
        ),
        (
            DeviceClassParamsBuilder::name(&"x".repeat(33)),
            RegistryError::InvalidClassName,
        ),
        (
            DeviceClassParamsBuilder::weight(0),
            RegistryError::InvalidRewardWeight,
        ),
    ] {
        let outcome = network.rt.send(
            &[registry::add_device_class(
                &authority.pubkey(),
                2,
                params.clone(),
            )],
            &[&authority],
        );
        assert_error(&outcome, expected);
        let outcome = network.rt.send(
            &[registry::update_device_class(
                &authority.pubkey(),
                0,
                params,
            )],
            &[&authority],
        );
        assert_error(&outcome, expected);
    }
    assert_eq!(network.device_class(HOTSPOT_CLASS).name, "outdoor-hotspot");
}

/// Variations of the hotspot class.
struct DeviceClassParamsBuilder;

impl DeviceClassParamsBuilder {
    fn name(name: &str) -> device_registry::DeviceClassParams {
        device_registry::DeviceClassParams {
            name: name.to_string(),
            ..hotspot_class()
        }
    }
    fn weight(reward_weight_bps: u16) -> device_registry::DeviceClassParams {
        device_registry::DeviceClassParams {
            reward_weight_bps,
            ..hotspot_class()
        }
    }
}

#[test]
fn the_authority_updates_a_class_with_before_and_after() {
    let mut network = RegistryNetwork::launch();
    let authority = network.authority.insecure_clone();
    let mut params = hotspot_class();
    params.onboarding_fee_credits = 1;
    params.maker_attestation_required = true;
    let landed = network.rt.send_ok(
        &[registry::update_device_class(
            &authority.pubkey(),
            HOTSPOT_CLASS,
            params.clone(),
        )],
        &[&authority],
    );
    let event: DeviceClassUpdated = landed.event(&device_registry::ID);
    assert_eq!(
        (event.before, event.device_class.params()),
        (hotspot_class(), params)
    );
    assert_eq!(event.device_class, network.device_class(HOTSPOT_CLASS));
    assert_eq!(
        network.device_class(HOTSPOT_CLASS).onboarding_fee_credits,
        1
    );
}

#[test]
fn only_the_authority_manages_classes_makers_and_suspensions() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let intruder = network.rt.funded_keypair();
    let key = intruder.pubkey();
    for instruction in [
        registry::add_device_class(&key, 2, hotspot_class()),
        registry::update_device_class(&key, 0, hotspot_class()),
        registry::approve_maker(&key, key),
        registry::revoke_maker(&key, &network.maker.pubkey()),
        registry::suspend_device(&key, &device.pubkey(), 9),
    ] {
        let outcome = network.rt.send(&[instruction], &[&intruder]);
        assert_error(&outcome, RegistryError::NotAuthority);
    }
    assert!(network.device(&device.pubkey()).is_active());
}

#[test]
fn makers_are_approved_revoked_and_re_approved() {
    let mut network = RegistryNetwork::launch();
    let authority = network.authority.insecure_clone();
    let maker = network.maker.pubkey();
    let landed = network.rt.send_ok(
        &[registry::revoke_maker(&authority.pubkey(), &maker)],
        &[&authority],
    );
    let event: MakerApprovalChanged = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.maker.maker,
            event.approved_before,
            event.maker.approved
        ),
        (maker, true, false)
    );
    let record: MakerV0 = network.rt.anchor_account(&registry::maker_address(&maker));
    assert!(!record.approved);
    assert_eq!(event.maker, record);

    let landed = network.rt.send_ok(
        &[registry::approve_maker(&authority.pubkey(), maker)],
        &[&authority],
    );
    let event: MakerApprovalChanged = landed.event(&device_registry::ID);
    assert_eq!((event.approved_before, event.maker.approved), (false, true));
    let record: MakerV0 = network.rt.anchor_account(&registry::maker_address(&maker));
    assert!(record.approved);
    assert_eq!(event.maker, record);
}

#[test]
fn suspension_and_reinstatement_carry_a_reason() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let authority = network.authority.insecure_clone();

    let landed = network.suspend(&device.pubkey(), 42);
    let event: DeviceStatusChanged = landed.event(&device_registry::ID);
    assert_eq!(
        (event.status_before, event.reason_before),
        (DeviceStatus::Active, 0)
    );
    let record = network.device(&device.pubkey());
    assert_eq!(
        (record.status, record.suspension_reason),
        (DeviceStatus::Suspended, 42)
    );
    assert_eq!(event.device, record);

    let outcome = network.rt.send(
        &[registry::suspend_device(
            &authority.pubkey(),
            &device.pubkey(),
            43,
        )],
        &[&authority],
    );
    assert_error(&outcome, RegistryError::DeviceSuspended);

    let landed = network.rt.send_ok(
        &[registry::reinstate_device(
            &authority.pubkey(),
            &device.pubkey(),
        )],
        &[&authority],
    );
    let event: DeviceStatusChanged = landed.event(&device_registry::ID);
    assert_eq!(
        (event.status_before, event.reason_before),
        (DeviceStatus::Suspended, 42)
    );
    let record = network.device(&device.pubkey());
    assert_eq!(
        (record.status, record.suspension_reason),
        (DeviceStatus::Active, 0)
    );
    assert_eq!(event.device, record);

    let outcome = network.rt.send(
        &[registry::reinstate_device(
            &authority.pubkey(),
            &device.pubkey(),
        )],
        &[&authority],
    );
    assert_error(&outcome, RegistryError::DeviceNotSuspended);
}

#[test]
fn a_suspension_without_a_reason_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let authority = network.authority.insecure_clone();
    let outcome = network.rt.send(
        &[registry::suspend_device(
            &authority.pubkey(),
            &device.pubkey(),
            0,
        )],
        &[&authority],
    );
    assert_error(&outcome, RegistryError::ZeroSuspensionReason);
    let record = network.device(&device.pubkey());
    assert_eq!(
        (record.status, record.suspension_reason),
        (DeviceStatus::Active, 0)
    );
}

#[test]
fn the_registry_authority_moves_in_two_steps() {
    let mut network = RegistryNetwork::launch();
    let authority = network.authority.insecure_clone();
    let successor = network.rt.funded_keypair();
    let stranger = network.rt.funded_keypair();

    let outcome = network.rt.send(
        &[registry::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    assert_error(&outcome, RegistryError::NoPendingAuthority);
    let outcome = network.rt.send(
        &[registry::transfer_authority(
            &stranger.pubkey(),
            Some(stranger.pubkey()),
        )],
        &[&stranger],
    );
    assert_error(&outcome, RegistryError::NotAuthority);

    let landed = network.rt.send_ok(
        &[registry::transfer_authority(
            &authority.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&authority],
    );
    let event: AuthorityTransferProposed = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.unix_timestamp,
            event.authority,
            event.pending_before,
            event.pending_after
        ),
        (
            network.rt.clock().unix_timestamp,
            authority.pubkey(),
            None,
            Some(successor.pubkey())
        )
    );
    let config = network.registry();
    assert_eq!(
        (config.authority, config.pending_authority),
        (authority.pubkey(), Some(successor.pubkey()))
    );
    let outcome = network.rt.send(
        &[registry::accept_authority(&stranger.pubkey())],
        &[&stranger],
    );
    assert_error(&outcome, RegistryError::NotPendingAuthority);

    let landed = network.rt.send_ok(
        &[registry::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    let event: AuthorityTransferAccepted = landed.event(&device_registry::ID);
    assert_eq!(
        (event.authority_before, event.authority_after),
        (authority.pubkey(), successor.pubkey())
    );
    let config = network.registry();
    assert_eq!(
        (config.authority, config.pending_authority),
        (successor.pubkey(), None)
    );
    let outcome = network.rt.send(
        &[registry::add_device_class(
            &authority.pubkey(),
            2,
            hotspot_class(),
        )],
        &[&authority],
    );
    assert_error(&outcome, RegistryError::NotAuthority);
    network.rt.send_ok(
        &[registry::add_device_class(
            &successor.pubkey(),
            2,
            hotspot_class(),
        )],
        &[&successor],
    );
}
