use anchor_lang::error::ErrorCode as AnchorError;
use groundwork_client::tokenomics as client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, IMPOSTOR_RELAY_ID, TOKEN_PROGRAM_ID};
use groundwork_tests::*;
use tokenomics::errors::TokenomicsError;
use tokenomics::events::EpochEmissionMinted;
use tokenomics::{CircuitBreaker, NetEmissions, UpdateEmissionControlsArgsV0};

/// The emission controls of the default network with another circuit breaker.
fn breaker(window_epochs: u16, max_mint_per_window: u64) -> UpdateEmissionControlsArgsV0 {
    UpdateEmissionControlsArgsV0 {
        net_emissions: NetEmissions {
            cap_per_epoch: NET_EMISSIONS_CAP,
            smoothing_bps: 5_000,
        },
        circuit_breaker: CircuitBreaker {
            window_epochs,
            max_mint_per_window,
        },
    }
}

#[test]
fn the_reward_program_mints_the_scheduled_emission_into_its_vault() {
    let mut network = TokenomicsNetwork::launch_with_new_mint(TOKEN_PROGRAM_ID);
    network.rt.advance_seconds(1_234);
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
    // The default breaker (8M GWK over 7 epochs) leaves the whole cap to epoch 0.
    assert_eq!(
        (event.before_breaker, event.window_headroom),
        (FIRST_STEP_EMISSION, 8_000_000 * GWK)
    );
    assert!(!event.clamped_by_circuit_breaker);
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(
        (
            event.minted_total,
            event.burned_total,
            event.next_epoch_to_mint
        ),
        (FIRST_STEP_EMISSION, 0, 1)
    );
}

#[test]
fn the_schedule_step_changes_at_its_start_epoch() {
    let mut network = TokenomicsNetwork::launch();
    // A breaker that never binds: one epoch's worth per single-epoch window.
    network.set_emission_controls(breaker(1, FIRST_STEP_EMISSION));
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
fn an_epoch_over_the_breaker_cap_is_minted_clamped_and_later_epochs_keep_minting() {
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

    // Epochs 0 and 1 minted 2 epochs' worth: epoch 2 gets the half epoch left in its window.
    let vault_before = network.reward_vault_balance();
    let landed = network.mint_epoch(2).unwrap();
    let event: EpochEmissionMinted = landed.event(&tokenomics::ID);
    assert_eq!(
        network.reward_vault_balance() - vault_before,
        FIRST_STEP_EMISSION / 2
    );
    assert_eq!(
        (event.before_breaker, event.window_headroom, event.minted),
        (
            FIRST_STEP_EMISSION,
            FIRST_STEP_EMISSION / 2,
            FIRST_STEP_EMISSION / 2
        )
    );
    assert!(event.clamped_by_circuit_breaker);
    assert!(!event.clamped_by_max_supply);
    assert_eq!(network.config().next_epoch_to_mint, 3);

    // Without the authority acting, the next epochs keep minting what each window allows.
    let mut minted = Vec::new();
    let mut clamped = Vec::new();
    for epoch in 3..6 {
        let event: EpochEmissionMinted = network.mint_epoch(epoch).unwrap().event(&tokenomics::ID);
        minted.push(event.minted);
        clamped.push(event.clamped_by_circuit_breaker);
    }
    assert_eq!(
        minted,
        [
            FIRST_STEP_EMISSION,
            FIRST_STEP_EMISSION,
            FIRST_STEP_EMISSION / 2
        ]
    );
    assert_eq!(clamped, [false, false, true]);
    let total = 4 * FIRST_STEP_EMISSION + 2 * (FIRST_STEP_EMISSION / 2);
    assert_eq!(network.reward_vault_balance(), total);
    let config = network.config();
    assert_eq!(config.next_epoch_to_mint, 6);
    assert_eq!(config.minted_total, total);
    assert_eq!(network.supply(), INITIAL_SUPPLY + total);
}

#[test]
fn a_clamped_epoch_still_measures_its_burn_and_keeps_the_supply_exact() {
    // Every single-epoch window is capped at half an epoch's schedule.
    let mut network = TokenomicsNetwork::launch();
    network.set_emission_controls(breaker(1, FIRST_STEP_EMISSION / 2));
    let buyer = network.holder(100_000 * GWK);
    network.buy_credits(&buyer, 10_000 * GWK, 0).unwrap();

    let event: EpochEmissionMinted = network.mint_epoch(0).unwrap().event(&tokenomics::ID);
    // The burn is measured and smoothed as if nothing were clamped: 10,000 burned, 5,000
    // re-emitted on top of the schedule, all of it asked of the breaker.
    assert_eq!(
        (
            event.epoch_burn,
            event.smoothed_burn_after,
            event.net_emission
        ),
        (10_000 * GWK, 5_000 * GWK, 5_000 * GWK)
    );
    assert_eq!(event.before_breaker, FIRST_STEP_EMISSION + 5_000 * GWK);
    assert_eq!(event.minted, FIRST_STEP_EMISSION / 2);
    assert!(event.clamped_by_circuit_breaker);
    let config = network.config();
    assert_eq!(config.smoothed_burn, 5_000 * GWK);
    assert_eq!(
        (config.minted_total, config.burned_total),
        (FIRST_STEP_EMISSION / 2, 10_000 * GWK)
    );
    assert_eq!(
        network.supply(),
        INITIAL_SUPPLY + FIRST_STEP_EMISSION / 2 - 10_000 * GWK
    );
    assert_eq!(config.supply_at_last_mint, network.supply());

    // The next epoch's burn is measured against the clamped supply, and it is clamped again.
    network.buy_credits(&buyer, 2_000 * GWK, 0).unwrap();
    let event: EpochEmissionMinted = network.mint_epoch(1).unwrap().event(&tokenomics::ID);
    assert_eq!(
        (event.epoch_burn, event.smoothed_burn_after),
        (2_000 * GWK, 3_500 * GWK)
    );
    assert_eq!(event.minted, FIRST_STEP_EMISSION / 2);
    let config = network.config();
    assert_eq!(config.smoothed_burn, 3_500 * GWK);
    assert_eq!(
        u128::from(network.supply()),
        u128::from(config.initial_supply) + u128::from(config.minted_total)
            - u128::from(config.burned_total)
    );
    assert_eq!(network.reward_vault_balance(), FIRST_STEP_EMISSION);
}

#[test]
fn a_cap_lowered_under_the_window_mints_nothing_but_epochs_keep_closing() {
    let mut network = TokenomicsNetwork::launch();
    network.mint_epoch(0).unwrap();
    network.mint_epoch(1).unwrap();
    // Epochs 0 and 1 already minted two epochs' worth; the new window allows one.
    network.set_emission_controls(breaker(3, FIRST_STEP_EMISSION));

    let mut minted = Vec::new();
    for epoch in 2..5 {
        let event: EpochEmissionMinted = network.mint_epoch(epoch).unwrap().event(&tokenomics::ID);
        minted.push((event.window_headroom, event.minted));
    }
    // The windows of epochs 2 and 3 still hold epoch 1's full mint; epoch 4's holds only the
    // empty epochs 2 and 3, so it mints in full again without the authority acting.
    assert_eq!(
        minted,
        [(0, 0), (0, 0), (FIRST_STEP_EMISSION, FIRST_STEP_EMISSION)]
    );
    assert_eq!(network.config().next_epoch_to_mint, 5);
    assert_eq!(network.reward_vault_balance(), 3 * FIRST_STEP_EMISSION);
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
