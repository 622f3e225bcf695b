use anchor_lang::error::ErrorCode as AnchorError;
use groundwork_client::tokenomics as client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, IMPOSTOR_RELAY_ID, TOKEN_PROGRAM_ID};
use groundwork_tests::*;
use tokenomics::errors::TokenomicsError;
use tokenomics::events::EpochEmissionMinted;
use tokenomics::{CircuitBreaker, NetEmissions, UpdateEmissionControlsArgsV0};

#[test]
fn the_reward_program_mints_the_scheduled_emission_into_its_vault() {
    let mut network = TokenomicsNetwork::launch_with_new_mint(TOKEN_PROGRAM_ID);
    let landed = network.mint_epoch(0).unwrap();

    assert_eq!(
        network.rt.token_balance(&network.reward_vault),
        FIRST_STEP_EMISSION
    );
    assert_eq!(network.supply(), FIRST_STEP_EMISSION);
    let config = network.config();
    assert_eq!(config.next_epoch_to_mint, 1);
    assert_eq!(config.minted_total, FIRST_STEP_EMISSION);
    assert_eq!(config.supply_at_last_mint, FIRST_STEP_EMISSION);
    let event: EpochEmissionMinted = landed.event(&tokenomics::ID);
    assert_eq!(
        (event.epoch, event.scheduled, event.minted, event.epoch_burn),
        (0, FIRST_STEP_EMISSION, FIRST_STEP_EMISSION, 0)
    );
    assert_eq!(
        (event.supply_before, event.supply_after),
        (0, FIRST_STEP_EMISSION)
    );
    assert!(!event.clamped_by_max_supply);
}

#[test]
fn the_schedule_step_changes_at_its_start_epoch() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    // A generous breaker so twelve epochs fit.
    network.rt.send_ok(
        &[client::update_emission_controls(
            &authority.pubkey(),
            UpdateEmissionControlsArgsV0 {
                net_emissions: NetEmissions {
                    cap_per_epoch: NET_EMISSIONS_CAP,
                    smoothing_bps: 5_000,
                },
                circuit_breaker: CircuitBreaker {
                    window_epochs: 1,
                    max_mint_per_window: FIRST_STEP_EMISSION,
                },
            },
        )],
        &[&authority],
    );
    let mut minted = Vec::new();
    for epoch in 0..12 {
        let landed = network.mint_epoch(epoch).unwrap();
        minted.push(landed.event::<EpochEmissionMinted>(&tokenomics::ID).minted);
    }
    assert_eq!(&minted[..10], &[FIRST_STEP_EMISSION; 10]);
    assert_eq!(&minted[10..], &[SECOND_STEP_EMISSION; 2]);
    assert_eq!(
        network.supply(),
        INITIAL_SUPPLY + 10 * FIRST_STEP_EMISSION + 2 * SECOND_STEP_EMISSION
    );
}

#[test]
fn the_same_epoch_cannot_be_minted_twice() {
    let mut network = TokenomicsNetwork::launch();
    network.mint_epoch(0).unwrap();
    assert_error(&network.mint_epoch(0), TokenomicsError::EpochNotNext);
    assert_eq!(
        network.rt.token_balance(&network.reward_vault),
        FIRST_STEP_EMISSION
    );
}

#[test]
fn epochs_cannot_be_skipped() {
    let mut network = TokenomicsNetwork::launch();
    assert_error(&network.mint_epoch(1), TokenomicsError::EpochNotNext);
    assert_eq!(network.supply(), INITIAL_SUPPLY);
}

#[test]
fn a_user_cannot_call_the_epoch_mint_directly() {
    let mut network = TokenomicsNetwork::launch();
    let user = network.rt.funded_keypair();
    let instruction = client::mint_epoch_emission(
        &user.pubkey(),
        network.network_token,
        &network.reward_vault,
        0,
    );
    let outcome = network.rt.send(&[instruction], &[&user]);
    assert_error(&outcome, AnchorError::ConstraintHasOne);
    assert_eq!(network.supply(), INITIAL_SUPPLY);
}

#[test]
fn the_real_minter_address_without_its_signature_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let mut instruction = client::mint_epoch_emission(
        &client::epoch_minter_address(&groundwork_harness::EPOCH_MINTER_RELAY_ID),
        network.network_token,
        &network.reward_vault,
        0,
    );
    instruction.accounts[1].is_signer = false;
    let outcome = network.rt.send(&[instruction], &[]);
    assert_error(&outcome, AnchorError::AccountNotSigner);
    assert_eq!(network.supply(), INITIAL_SUPPLY);
}

#[test]
fn a_fake_reward_program_cannot_mint() {
    let mut network = TokenomicsNetwork::launch();
    let outcome = network.mint_epoch_via(IMPOSTOR_RELAY_ID, 0);
    assert_error(&outcome, AnchorError::ConstraintHasOne);
    assert_eq!(network.supply(), INITIAL_SUPPLY);
    assert_eq!(network.config().next_epoch_to_mint, 0);
}

#[test]
fn a_vault_of_another_mint_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let other_authority = network.rt.funded_keypair();
    let other_mint = network
        .rt
        .create_mint(&TOKEN_PROGRAM_ID, 6, &other_authority.pubkey(), None);
    let minter = client::epoch_minter_address(&groundwork_harness::EPOCH_MINTER_RELAY_ID);
    let wrong_vault = network
        .rt
        .token_account(&minter, &other_mint, &TOKEN_PROGRAM_ID);
    let inner = client::mint_epoch_emission(&minter, network.network_token, &wrong_vault, 0);
    let outcome = network.rt.send(
        &[groundwork_harness::through_relay(
            groundwork_harness::EPOCH_MINTER_RELAY_ID,
            inner,
        )],
        &[],
    );
    assert_error(&outcome, AnchorError::ConstraintTokenMint);
}

#[test]
fn burns_are_measured_from_supply_and_re_emitted_up_to_the_cap() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.holder(1_000_000 * GWK);
    // Epoch 0: 10,000 GWK burned; smoothed at 50% = 5,000 GWK re-emitted.
    network.buy_credits(&buyer, 10_000 * GWK, 0).unwrap();
    let landed = network.mint_epoch(0).unwrap();
    let event: EpochEmissionMinted = landed.event(&tokenomics::ID);
    assert_eq!(
        (
            event.epoch_burn,
            event.smoothed_burn_after,
            event.net_emission
        ),
        (10_000 * GWK, 5_000 * GWK, 5_000 * GWK)
    );
    assert_eq!(event.minted, FIRST_STEP_EMISSION + 5_000 * GWK);

    // Epoch 1: 300,000 GWK burned; smoothed = (5,000 + 300,000) / 2 = 152,500, capped at 50,000.
    network.buy_credits(&buyer, 300_000 * GWK, 0).unwrap();
    let event: EpochEmissionMinted = network.mint_epoch(1).unwrap().event(&tokenomics::ID);
    assert_eq!(
        (
            event.epoch_burn,
            event.smoothed_burn_after,
            event.net_emission
        ),
        (300_000 * GWK, 152_500 * GWK, NET_EMISSIONS_CAP)
    );
    assert_eq!(event.minted, FIRST_STEP_EMISSION + NET_EMISSIONS_CAP);

    // Epoch 2: nothing burned; the average decays to 76,250, still above the cap.
    let event: EpochEmissionMinted = network.mint_epoch(2).unwrap().event(&tokenomics::ID);
    assert_eq!(
        (event.epoch_burn, event.smoothed_burn_after),
        (0, 76_250 * GWK)
    );

    let config = network.config();
    assert_eq!(config.burned_total, 310_000 * GWK);
    assert_eq!(
        config.minted_total,
        3 * FIRST_STEP_EMISSION + 5_000 * GWK + 2 * NET_EMISSIONS_CAP
    );
    assert_eq!(
        network.supply(),
        INITIAL_SUPPLY + config.minted_total - config.burned_total
    );
}

#[test]
fn a_mint_never_takes_supply_past_max_supply() {
    // Only 1.5 epochs of headroom.
    let mut network = TokenomicsNetwork::launch_adopting(TOKEN_PROGRAM_ID, |mut args| {
        args.max_supply = INITIAL_SUPPLY + FIRST_STEP_EMISSION + FIRST_STEP_EMISSION / 2;
        args
    });
    network.mint_epoch(0).unwrap();
    let event: EpochEmissionMinted = network.mint_epoch(1).unwrap().event(&tokenomics::ID);
    assert_eq!(event.minted, FIRST_STEP_EMISSION / 2);
    assert!(event.clamped_by_max_supply);
    assert_eq!(network.supply(), network.config().max_supply);

    // Epoch 2 mints nothing, but is recorded: the epoch cannot be minted again later.
    let event: EpochEmissionMinted = network.mint_epoch(2).unwrap().event(&tokenomics::ID);
    assert_eq!(event.minted, 0);
    assert_eq!(network.config().next_epoch_to_mint, 3);

    // A burn frees headroom, and the next epoch re-fills exactly up to it.
    let buyer = network.holder(100 * GWK);
    network.buy_credits(&buyer, 100 * GWK, 0).unwrap();
    let event: EpochEmissionMinted = network.mint_epoch(3).unwrap().event(&tokenomics::ID);
    assert_eq!(event.minted, 100 * GWK);
    assert_eq!(network.supply(), network.config().max_supply);
}

#[test]
fn the_circuit_breaker_refuses_a_window_over_its_cap_until_the_authority_acts() {
    // Window of 3 epochs capped at 2.5 epochs' worth.
    let mut network = TokenomicsNetwork::launch_adopting(TOKEN_PROGRAM_ID, |mut args| {
        args.circuit_breaker = CircuitBreaker {
            window_epochs: 3,
            max_mint_per_window: FIRST_STEP_EMISSION * 5 / 2,
        };
        args
    });
    network.mint_epoch(0).unwrap();
    network.mint_epoch(1).unwrap();
    assert_error(
        &network.mint_epoch(2),
        TokenomicsError::CircuitBreakerTripped,
    );
    assert_eq!(network.supply(), INITIAL_SUPPLY + 2 * FIRST_STEP_EMISSION);
    assert_eq!(network.config().next_epoch_to_mint, 2);

    let authority = network.authority.insecure_clone();
    network.rt.send_ok(
        &[client::update_emission_controls(
            &authority.pubkey(),
            UpdateEmissionControlsArgsV0 {
                net_emissions: NetEmissions {
                    cap_per_epoch: NET_EMISSIONS_CAP,
                    smoothing_bps: 5_000,
                },
                circuit_breaker: CircuitBreaker {
                    window_epochs: 3,
                    max_mint_per_window: FIRST_STEP_EMISSION * 3,
                },
            },
        )],
        &[&authority],
    );
    network.mint_epoch(2).unwrap();
    assert_eq!(network.supply(), INITIAL_SUPPLY + 3 * FIRST_STEP_EMISSION);
}

#[test]
fn extreme_schedules_clamp_to_max_supply_without_overflow() {
    let mut network = TokenomicsNetwork::launch_adopting(TOKEN_PROGRAM_ID, |mut args| {
        args.max_supply = u64::MAX;
        args.emission_schedule = vec![tokenomics::EmissionStep {
            start_epoch: 0,
            tokens_per_epoch: u64::MAX,
        }];
        args.net_emissions = NetEmissions {
            cap_per_epoch: u64::MAX,
            smoothing_bps: 10_000,
        };
        args.circuit_breaker = CircuitBreaker {
            window_epochs: 1,
            max_mint_per_window: u64::MAX,
        };
        args
    });
    let buyer = network.holder(GWK);
    network.buy_credits(&buyer, GWK, 0).unwrap();
    let event: EpochEmissionMinted = network.mint_epoch(0).unwrap().event(&tokenomics::ID);
    assert!(event.clamped_by_max_supply);
    assert_eq!(network.supply(), u64::MAX);
    let event: EpochEmissionMinted = network.mint_epoch(1).unwrap().event(&tokenomics::ID);
    assert_eq!(event.minted, 0);
    assert_eq!(network.supply(), u64::MAX);
}
