//! A tokenomics network in the runtime harness, with a token holder to buy credits from and
//! the epoch-minter relay standing in for the reward program.

use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use anchor_spl::token_2022::spl_token_2022;
use groundwork_client::tokenomics as client;
use groundwork_client::tokenomics::NetworkToken;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::{
    through_relay, Landed, Outcome, Runtime, EPOCH_MINTER_RELAY_ID, TOKEN_PROGRAM_ID,
};
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
use tokenomics::{
    BurnForCreditsArgsV0, CircuitBreaker, EmissionStep, InitializeArgsV0, NetEmissions,
    PriceSource, TokenomicsConfigV0, UpdateEmissionControlsArgsV0,
};

/// One whole network token (6 decimals).
pub const GWK: u64 = 1_000_000;
/// Supply minted before the network adopts its mint, all held by the treasury.
pub const INITIAL_SUPPLY: u64 = 100_000_000 * GWK;
pub const MAX_SUPPLY: u64 = 1_000_000_000 * GWK;
/// Emission per epoch of the default schedule's first step (epochs 0..10).
pub const FIRST_STEP_EMISSION: u64 = 1_000_000 * GWK;
/// Emission per epoch from epoch 10 on.
pub const SECOND_STEP_EMISSION: u64 = 500_000 * GWK;
pub const NET_EMISSIONS_CAP: u64 = 50_000 * GWK;
/// Default fixed price: $0.50 per GWK (8 decimals).
pub const FIXED_PRICE_USD_E8: u64 = 50_000_000;
/// $0.00001 per credit (9 decimals).
pub const USD_PER_CREDIT_E9: u64 = 10_000;
/// A Pyth feed id for GWK/USD used by the tests.
pub const FEED_ID: [u8; 32] = [7; 32];

/// The parameters the default network launches with.
pub fn default_args(authority: Pubkey) -> InitializeArgsV0 {
    InitializeArgsV0 {
        authority,
        reward_program: EPOCH_MINTER_RELAY_ID,
        max_supply: MAX_SUPPLY,
        emission_schedule: vec![
            EmissionStep {
                start_epoch: 0,
                tokens_per_epoch: FIRST_STEP_EMISSION,
            },
            EmissionStep {
                start_epoch: 10,
                tokens_per_epoch: SECOND_STEP_EMISSION,
            },
        ],
        net_emissions: NetEmissions {
            cap_per_epoch: NET_EMISSIONS_CAP,
            smoothing_bps: 5_000,
        },
        circuit_breaker: CircuitBreaker {
            window_epochs: 7,
            max_mint_per_window: 8_000_000 * GWK,
        },
        price_source: PriceSource::Fixed {
            price_usd_e8: FIXED_PRICE_USD_E8,
        },
        usd_per_credit_e9: USD_PER_CREDIT_E9,
    }
}

/// A launched tokenomics network.
pub struct TokenomicsNetwork {
    pub rt: Runtime,
    pub authority: Keypair,
    pub network_token: NetworkToken,
    /// Holds the initial supply (adopted-mint networks).
    pub treasury: Keypair,
    /// The reward vault the relay's epoch mints go to (owned by the relay's minter PDA).
    pub reward_vault: Pubkey,
}

impl TokenomicsNetwork {
    /// A network that adopted a classic SPL Token mint holding [`INITIAL_SUPPLY`].
    pub fn launch() -> Self {
        Self::launch_adopting(TOKEN_PROGRAM_ID, |args| args)
    }

    /// A network that adopted a mint of `token_program`, with arguments adjusted by `tweak`.
    pub fn launch_adopting(
        token_program: Pubkey,
        tweak: impl FnOnce(InitializeArgsV0) -> InitializeArgsV0,
    ) -> Self {
        let mut rt = Runtime::new();
        let authority = rt.funded_keypair();
        let treasury = rt.funded_keypair();
        let mint_authority = rt.funded_keypair();
        let mint = rt.create_mint(&token_program, 6, &mint_authority.pubkey(), None);
        rt.mint_to(
            &mint,
            &token_program,
            &mint_authority,
            &treasury.pubkey(),
            INITIAL_SUPPLY,
        );
        let deployer = rt.deployer.insecure_clone();
        let args = tweak(default_args(authority.pubkey()));
        rt.send_ok(
            &[client::initialize_with_existing_mint(
                &deployer.pubkey(),
                &mint,
                &mint_authority.pubkey(),
                &token_program,
                args,
            )],
            &[&deployer, &mint_authority],
        );
        Self::finish(
            rt,
            authority,
            treasury,
            NetworkToken {
                mint,
                token_program,
            },
        )
    }

    /// A network whose network token mint the program created (supply 0).
    pub fn launch_with_new_mint(token_program: Pubkey) -> Self {
        let mut rt = Runtime::new();
        let authority = rt.funded_keypair();
        let treasury = rt.funded_keypair();
        let deployer = rt.deployer.insecure_clone();
        rt.send_ok(
            &[client::initialize(
                &deployer.pubkey(),
                &token_program,
                default_args(authority.pubkey()),
            )],
            &[&deployer],
        );
        let mint = client::created_network_mint_address();
        Self::finish(
            rt,
            authority,
            treasury,
            NetworkToken {
                mint,
                token_program,
            },
        )
    }

    fn finish(
        mut rt: Runtime,
        authority: Keypair,
        treasury: Keypair,
        network_token: NetworkToken,
    ) -> Self {
        let minter = client::epoch_minter_address(&EPOCH_MINTER_RELAY_ID);
        let reward_vault =
            rt.token_account(&minter, &network_token.mint, &network_token.token_program);
        TokenomicsNetwork {
            rt,
            authority,
            network_token,
            treasury,
            reward_vault,
        }
    }

    pub fn config(&self) -> TokenomicsConfigV0 {
        self.rt.anchor_account(&client::config_address())
    }

    pub fn supply(&self) -> u64 {
        self.rt.mint(&self.network_token.mint).supply
    }

    pub fn network_balance(&self, owner: &Pubkey) -> u64 {
        self.rt.token_balance(&self.network_token.account_of(owner))
    }

    /// Network tokens in the reward vault the epoch mints go to.
    pub fn reward_vault_balance(&self) -> u64 {
        self.rt.token_balance(&self.reward_vault)
    }

    /// The authority sets net emissions and the circuit breaker.
    pub fn set_emission_controls(&mut self, args: UpdateEmissionControlsArgsV0) -> Landed {
        let authority = self.authority.insecure_clone();
        self.rt.send_ok(
            &[client::update_emission_controls(&authority.pubkey(), args)],
            &[&authority],
        )
    }

    pub fn credits_of(&self, owner: &Pubkey) -> u64 {
        self.rt
            .token_balance(&client::credit_account_address(owner))
    }

    /// A new funded wallet holding `amount` network tokens (sent from the treasury).
    pub fn holder(&mut self, amount: u64) -> Keypair {
        let holder = self.rt.funded_keypair();
        self.give(&holder.pubkey(), amount);
        holder
    }

    /// Sends `amount` network tokens from the treasury to `owner`.
    pub fn give(&mut self, owner: &Pubkey, amount: u64) {
        let token = self.network_token;
        let destination = self
            .rt
            .token_account(owner, &token.mint, &token.token_program);
        let transfer = spl_token_2022::instruction::transfer_checked(
            &token.token_program,
            &token.account_of(&self.treasury.pubkey()),
            &token.mint,
            &destination,
            &self.treasury.pubkey(),
            &[],
            amount,
            6,
        )
        .unwrap();
        let treasury = self.treasury.insecure_clone();
        self.rt.send_ok(&[transfer], &[&treasury]);
    }

    /// `buyer` burns `amount` for credits delivered to itself, at the fixed price.
    pub fn buy_credits(&mut self, buyer: &Keypair, amount: u64, min_credits_out: u64) -> Outcome {
        self.buy_credits_with_price(buyer, amount, min_credits_out, None)
    }

    pub fn buy_credits_with_price(
        &mut self,
        buyer: &Keypair,
        amount: u64,
        min_credits_out: u64,
        price_update: Option<Pubkey>,
    ) -> Outcome {
        let instruction = client::burn_for_credits(
            &buyer.pubkey(),
            &buyer.pubkey(),
            self.network_token,
            price_update,
            BurnForCreditsArgsV0 {
                amount,
                min_credits_out,
            },
        );
        self.rt.send(&[instruction], &[buyer])
    }

    /// The epoch mint as the reward program sends it, through the relay registered as the
    /// network's reward program.
    pub fn mint_epoch(&mut self, epoch: u64) -> Outcome {
        self.mint_epoch_via(EPOCH_MINTER_RELAY_ID, epoch)
    }

    /// The epoch mint sent through the relay program `relay` (signing with its own PDA).
    pub fn mint_epoch_via(&mut self, relay: Pubkey, epoch: u64) -> Outcome {
        let minter = client::epoch_minter_address(&relay);
        let inner =
            client::mint_epoch_emission(&minter, self.network_token, &self.reward_vault, epoch);
        self.rt.send(&[through_relay(relay, inner)], &[])
    }

    /// Writes a Pyth `PriceUpdateV2` account owned by `owner` and returns its address.
    pub fn put_price_update(&mut self, owner: Pubkey, update: PriceUpdateV2) -> Pubkey {
        let address = Pubkey::new_unique();
        let mut data = Vec::new();
        update.try_serialize(&mut data).unwrap();
        self.rt.set_account(address, owner, data);
        address
    }

    /// A fully verified GWK/USD price update published now. Its spot price is half again the
    /// EMA and its spot confidence a tenth of the EMA's: a program pricing from the spot
    /// price (or its confidence) would get another price than the EMA − 2 confidences rule.
    pub fn fresh_price(&self, ema_price: i64, ema_conf: u64, exponent: i32) -> PriceUpdateV2 {
        let now = self.rt.clock().unix_timestamp;
        PriceUpdateV2 {
            write_authority: Pubkey::new_unique(),
            verification_level: VerificationLevel::Full,
            price_message: PriceFeedMessage {
                feed_id: FEED_ID,
                price: ema_price.saturating_mul(3) / 2,
                conf: ema_conf / 10,
                exponent,
                publish_time: now,
                prev_publish_time: now - 1,
                ema_price,
                ema_conf,
            },
            posted_slot: self.rt.clock().slot,
        }
    }
}
