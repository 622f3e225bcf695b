//! The supply invariant of SPEC 3.1 under random sequences of purchases, voluntary burns and
//! epoch mints (some clamped by the circuit breaker), checked against the real token program's
//! supply.

use anchor_spl::token_2022::spl_token_2022;
use groundwork_harness::custom_error_code;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::TOKEN_PROGRAM_ID;
use groundwork_tests::*;
use proptest::prelude::*;
use tokenomics::errors::TokenomicsError;
use tokenomics::events::EpochEmissionMinted;
use tokenomics::CircuitBreaker;

#[derive(Clone, Debug)]
enum Step {
    BuyCredits(u64),
    VoluntaryBurn(u64),
    MintEpoch,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (1u64..=2_000_000 * GWK).prop_map(Step::BuyCredits),
        (1u64..=500_000 * GWK).prop_map(Step::VoluntaryBurn),
        Just(Step::MintEpoch),
    ]
}

/// A breaker tight enough to bind every few epochs: 2.5 epochs' worth over 3 epochs.
const BREAKER: CircuitBreaker = CircuitBreaker {
    window_epochs: 3,
    max_mint_per_window: 2_500_000 * GWK,
};

/// An independent model of the epoch mint: schedule + min(EMA of burns, cap), clamped to the
/// max-supply headroom, then to what the breaker's window has left.
struct Model {
    smoothed_burn: u128,
    mints: Vec<u64>,
}

impl Model {
    /// The epoch's mint, and whether the breaker clamped it.
    fn epoch_mint(&mut self, epoch: u64, burn: u64, supply: u64) -> (u64, bool) {
        self.smoothed_burn = (self.smoothed_burn * 5_000 + u128::from(burn) * 5_000) / 10_000;
        let scheduled = if epoch < 10 {
            FIRST_STEP_EMISSION
        } else {
            SECOND_STEP_EMISSION
        };
        let wanted = u128::from(scheduled) + self.smoothed_burn.min(u128::from(NET_EMISSIONS_CAP));
        let before_breaker = wanted.min(u128::from(MAX_SUPPLY - supply));
        let previous: u128 = self
            .mints
            .iter()
            .rev()
            .take(usize::from(BREAKER.window_epochs) - 1)
            .map(|mint| u128::from(*mint))
            .sum();
        let headroom = u128::from(BREAKER.max_mint_per_window).saturating_sub(previous);
        let minted = u64::try_from(before_breaker.min(headroom)).unwrap();
        self.mints.push(minted);
        (minted, u128::from(minted) < before_breaker)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, .. ProptestConfig::default() })]

    #[test]
    fn supply_equals_initial_plus_minted_minus_burned(steps in proptest::collection::vec(step(), 1..24)) {
        let mut network = TokenomicsNetwork::launch_adopting(TOKEN_PROGRAM_ID, |mut args| {
            args.circuit_breaker = BREAKER;
            args
        });
        let buyer = network.holder(50_000_000 * GWK);
        let mut model = Model { smoothed_burn: 0, mints: Vec::new() };
        let (mut epoch, mut burned_since_mint) = (0u64, 0u64);
        let mut minted_epochs = std::collections::BTreeSet::new();
        for step in steps {
            let balance = network.network_balance(&buyer.pubkey());
            match step {
                Step::BuyCredits(amount) => {
                    let amount = amount.min(balance);
                    if amount >= 20 {
                        network.buy_credits(&buyer, amount, 0).unwrap();
                        burned_since_mint += amount;
                    }
                }
                Step::VoluntaryBurn(amount) => {
                    let amount = amount.min(balance);
                    let burn = spl_token_2022::instruction::burn(
                        &network.network_token.token_program,
                        &network.network_token.account_of(&buyer.pubkey()),
                        &network.network_token.mint,
                        &buyer.pubkey(),
                        &[],
                        amount,
                    ).unwrap();
                    network.rt.send_ok(&[burn], &[&buyer]);
                    burned_since_mint += amount;
                }
                Step::MintEpoch => {
                    let supply_before = network.supply();
                    let (expected, clamped) = model.epoch_mint(epoch, burned_since_mint, supply_before);
                    let event: EpochEmissionMinted = network.mint_epoch(epoch).unwrap().event(&tokenomics::ID);
                    prop_assert_eq!(event.epoch_burn, burned_since_mint);
                    prop_assert_eq!(event.minted, expected);
                    prop_assert_eq!(event.clamped_by_circuit_breaker, clamped);
                    prop_assert_eq!(u128::from(network.config().smoothed_burn), model.smoothed_burn);
                    prop_assert_eq!(network.supply(), supply_before + expected);
                    prop_assert!(minted_epochs.insert(epoch));
                    // The epoch can never be minted again.
                    prop_assert_eq!(
                        custom_error_code(&network.mint_epoch(epoch)),
                        Some(u32::from(TokenomicsError::EpochNotNext))
                    );
                    let config = network.config();
                    prop_assert_eq!(
                        u128::from(network.supply()),
                        u128::from(config.initial_supply) + u128::from(config.minted_total) - u128::from(config.burned_total)
                    );
                    prop_assert!(network.supply() <= MAX_SUPPLY);
                    epoch += 1;
                    burned_since_mint = 0;
                }
            }
        }
    }
}
