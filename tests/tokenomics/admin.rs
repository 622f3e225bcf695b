use groundwork_client::tokenomics as client;
use groundwork_harness::assert_error;
use groundwork_harness::solana_signer::Signer;
use groundwork_tests::*;
use tokenomics::errors::TokenomicsError;
use tokenomics::events::{
    AuthorityTransferAccepted, AuthorityTransferProposed, EmissionControlsUpdated,
    EmissionStepsAppended, PricingUpdated,
};
use tokenomics::{
    CircuitBreaker, EmissionStep, NetEmissions, PriceSource, UpdateEmissionControlsArgsV0,
    UpdatePricingArgsV0,
};

fn pricing(price_usd_e8: u64) -> UpdatePricingArgsV0 {
    UpdatePricingArgsV0 {
        price_source: PriceSource::Fixed { price_usd_e8 },
        usd_per_credit_e9: USD_PER_CREDIT_E9,
    }
}

fn controls(cap_per_epoch: u64, window_epochs: u16) -> UpdateEmissionControlsArgsV0 {
    UpdateEmissionControlsArgsV0 {
        net_emissions: NetEmissions {
            cap_per_epoch,
            smoothing_bps: 2_500,
        },
        circuit_breaker: CircuitBreaker {
            window_epochs,
            max_mint_per_window: 9_000_000 * GWK,
        },
    }
}

#[test]
fn the_authority_sets_a_new_fixed_price_that_purchases_use() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let landed = network.rt.send_ok(
        &[client::update_pricing(
            &authority.pubkey(),
            pricing(200_000_000),
        )],
        &[&authority],
    );
    let event: PricingUpdated = landed.event(&tokenomics::ID);
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(
        (
            event.usd_per_credit_e9_before,
            event.usd_per_credit_e9_after
        ),
        (USD_PER_CREDIT_E9, USD_PER_CREDIT_E9)
    );
    assert_eq!(
        event.before,
        PriceSource::Fixed {
            price_usd_e8: FIXED_PRICE_USD_E8
        }
    );
    assert_eq!(
        event.after,
        PriceSource::Fixed {
            price_usd_e8: 200_000_000
        }
    );

    let buyer = network.holder(GWK);
    network.buy_credits(&buyer, GWK, 0).unwrap();
    // $2 per GWK / $0.00001 per credit.
    assert_eq!(network.credits_of(&buyer.pubkey()), 200_000);
}

#[test]
fn the_authority_can_change_the_credit_price() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let mut args = pricing(FIXED_PRICE_USD_E8);
    args.usd_per_credit_e9 = 20_000;
    network.rt.send_ok(
        &[client::update_pricing(&authority.pubkey(), args)],
        &[&authority],
    );
    let buyer = network.holder(GWK);
    network.buy_credits(&buyer, GWK, 0).unwrap();
    assert_eq!(network.credits_of(&buyer.pubkey()), 25_000);
}

#[test]
fn only_the_authority_updates_pricing() {
    let mut network = TokenomicsNetwork::launch();
    let intruder = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[client::update_pricing(&intruder.pubkey(), pricing(1))],
        &[&intruder],
    );
    assert_error(&outcome, TokenomicsError::NotAuthority);
    assert_eq!(
        network.config().price_source,
        PriceSource::Fixed {
            price_usd_e8: FIXED_PRICE_USD_E8
        }
    );
}

#[test]
fn invalid_pricing_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let outcome = network.rt.send(
        &[client::update_pricing(&authority.pubkey(), pricing(0))],
        &[&authority],
    );
    assert_error(&outcome, TokenomicsError::NonPositivePrice);
    let mut zero_credit_price = pricing(1);
    zero_credit_price.usd_per_credit_e9 = 0;
    let outcome = network.rt.send(
        &[client::update_pricing(
            &authority.pubkey(),
            zero_credit_price,
        )],
        &[&authority],
    );
    assert_error(&outcome, TokenomicsError::InvalidCreditPrice);
}

#[test]
fn the_authority_appends_future_emission_steps() {
    let mut network = TokenomicsNetwork::launch();
    network.mint_epoch(0).unwrap();
    let authority = network.authority.insecure_clone();
    let steps = vec![
        EmissionStep {
            start_epoch: 20,
            tokens_per_epoch: 250_000 * GWK,
        },
        EmissionStep {
            start_epoch: 30,
            tokens_per_epoch: 0,
        },
    ];
    let landed = network.rt.send_ok(
        &[client::append_emission_steps(
            &authority.pubkey(),
            steps.clone(),
        )],
        &[&authority],
    );
    let event: EmissionStepsAppended = landed.event(&tokenomics::ID);
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!((event.steps, event.schedule_len_after), (steps.clone(), 4));
    let schedule = network.config().emission_schedule;
    assert_eq!(&schedule[2..], &steps[..]);
}

#[test]
fn emission_steps_never_rewrite_the_past() {
    let mut network = TokenomicsNetwork::launch();
    for epoch in 0..3 {
        network.mint_epoch(epoch).unwrap();
    }
    let authority = network.authority.insecure_clone();
    let mut send = |steps: Vec<EmissionStep>| {
        network.rt.send(
            &[client::append_emission_steps(&authority.pubkey(), steps)],
            &[&authority],
        )
    };
    // Before the last existing step (10).
    assert_error(
        &send(vec![EmissionStep {
            start_epoch: 5,
            tokens_per_epoch: 1,
        }]),
        TokenomicsError::StepRewritesPast,
    );
    // At the last existing step.
    assert_error(
        &send(vec![EmissionStep {
            start_epoch: 10,
            tokens_per_epoch: 1,
        }]),
        TokenomicsError::StepRewritesPast,
    );
    // Not increasing among the new steps.
    assert_error(
        &send(vec![
            EmissionStep {
                start_epoch: 40,
                tokens_per_epoch: 1,
            },
            EmissionStep {
                start_epoch: 40,
                tokens_per_epoch: 2,
            },
        ]),
        TokenomicsError::ScheduleNotIncreasing,
    );
    assert_error(&send(vec![]), TokenomicsError::EmptySchedule);
    let too_many = (0..31)
        .map(|i| EmissionStep {
            start_epoch: 100 + i,
            tokens_per_epoch: 1,
        })
        .collect();
    assert_error(&send(too_many), TokenomicsError::ScheduleTooLong);
    assert_eq!(network.config().emission_schedule.len(), 2);
}

#[test]
fn a_step_cannot_start_at_an_epoch_already_minted() {
    // A network whose only step starts at 0, minted through epoch 4.
    let mut network =
        TokenomicsNetwork::launch_adopting(groundwork_harness::TOKEN_PROGRAM_ID, |mut args| {
            args.emission_schedule.truncate(1);
            args
        });
    for epoch in 0..5 {
        network.mint_epoch(epoch).unwrap();
    }
    let authority = network.authority.insecure_clone();
    let outcome = network.rt.send(
        &[client::append_emission_steps(
            &authority.pubkey(),
            vec![EmissionStep {
                start_epoch: 4,
                tokens_per_epoch: 1,
            }],
        )],
        &[&authority],
    );
    assert_error(&outcome, TokenomicsError::StepRewritesPast);
    // The next epoch to mint is the earliest allowed start.
    network.rt.send_ok(
        &[client::append_emission_steps(
            &authority.pubkey(),
            vec![EmissionStep {
                start_epoch: 5,
                tokens_per_epoch: 1,
            }],
        )],
        &[&authority],
    );
    assert_eq!(network.config().emission_schedule.len(), 2);
}

#[test]
fn only_the_authority_appends_steps() {
    let mut network = TokenomicsNetwork::launch();
    let intruder = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[client::append_emission_steps(
            &intruder.pubkey(),
            vec![EmissionStep {
                start_epoch: 50,
                tokens_per_epoch: u64::MAX,
            }],
        )],
        &[&intruder],
    );
    assert_error(&outcome, TokenomicsError::NotAuthority);
}

#[test]
fn the_authority_updates_emission_controls() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let landed = network.rt.send_ok(
        &[client::update_emission_controls(
            &authority.pubkey(),
            controls(7, 14),
        )],
        &[&authority],
    );
    let event: EmissionControlsUpdated = landed.event(&tokenomics::ID);
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(event.net_emissions_before.cap_per_epoch, NET_EMISSIONS_CAP);
    assert_eq!(event.net_emissions_after.cap_per_epoch, 7);
    assert_eq!(event.circuit_breaker_after.window_epochs, 14);
    let config = network.config();
    assert_eq!(
        (
            config.net_emissions.cap_per_epoch,
            config.net_emissions.smoothing_bps
        ),
        (7, 2_500)
    );
}

#[test]
fn invalid_or_unauthorized_emission_controls_are_refused() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let outcome = network.rt.send(
        &[client::update_emission_controls(
            &authority.pubkey(),
            controls(7, 0),
        )],
        &[&authority],
    );
    assert_error(&outcome, TokenomicsError::InvalidBreakerWindow);
    let mut bad_smoothing = controls(7, 3);
    bad_smoothing.net_emissions.smoothing_bps = 0;
    let outcome = network.rt.send(
        &[client::update_emission_controls(
            &authority.pubkey(),
            bad_smoothing,
        )],
        &[&authority],
    );
    assert_error(&outcome, TokenomicsError::InvalidSmoothing);
    let intruder = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[client::update_emission_controls(
            &intruder.pubkey(),
            controls(u64::MAX, 3),
        )],
        &[&intruder],
    );
    assert_error(&outcome, TokenomicsError::NotAuthority);
    assert_eq!(
        network.config().net_emissions.cap_per_epoch,
        NET_EMISSIONS_CAP
    );
}

#[test]
fn authority_transfer_takes_two_steps() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let successor = network.rt.funded_keypair();
    let stranger = network.rt.funded_keypair();

    let landed = network.rt.send_ok(
        &[client::transfer_authority(
            &authority.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&authority],
    );
    let event: AuthorityTransferProposed = landed.event(&tokenomics::ID);
    assert_eq!(
        (event.authority, event.pending_before, event.pending_after),
        (authority.pubkey(), None, Some(successor.pubkey()))
    );
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(network.config().pending_authority, Some(successor.pubkey()));
    // Nothing changed hands yet.
    assert_eq!(network.config().authority, authority.pubkey());

    let outcome = network.rt.send(
        &[client::accept_authority(&stranger.pubkey())],
        &[&stranger],
    );
    assert_error(&outcome, TokenomicsError::NotPendingAuthority);

    network.rt.advance_seconds(3_600);
    let landed = network.rt.send_ok(
        &[client::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    let event: AuthorityTransferAccepted = landed.event(&tokenomics::ID);
    assert_eq!(
        (event.authority_before, event.authority_after),
        (authority.pubkey(), successor.pubkey())
    );
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    let config = network.config();
    assert_eq!(
        (config.authority, config.pending_authority),
        (successor.pubkey(), None)
    );

    // The old authority is powerless, the new one is not.
    let outcome = network.rt.send(
        &[client::update_pricing(&authority.pubkey(), pricing(1))],
        &[&authority],
    );
    assert_error(&outcome, TokenomicsError::NotAuthority);
    network.rt.send_ok(
        &[client::update_pricing(&successor.pubkey(), pricing(1))],
        &[&successor],
    );
}

#[test]
fn authority_transfer_can_be_cancelled_and_needs_a_proposal() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    let successor = network.rt.funded_keypair();
    let outcome = network.rt.send(
        &[client::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    assert_error(&outcome, TokenomicsError::NoPendingAuthority);

    network.rt.send_ok(
        &[client::transfer_authority(
            &authority.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&authority],
    );
    network.rt.send_ok(
        &[client::transfer_authority(&authority.pubkey(), None)],
        &[&authority],
    );
    let outcome = network.rt.send(
        &[client::accept_authority(&successor.pubkey())],
        &[&successor],
    );
    assert_error(&outcome, TokenomicsError::NoPendingAuthority);

    let outcome = network.rt.send(
        &[client::transfer_authority(
            &successor.pubkey(),
            Some(successor.pubkey()),
        )],
        &[&successor],
    );
    assert_error(&outcome, TokenomicsError::NotAuthority);
    assert_eq!(network.config().authority, authority.pubkey());
}
