//! Accounts of the right shape but the wrong owner or the wrong type, substituted for the
//! config, the operator or the device.

use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use groundwork_client::device_registry as registry;
use groundwork_harness::assert_error;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;

/// Copies the account at `original` to a new address owned by `owner`; returns the address.
fn clone_owned_by(network: &mut RegistryNetwork, original: &Pubkey, owner: Pubkey) -> Pubkey {
    let data = network.rt.account(original).unwrap().data;
    let copy = Pubkey::new_unique();
    network.rt.set_account(copy, owner, data);
    copy
}

#[test]
fn a_config_copy_owned_by_another_program_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let forged = clone_owned_by(
        &mut network,
        &registry::registry_config_address(),
        Pubkey::new_unique(),
    );
    let device = groundwork_harness::solana_keypair::Keypair::new();
    let mut instruction = onboarding(
        operator.pubkey(),
        operator.pubkey(),
        device.pubkey(),
        HOTSPOT_CLASS,
        None,
        CELL_A,
    );
    instruction.accounts[8].pubkey = forged;
    let outcome = network.rt.send(&[instruction], &[&operator, &device]);
    assert_error(&outcome, AnchorError::AccountOwnedByWrongProgram);
}

#[test]
fn a_device_copy_owned_by_another_program_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let forged = clone_owned_by(
        &mut network,
        &registry::device_address(&device.pubkey()),
        Pubkey::new_unique(),
    );
    let dapp = network.wallet_with_credits(100);
    let mut instruction = registry::pay_for_service(&dapp.pubkey(), &device.pubkey(), 100);
    instruction.accounts[1].pubkey = forged;
    let outcome = network.rt.send(&[instruction], &[&dapp]);
    assert_error(&outcome, AnchorError::AccountOwnedByWrongProgram);
}

#[test]
fn a_device_copy_at_another_address_of_this_program_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let forged = clone_owned_by(
        &mut network,
        &registry::device_address(&device.pubkey()),
        device_registry::ID,
    );
    let dapp = network.wallet_with_credits(100);
    let mut instruction = registry::pay_for_service(&dapp.pubkey(), &device.pubkey(), 100);
    instruction.accounts[1].pubkey = forged;
    let outcome = network.rt.send(&[instruction], &[&dapp]);
    assert_error(&outcome, AnchorError::ConstraintSeeds);
}

#[test]
fn an_account_of_another_type_in_place_of_the_device_is_refused() {
    let mut network = RegistryNetwork::launch();
    let operator = network.operator(HOTSPOT_ONBOARDING_FEE);
    let device = network.onboard_ok(&operator, HOTSPOT_CLASS, CELL_A);
    let dapp = network.wallet_with_credits(100);
    let mut instruction = registry::pay_for_service(&dapp.pubkey(), &device.pubkey(), 100);
    // The operator record (same program, other type) as the device.
    instruction.accounts[1].pubkey = registry::operator_address(&operator.pubkey());
    let outcome = network.rt.send(&[instruction], &[&dapp]);
    assert_error(&outcome, AnchorError::AccountDiscriminatorMismatch);
}

#[test]
fn an_account_of_another_type_in_place_of_the_operator_is_refused() {
    let mut network = RegistryNetwork::launch();
    let seller = network.operator(HOTSPOT_ONBOARDING_FEE);
    let buyer = network.operator(0);
    let device = network.onboard_ok(&seller, HOTSPOT_CLASS, CELL_A);
    let mut instruction =
        registry::transfer_device(&seller.pubkey(), &buyer.pubkey(), &device.pubkey());
    // A device class (same program, other type) as the new operator's record.
    instruction.accounts[3].pubkey = registry::device_class_address(HOTSPOT_CLASS);
    let outcome = network.rt.send(&[instruction], &[&seller, &buyer]);
    assert_error(&outcome, AnchorError::AccountDiscriminatorMismatch);
    assert_eq!(network.device(&device.pubkey()).operator, seller.pubkey());
}

#[test]
fn an_operator_copy_owned_by_another_program_is_refused() {
    let mut network = RegistryNetwork::launch();
    let seller = network.operator(HOTSPOT_ONBOARDING_FEE);
    let buyer = network.operator(0);
    let device = network.onboard_ok(&seller, HOTSPOT_CLASS, CELL_A);
    let forged = clone_owned_by(
        &mut network,
        &registry::operator_address(&buyer.pubkey()),
        Pubkey::new_unique(),
    );
    let mut instruction =
        registry::transfer_device(&seller.pubkey(), &buyer.pubkey(), &device.pubkey());
    instruction.accounts[3].pubkey = forged;
    let outcome = network.rt.send(&[instruction], &[&seller, &buyer]);
    assert_error(&outcome, AnchorError::AccountOwnedByWrongProgram);
    assert_eq!(network.device(&device.pubkey()).operator, seller.pubkey());
}
