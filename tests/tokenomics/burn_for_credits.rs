use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use groundwork_client::tokenomics as client;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{assert_error, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID};
use groundwork_tests::*;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use tokenomics::errors::TokenomicsError;
use tokenomics::events::CreditsPurchased;
use tokenomics::{BurnForCreditsArgsV0, PriceSource, UpdatePricingArgsV0};

/// Credits bought with `amount` base units at the default fixed price ($0.50/GWK).
fn credits_at_fixed_price(amount: u64) -> u64 {
    // amount / 10^6 GWK * $0.5 / $0.00001 = amount * 50_000 / 10^6
    amount * 50_000 / 1_000_000
}

fn use_pyth(network: &mut TokenomicsNetwork, max_price_age_s: u32) {
    let authority = network.authority.insecure_clone();
    network.rt.send_ok(
        &[client::update_pricing(
            &authority.pubkey(),
            UpdatePricingArgsV0 {
                price_source: PriceSource::Pyth {
                    feed_id: FEED_ID,
                    max_price_age_s,
                },
                usd_per_credit_e9: USD_PER_CREDIT_E9,
            },
        )],
        &[&authority],
    );
}

#[test]
fn burning_at_the_fixed_price_burns_tokens_and_mints_credits() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.holder(100 * GWK);
    let supply_before = network.supply();
    network.rt.advance_seconds(77);

    let landed = network
        .buy_credits(&buyer, 30 * GWK, credits_at_fixed_price(30 * GWK))
        .unwrap();

    assert_eq!(network.network_balance(&buyer.pubkey()), 70 * GWK);
    assert_eq!(network.supply(), supply_before - 30 * GWK);
    assert_eq!(network.credits_of(&buyer.pubkey()), 1_500_000);
    let credit_mint = network.rt.mint(&client::credit_mint_address());
    assert_eq!(credit_mint.supply, 1_500_000);
    let event: CreditsPurchased = landed.event(&tokenomics::ID);
    assert_eq!(
        (
            event.payer,
            event.recipient,
            event.network_tokens_burned,
            event.credits_minted
        ),
        (buyer.pubkey(), buyer.pubkey(), 30 * GWK, 1_500_000)
    );
    assert_eq!(
        (event.price, event.exponent, event.from_pyth),
        (FIXED_PRICE_USD_E8, -8, false)
    );
    assert_eq!(event.unix_timestamp, network.rt.clock().unix_timestamp);
    assert_eq!(event.recipient_credits_after, 1_500_000);
    // The credit price in force: with the amounts, an indexer derives the tokens paid per
    // credit (30 GWK for 1.5M credits = 20 base units per credit).
    assert_eq!(event.usd_per_credit_e9, USD_PER_CREDIT_E9);
    assert_eq!(event.network_tokens_burned / event.credits_minted, 20);
    // With the token's decimals, the exact rate the program used: base units per credit =
    // usd_per_credit_e9 / (price * 10^(exponent + 9 - decimals)).
    assert_eq!(event.network_token_decimals, 6);
    let scale = event.exponent + 9 - i32::from(event.network_token_decimals);
    let (tokens, per_credit) = if scale >= 0 {
        (
            u128::from(event.usd_per_credit_e9),
            u128::from(event.price) * 10u128.pow(scale.unsigned_abs()),
        )
    } else {
        (
            u128::from(event.usd_per_credit_e9) * 10u128.pow(scale.unsigned_abs()),
            u128::from(event.price),
        )
    };
    assert_eq!(
        u128::from(event.network_tokens_burned) * per_credit / tokens,
        u128::from(event.credits_minted)
    );
}

#[test]
fn a_payer_can_buy_credits_for_another_wallet() {
    let mut network = TokenomicsNetwork::launch();
    let dapp = network.holder(10 * GWK);
    let customer = Pubkey::new_unique();
    let instruction = client::burn_for_credits(
        &dapp.pubkey(),
        &customer,
        network.network_token,
        None,
        BurnForCreditsArgsV0 {
            amount: GWK,
            min_credits_out: 0,
        },
    );
    network
        .rt
        .send_ok(std::slice::from_ref(&instruction), &[&dapp]);
    // A second purchase reuses the customer's credit account.
    let landed = network.rt.send_ok(&[instruction], &[&dapp]);
    assert_eq!(
        network.credits_of(&customer),
        2 * credits_at_fixed_price(GWK)
    );
    let event: CreditsPurchased = landed.event(&tokenomics::ID);
    assert_eq!(
        (event.payer, event.recipient, event.recipient_credits_after),
        (dapp.pubkey(), customer, 2 * credits_at_fixed_price(GWK))
    );
    assert_eq!(network.credits_of(&dapp.pubkey()), 0);
    assert_eq!(network.network_balance(&dapp.pubkey()), 8 * GWK);
}

#[test]
fn slippage_beyond_min_credits_out_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.holder(10 * GWK);
    let outcome = network.buy_credits(&buyer, GWK, credits_at_fixed_price(GWK) + 1);
    assert_error(&outcome, TokenomicsError::SlippageExceeded);
    assert_eq!(network.network_balance(&buyer.pubkey()), 10 * GWK);
    assert_eq!(network.credits_of(&buyer.pubkey()), 0);
}

#[test]
fn zero_and_dust_burns_are_refused() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.holder(10 * GWK);
    assert_error(
        &network.buy_credits(&buyer, 0, 0),
        TokenomicsError::ZeroAmount,
    );
    // 19 base units are worth $0.0000095, less than one credit.
    assert_error(
        &network.buy_credits(&buyer, 19, 0),
        TokenomicsError::BurnBuysNoCredits,
    );
    assert_eq!(network.network_balance(&buyer.pubkey()), 10 * GWK);
}

#[test]
fn burning_more_than_the_balance_is_refused_by_the_token_program() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.holder(GWK);
    let outcome = network.buy_credits(&buyer, GWK + 1, 0);
    // spl-token InsufficientFunds = 1.
    assert_error(&outcome, 1u32);
    assert_eq!(network.network_balance(&buyer.pubkey()), GWK);
    assert_eq!(network.credits_of(&buyer.pubkey()), 0);
}

#[test]
fn burning_from_someone_elses_token_account_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let victim = network.holder(10 * GWK);
    let thief = network.holder(0);
    let instruction = client::burn_for_credits_from(
        &thief.pubkey(),
        &network.network_token.account_of(&victim.pubkey()),
        &thief.pubkey(),
        network.network_token,
        None,
        BurnForCreditsArgsV0 {
            amount: GWK,
            min_credits_out: 0,
        },
    );
    let outcome = network.rt.send(&[instruction], &[&thief]);
    assert_error(&outcome, AnchorError::ConstraintTokenOwner);
    assert_eq!(network.network_balance(&victim.pubkey()), 10 * GWK);
}

#[test]
fn burning_a_substituted_mint_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.rt.funded_keypair();
    let fake_mint = network
        .rt
        .create_mint(&TOKEN_PROGRAM_ID, 6, &buyer.pubkey(), None);
    network.rt.mint_to(
        &fake_mint,
        &TOKEN_PROGRAM_ID,
        &buyer,
        &buyer.pubkey(),
        1_000 * GWK,
    );
    let fake_token = client::NetworkToken {
        mint: fake_mint,
        token_program: TOKEN_PROGRAM_ID,
    };
    let outcome = network.rt.send(
        &[client::burn_for_credits(
            &buyer.pubkey(),
            &buyer.pubkey(),
            fake_token,
            None,
            BurnForCreditsArgsV0 {
                amount: GWK,
                min_credits_out: 0,
            },
        )],
        &[&buyer],
    );
    assert_error(&outcome, AnchorError::ConstraintHasOne);
    assert_eq!(network.credits_of(&buyer.pubkey()), 0);
}

#[test]
fn an_extreme_amount_at_an_extreme_price_overflows_cleanly() {
    let mut network = TokenomicsNetwork::launch();
    let authority = network.authority.insecure_clone();
    network.rt.send_ok(
        &[client::update_pricing(
            &authority.pubkey(),
            UpdatePricingArgsV0 {
                price_source: PriceSource::Fixed {
                    price_usd_e8: u64::MAX,
                },
                usd_per_credit_e9: 1,
            },
        )],
        &[&authority],
    );
    let buyer = network.holder(GWK);
    let outcome = network.buy_credits(&buyer, u64::MAX, 0);
    assert_error(&outcome, TokenomicsError::MathOverflow);
    assert_eq!(network.network_balance(&buyer.pubkey()), GWK);
}

#[test]
fn credits_cannot_be_transferred_between_wallets() {
    let mut network = TokenomicsNetwork::launch();
    let buyer = network.holder(10 * GWK);
    network.buy_credits(&buyer, GWK, 0).unwrap();
    let friend = network.rt.funded_keypair();
    let credit_mint = client::credit_mint_address();
    let friend_credits =
        network
            .rt
            .token_account(&friend.pubkey(), &credit_mint, &TOKEN_2022_PROGRAM_ID);
    let transfer = spl_token_2022::instruction::transfer_checked(
        &TOKEN_2022_PROGRAM_ID,
        &client::credit_account_address(&buyer.pubkey()),
        &credit_mint,
        &friend_credits,
        &buyer.pubkey(),
        &[],
        10,
        0,
    )
    .unwrap();
    let outcome = network.rt.send(&[transfer], &[&buyer]);
    assert_error(
        &outcome,
        spl_token_2022::error::TokenError::NonTransferable as u32,
    );
    assert_eq!(
        network.credits_of(&buyer.pubkey()),
        credits_at_fixed_price(GWK)
    );
    assert_eq!(network.rt.token_balance(&friend_credits), 0);
}

#[test]
fn pyth_price_uses_ema_minus_two_confidences() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    // ema $0.60 with confidence $0.05: conservative price $0.50. The spot price beside it is
    // $0.90 with confidence $0.005: priced from spot, the credits would cost $0.89.
    let price = network.fresh_price(60_000_000, 5_000_000, -8);
    assert_eq!(
        (price.price_message.price, price.price_message.conf),
        (90_000_000, 500_000)
    );
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(10 * GWK);

    let landed = network
        .buy_credits_with_price(&buyer, 4 * GWK, 0, Some(price_account))
        .unwrap();

    assert_eq!(
        network.credits_of(&buyer.pubkey()),
        credits_at_fixed_price(4 * GWK)
    );
    let event: CreditsPurchased = landed.event(&tokenomics::ID);
    assert_eq!(
        (event.price, event.exponent, event.from_pyth),
        (50_000_000, -8, true)
    );
}

#[test]
fn pyth_exponents_other_than_minus_eight_are_scaled() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    // $2.5 as 25 * 10^-1, zero confidence: 1 GWK buys 250,000 credits.
    let price = network.fresh_price(25, 0, -1);
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(GWK);
    network
        .buy_credits_with_price(&buyer, GWK, 250_000, Some(price_account))
        .unwrap();
    assert_eq!(network.credits_of(&buyer.pubkey()), 250_000);
}

#[test]
fn a_price_account_owned_by_another_program_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    let price = network.fresh_price(60_000_000, 0, -8);
    let forged = network.put_price_update(Pubkey::new_unique(), price);
    let buyer = network.holder(GWK);
    let outcome = network.buy_credits_with_price(&buyer, GWK, 0, Some(forged));
    assert_error(&outcome, AnchorError::AccountOwnedByWrongProgram);
    assert_eq!(network.network_balance(&buyer.pubkey()), GWK);
}

#[test]
fn a_stale_price_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    let price = network.fresh_price(60_000_000, 0, -8);
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(GWK);
    network.rt.advance_seconds(61);
    assert_error(
        &network.buy_credits_with_price(&buyer, GWK, 0, Some(price_account)),
        TokenomicsError::StalePrice,
    );
}

#[test]
fn a_price_exactly_max_age_old_is_accepted() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    let price = network.fresh_price(50_000_000, 0, -8);
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(GWK);
    network.rt.advance_seconds(60);
    network
        .buy_credits_with_price(&buyer, GWK, 0, Some(price_account))
        .unwrap();
    assert_eq!(
        network.credits_of(&buyer.pubkey()),
        credits_at_fixed_price(GWK)
    );
}

#[test]
fn a_price_published_slightly_ahead_of_the_clock_is_accepted() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    // Solana's clock may lag Pyth's: up to the max age ahead is tolerated.
    let mut price = network.fresh_price(50_000_000, 0, -8);
    price.price_message.publish_time += 60;
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(GWK);
    network
        .buy_credits_with_price(&buyer, GWK, 0, Some(price_account))
        .unwrap();
    assert_eq!(
        network.credits_of(&buyer.pubkey()),
        credits_at_fixed_price(GWK)
    );
}

#[test]
fn a_price_from_the_future_is_refused() {
    for seconds_ahead in [61, 86_400, i64::MAX / 2] {
        let mut network = TokenomicsNetwork::launch();
        use_pyth(&mut network, 60);
        let mut price = network.fresh_price(50_000_000, 0, -8);
        price.price_message.publish_time += seconds_ahead;
        let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
        let buyer = network.holder(GWK);
        assert_error(
            &network.buy_credits_with_price(&buyer, GWK, 0, Some(price_account)),
            TokenomicsError::PriceFromTheFuture,
        );
        assert_eq!(network.network_balance(&buyer.pubkey()), GWK);
        assert_eq!(network.credits_of(&buyer.pubkey()), 0);
    }
}

#[test]
fn a_partially_verified_price_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    let mut price = network.fresh_price(60_000_000, 0, -8);
    price.verification_level = VerificationLevel::Partial { num_signatures: 12 };
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(GWK);
    assert_error(
        &network.buy_credits_with_price(&buyer, GWK, 0, Some(price_account)),
        TokenomicsError::PriceNotFullyVerified,
    );
}

#[test]
fn zero_negative_and_too_uncertain_prices_are_refused() {
    for (ema_price, ema_conf) in [(0, 0), (-60_000_000, 0), (60_000_000, 30_000_000)] {
        let mut network = TokenomicsNetwork::launch();
        use_pyth(&mut network, 60);
        let price = network.fresh_price(ema_price, ema_conf, -8);
        let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
        let buyer = network.holder(GWK);
        assert_error(
            &network.buy_credits_with_price(&buyer, GWK, 0, Some(price_account)),
            TokenomicsError::NonPositivePrice,
        );
        assert_eq!(network.network_balance(&buyer.pubkey()), GWK);
    }
}

#[test]
fn a_price_update_for_another_feed_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    let mut price = network.fresh_price(60_000_000, 0, -8);
    price.price_message.feed_id = [9; 32];
    let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, price);
    let buyer = network.holder(GWK);
    assert_error(
        &network.buy_credits_with_price(&buyer, GWK, 0, Some(price_account)),
        TokenomicsError::WrongPriceFeed,
    );
}

#[test]
fn a_pyth_source_without_a_price_account_is_refused() {
    let mut network = TokenomicsNetwork::launch();
    use_pyth(&mut network, 60);
    let buyer = network.holder(GWK);
    assert_error(
        &network.buy_credits_with_price(&buyer, GWK, 0, None),
        TokenomicsError::PriceAccountMissing,
    );
}

/// The CLI quotes purchases with `groundwork_client::tokenomics::quote_credits`; it must agree
/// with the program: the credits it quotes are the credits minted, and a purchase it refuses
/// the program refuses too.
#[test]
fn the_clients_quote_is_what_the_program_mints() {
    use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
    struct Case {
        ema_price: i64,
        ema_conf: u64,
        exponent: i32,
        published_ago_s: i64,
        verification: VerificationLevel,
        other_feed: bool,
        amount: u64,
    }
    let full = VerificationLevel::Full;
    let case = |ema_price, ema_conf, exponent, published_ago_s, amount| Case {
        ema_price,
        ema_conf,
        exponent,
        published_ago_s,
        verification: full,
        other_feed: false,
        amount,
    };
    let cases = [
        case(60_000_000, 5_000_000, -8, 0, 4 * GWK),
        case(25, 0, -1, 10, GWK),
        case(123_456_789, 1_000, -8, 60, 7 * GWK + 3),
        case(1, 0, -12, 0, GWK),
        case(60_000_000, 0, -8, 61, GWK),
        case(60_000_000, 0, -8, -61, GWK),
        case(60_000_000, 0, -8, -60, GWK),
        case(10_000_000, 5_000_000, -8, 0, GWK),
        case(-5, 0, -8, 0, GWK),
        case(60_000_000, 0, -8, 0, 1),
        Case {
            verification: VerificationLevel::Partial { num_signatures: 3 },
            ..case(60_000_000, 0, -8, 0, GWK)
        },
        Case {
            other_feed: true,
            ..case(60_000_000, 0, -8, 0, GWK)
        },
    ];
    let mut bought = 0;
    for (index, case) in cases.iter().enumerate() {
        let mut network = TokenomicsNetwork::launch();
        use_pyth(&mut network, 60);
        let now = network.rt.clock().unix_timestamp;
        let mut update: PriceUpdateV2 =
            network.fresh_price(case.ema_price, case.ema_conf, case.exponent);
        update.price_message.publish_time = now - case.published_ago_s;
        update.verification_level = case.verification;
        if case.other_feed {
            update.price_message.feed_id = [7; 32];
        }
        let price_account = network.put_price_update(pyth_solana_receiver_sdk::ID, update.clone());
        let buyer = network.holder(10 * GWK);
        let quote = client::quote_credits(&network.config(), Some(&update), now, case.amount, 6);
        let outcome = network.buy_credits_with_price(&buyer, case.amount, 0, Some(price_account));
        match (quote, outcome) {
            (Ok(quote), Ok(_)) => {
                bought += 1;
                assert_eq!(
                    network.credits_of(&buyer.pubkey()),
                    quote.credits,
                    "case {index}: the quote differs from the credits minted"
                )
            }
            (Err(_), Err(_)) => assert_eq!(
                network.network_balance(&buyer.pubkey()),
                10 * GWK,
                "case {index}: a refused purchase burned tokens"
            ),
            (quote, outcome) => panic!(
                "case {index}: the client quoted {quote:?} but the program answered {:?}",
                outcome.map(|_| ()).map_err(|refused| refused.err)
            ),
        }
    }
    assert_eq!(bought, 5, "cases 0-3 and 6 buy; the others are refused");
    // A fixed price needs no price update.
    let network = TokenomicsNetwork::launch();
    let now = network.rt.clock().unix_timestamp;
    let quote = client::quote_credits(&network.config(), None, now, 4 * GWK, 6).unwrap();
    assert_eq!(quote.credits, credits_at_fixed_price(4 * GWK));
}
