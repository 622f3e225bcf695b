use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use device_registry::errors::RegistryError;
use device_registry::events::{OperatorRegistered, OperatorUpdated};
use device_registry::{RegisterOperatorArgsV0, UpdateOperatorArgsV0};
use groundwork_client::device_registry as registry;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, custom_error_code};
use groundwork_tests::*;

#[test]
fn a_wallet_registers_as_an_operator_once() {
    let mut network = RegistryNetwork::launch();
    let wallet = network.rt.funded_keypair();
    let recipient = Pubkey::new_unique();
    let args = RegisterOperatorArgsV0 {
        reward_recipient: recipient,
        metadata_uri: "https://example.org/op.json".into(),
    };
    let landed = network.rt.send_ok(
        &[registry::register_operator(&wallet.pubkey(), args.clone())],
        &[&wallet],
    );

    let record = network.operator_record(&wallet.pubkey());
    assert_eq!(
        (
            record.authority,
            record.reward_recipient,
            record.device_count
        ),
        (wallet.pubkey(), recipient, 0)
    );
    assert_eq!(record.metadata_uri, "https://example.org/op.json");
    assert_eq!(record.registered_at, network.rt.clock().unix_timestamp);
    assert_eq!(network.registry().operator_count, 1);
    let event: OperatorRegistered = landed.event(&device_registry::ID);
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(event.operator, record);
    assert_eq!(event.registry, network.registry());

    let outcome = network.rt.send(
        &[registry::register_operator(&wallet.pubkey(), args)],
        &[&wallet],
    );
    assert_eq!(
        custom_error_code(&outcome),
        Some(0),
        "system program: account already in use"
    );
    assert_eq!(network.registry().operator_count, 1);
}

#[test]
fn a_metadata_uri_over_200_bytes_is_refused() {
    let mut network = RegistryNetwork::launch();
    let wallet = network.rt.funded_keypair();
    let args = RegisterOperatorArgsV0 {
        reward_recipient: wallet.pubkey(),
        metadata_uri: "u".repeat(201),
    };
    let outcome = network.rt.send(
        &[registry::register_operator(&wallet.pubkey(), args)],
        &[&wallet],
    );
    assert_error(&outcome, RegistryError::MetadataUriTooLong);

    let operator = network.operator(0);
    let update = UpdateOperatorArgsV0 {
        reward_recipient: None,
        metadata_uri: Some("u".repeat(201)),
    };
    let outcome = network.rt.send(
        &[registry::update_operator(&operator.pubkey(), update)],
        &[&operator],
    );
    assert_error(&outcome, RegistryError::MetadataUriTooLong);
}

#[test]
fn an_operator_updates_what_it_names_and_keeps_the_rest() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(0);
    let new_recipient = Pubkey::new_unique();
    let landed = network.rt.send_ok(
        &[registry::update_operator(
            &operator.pubkey(),
            UpdateOperatorArgsV0 {
                reward_recipient: Some(new_recipient),
                metadata_uri: None,
            },
        )],
        &[&operator],
    );
    let event: OperatorUpdated = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.reward_recipient_before,
            event.operator.reward_recipient
        ),
        (operator.pubkey(), new_recipient)
    );
    assert_eq!(
        (
            event.metadata_uri_before.as_str(),
            event.operator.metadata_uri.as_str()
        ),
        ("", "")
    );
    assert_eq!(event.operator, network.operator_record(&operator.pubkey()));

    let landed = network.rt.send_ok(
        &[registry::update_operator(
            &operator.pubkey(),
            UpdateOperatorArgsV0 {
                reward_recipient: None,
                metadata_uri: Some("ipfs://meta".into()),
            },
        )],
        &[&operator],
    );
    let record = network.operator_record(&operator.pubkey());
    assert_eq!(
        (record.reward_recipient, record.metadata_uri.as_str()),
        (new_recipient, "ipfs://meta")
    );
    let event: OperatorUpdated = landed.event(&device_registry::ID);
    assert_eq!(
        (
            event.reward_recipient_before,
            event.metadata_uri_before.as_str()
        ),
        (new_recipient, "")
    );
    assert_eq!(event.operator, record);
}

#[test]
fn a_wallet_cannot_update_another_operator() {
    let mut network = RegistryNetwork::launch();
    let victim = network.operator(0);
    let intruder = network.operator(0);
    let mut instruction = registry::update_operator(
        &intruder.pubkey(),
        UpdateOperatorArgsV0 {
            reward_recipient: Some(intruder.pubkey()),
            metadata_uri: None,
        },
    );
    // The victim's record in place of the intruder's.
    instruction.accounts[1].pubkey = registry::operator_address(&victim.pubkey());
    let outcome = network.rt.send(&[instruction], &[&intruder]);
    assert_error(&outcome, AnchorError::ConstraintSeeds);
    assert_eq!(
        network.operator_record(&victim.pubkey()).reward_recipient,
        victim.pubkey()
    );
}
