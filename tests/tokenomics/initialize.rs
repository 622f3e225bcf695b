use anchor_lang::error::ErrorCode as AnchorError;
use anchor_lang::prelude::Pubkey;
use anchor_spl::token_2022::spl_token_2022;
use anchor_spl::token_2022::spl_token_2022::extension::{
    BaseStateWithExtensions, ExtensionType, StateWithExtensions,
};
use groundwork_client::tokenomics as client;
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::Outcome;
use groundwork_harness::{
    assert_error, custom_error_code, Runtime, TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID,
};
use groundwork_tests::*;
use tokenomics::errors::TokenomicsError;
use tokenomics::events::TokenomicsInitialized;
use tokenomics::{EmissionStep, PriceSource};

#[test]
fn initialize_creates_network_mint_credit_mint_and_config() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let deployer = rt.deployer.insecure_clone();
    let landed = rt.send_ok(
        &[client::initialize(
            &deployer.pubkey(),
            &TOKEN_PROGRAM_ID,
            default_args(authority.pubkey()),
        )],
        &[&deployer],
    );

    let config: tokenomics::TokenomicsConfigV0 = rt.anchor_account(&client::config_address());
    assert_eq!(config.authority, authority.pubkey());
    assert_eq!(config.pending_authority, None);
    assert_eq!(config.network_mint, client::created_network_mint_address());
    assert_eq!(config.credit_mint, client::credit_mint_address());
    assert_eq!(
        config.epoch_minter,
        client::epoch_minter_address(&groundwork_harness::EPOCH_MINTER_RELAY_ID)
    );
    assert_eq!(config.max_supply, MAX_SUPPLY);
    assert_eq!(
        (
            config.initial_supply,
            config.minted_total,
            config.burned_total
        ),
        (0, 0, 0)
    );
    assert_eq!(config.next_epoch_to_mint, 0);
    assert_eq!(config.emission_schedule.len(), 2);

    let network_mint = rt.mint(&config.network_mint);
    assert_eq!(network_mint.decimals, 6);
    assert_eq!(network_mint.supply, 0);
    assert_eq!(
        Option::<anchor_lang::prelude::Pubkey>::from(network_mint.mint_authority),
        Some(client::network_mint_authority_address())
    );
    assert_eq!(
        rt.account(&config.network_mint).unwrap().owner,
        TOKEN_PROGRAM_ID
    );

    let credit_account = rt.account(&config.credit_mint).unwrap();
    assert_eq!(credit_account.owner, TOKEN_2022_PROGRAM_ID);
    let credit_mint =
        StateWithExtensions::<spl_token_2022::state::Mint>::unpack(&credit_account.data).unwrap();
    assert_eq!(credit_mint.base.decimals, 0);
    assert_eq!(
        Option::<anchor_lang::prelude::Pubkey>::from(credit_mint.base.mint_authority),
        Some(client::credit_mint_authority_address())
    );
    assert_eq!(
        Option::<anchor_lang::prelude::Pubkey>::from(credit_mint.base.freeze_authority),
        None
    );
    assert_eq!(
        credit_mint.get_extension_types().unwrap(),
        vec![ExtensionType::NonTransferable]
    );

    let event: TokenomicsInitialized = landed.event(&tokenomics::ID);
    assert_eq!(event.unix_timestamp, rt.clock().unix_timestamp);
    assert_eq!(event.authority, authority.pubkey());
    assert!(!event.adopted_existing_mint);
    assert_eq!(event.max_supply, MAX_SUPPLY);
    // The event carries the whole config as written.
    assert_eq!(
        (
            event.network_mint,
            event.credit_mint,
            event.reward_program,
            event.epoch_minter,
            event.initial_supply
        ),
        (
            config.network_mint,
            config.credit_mint,
            config.reward_program,
            config.epoch_minter,
            0
        )
    );
    assert_eq!(event.emission_schedule, config.emission_schedule);
    assert_eq!(event.net_emissions, config.net_emissions);
    assert_eq!(event.circuit_breaker, config.circuit_breaker);
    assert_eq!(event.price_source, config.price_source);
    assert_eq!(event.usd_per_credit_e9, config.usd_per_credit_e9);
}

#[test]
fn initialize_rejects_a_signer_that_is_not_the_upgrade_authority() {
    let mut rt = Runtime::new();
    let intruder = rt.funded_keypair();
    let outcome = rt.send(
        &[client::initialize(
            &intruder.pubkey(),
            &TOKEN_PROGRAM_ID,
            default_args(intruder.pubkey()),
        )],
        &[&intruder],
    );
    assert_error(&outcome, TokenomicsError::NotUpgradeAuthority);
    assert!(rt.account(&client::config_address()).is_none());
}

#[test]
fn initialize_rejects_an_immutable_program_without_upgrade_authority() {
    let mut rt = Runtime::new();
    rt.set_program_data(&tokenomics::ID, None);
    let deployer = rt.deployer.insecure_clone();
    let outcome = rt.send(
        &[client::initialize(
            &deployer.pubkey(),
            &TOKEN_PROGRAM_ID,
            default_args(deployer.pubkey()),
        )],
        &[&deployer],
    );
    assert_error(&outcome, TokenomicsError::NotUpgradeAuthority);
}

#[test]
fn initialize_twice_is_refused() {
    let mut network = TokenomicsNetwork::launch_with_new_mint(TOKEN_PROGRAM_ID);
    let deployer = network.rt.deployer.insecure_clone();
    let outcome = network.rt.send(
        &[client::initialize(
            &deployer.pubkey(),
            &TOKEN_PROGRAM_ID,
            default_args(deployer.pubkey()),
        )],
        &[&deployer],
    );
    // The system program refuses to create the config again (AccountAlreadyInUse = 0).
    assert_eq!(custom_error_code(&outcome), Some(0));
    assert_eq!(network.config().authority, network.authority.pubkey());
}

#[test]
fn initialize_validates_every_parameter() {
    type Tweak = fn(&mut tokenomics::InitializeArgsV0);
    let cases: Vec<(Tweak, TokenomicsError)> = vec![
        (
            |a| a.emission_schedule.clear(),
            TokenomicsError::EmptySchedule,
        ),
        (
            |a| a.emission_schedule[1].start_epoch = 0,
            TokenomicsError::ScheduleNotIncreasing,
        ),
        (
            |a| {
                a.emission_schedule = (0..33)
                    .map(|e| EmissionStep {
                        start_epoch: e,
                        tokens_per_epoch: 1,
                    })
                    .collect()
            },
            TokenomicsError::ScheduleTooLong,
        ),
        (
            |a| a.net_emissions.smoothing_bps = 0,
            TokenomicsError::InvalidSmoothing,
        ),
        (
            |a| a.net_emissions.smoothing_bps = 10_001,
            TokenomicsError::InvalidSmoothing,
        ),
        (
            |a| a.circuit_breaker.window_epochs = 0,
            TokenomicsError::InvalidBreakerWindow,
        ),
        (
            |a| a.circuit_breaker.window_epochs = 33,
            TokenomicsError::InvalidBreakerWindow,
        ),
        (
            |a| a.usd_per_credit_e9 = 0,
            TokenomicsError::InvalidCreditPrice,
        ),
        (
            |a| a.price_source = PriceSource::Fixed { price_usd_e8: 0 },
            TokenomicsError::NonPositivePrice,
        ),
        (
            |a| {
                a.price_source = PriceSource::Pyth {
                    feed_id: FEED_ID,
                    max_price_age_s: 0,
                }
            },
            TokenomicsError::InvalidMaxPriceAge,
        ),
    ];
    for (tweak, expected) in cases {
        let mut rt = Runtime::new();
        let deployer = rt.deployer.insecure_clone();
        let mut args = default_args(deployer.pubkey());
        tweak(&mut args);
        let outcome = rt.send(
            &[client::initialize(
                &deployer.pubkey(),
                &TOKEN_PROGRAM_ID,
                args,
            )],
            &[&deployer],
        );
        assert_error(&outcome, expected);
    }
}

/// The deployer initializes the network around `mint`, handed over by `mint_authority`.
fn adopt(
    rt: &mut Runtime,
    mint: &Pubkey,
    mint_authority: &Keypair,
    token_program: &Pubkey,
) -> Outcome {
    let deployer = rt.deployer.insecure_clone();
    let instruction = client::initialize_with_existing_mint(
        &deployer.pubkey(),
        mint,
        &mint_authority.pubkey(),
        token_program,
        default_args(deployer.pubkey()),
    );
    rt.send(&[instruction], &[&deployer, mint_authority])
}

#[test]
fn adopting_an_existing_mint_hands_minting_to_the_program_and_revokes_freezing() {
    let mut rt = Runtime::new();
    let old_authority = rt.funded_keypair();
    let mint = rt.create_mint(
        &TOKEN_PROGRAM_ID,
        9,
        &old_authority.pubkey(),
        Some(&old_authority.pubkey()),
    );
    rt.mint_to(
        &mint,
        &TOKEN_PROGRAM_ID,
        &old_authority,
        &old_authority.pubkey(),
        777,
    );

    let landed = adopt(&mut rt, &mint, &old_authority, &TOKEN_PROGRAM_ID).unwrap();

    let adopted = rt.mint(&mint);
    assert_eq!(
        Option::<anchor_lang::prelude::Pubkey>::from(adopted.mint_authority),
        Some(client::network_mint_authority_address())
    );
    assert_eq!(
        Option::<anchor_lang::prelude::Pubkey>::from(adopted.freeze_authority),
        None
    );
    let config: tokenomics::TokenomicsConfigV0 = rt.anchor_account(&client::config_address());
    assert_eq!(
        (config.initial_supply, config.supply_at_last_mint),
        (777, 777)
    );
    let event: TokenomicsInitialized = landed.event(&tokenomics::ID);
    assert!(event.adopted_existing_mint);
    assert_eq!(event.initial_supply, 777);

    // The old authority can no longer mint (spl-token OwnerMismatch = 4).
    let mint_more = spl_token_2022::instruction::mint_to(
        &TOKEN_PROGRAM_ID,
        &mint,
        &anchor_spl::associated_token::get_associated_token_address(&old_authority.pubkey(), &mint),
        &old_authority.pubkey(),
        &[],
        1,
    )
    .unwrap();
    let outcome = rt.send(&[mint_more], &[&old_authority]);
    assert_error(&outcome, 4u32);
}

#[test]
fn adopting_requires_the_mint_authority_to_sign() {
    let mut rt = Runtime::new();
    let real_authority = rt.funded_keypair();
    let impostor = rt.funded_keypair();
    let mint = rt.create_mint(&TOKEN_PROGRAM_ID, 6, &real_authority.pubkey(), None);
    let outcome = adopt(&mut rt, &mint, &impostor, &TOKEN_PROGRAM_ID);
    assert_error(&outcome, TokenomicsError::NotMintAuthority);
}

#[test]
fn adopting_refuses_a_mint_someone_else_can_freeze() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let freezer = rt.funded_keypair();
    let mint = rt.create_mint(
        &TOKEN_PROGRAM_ID,
        6,
        &authority.pubkey(),
        Some(&freezer.pubkey()),
    );
    let outcome = adopt(&mut rt, &mint, &authority, &TOKEN_PROGRAM_ID);
    assert_error(&outcome, TokenomicsError::ForeignFreezeAuthority);
}

#[test]
fn adopting_refuses_a_supply_above_max_supply() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let mint = rt.create_mint(&TOKEN_PROGRAM_ID, 6, &authority.pubkey(), None);
    rt.mint_to(
        &mint,
        &TOKEN_PROGRAM_ID,
        &authority,
        &authority.pubkey(),
        MAX_SUPPLY + 1,
    );
    let outcome = adopt(&mut rt, &mint, &authority, &TOKEN_PROGRAM_ID);
    assert_error(&outcome, TokenomicsError::SupplyAboveMax);
}

#[test]
fn adopting_refuses_a_mint_of_another_token_program_than_declared() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let mint = rt.create_mint(&TOKEN_2022_PROGRAM_ID, 6, &authority.pubkey(), None);
    let outcome = adopt(&mut rt, &mint, &authority, &TOKEN_PROGRAM_ID);
    assert_error(&outcome, AnchorError::ConstraintMintTokenProgram);
}

#[test]
fn a_token_2022_network_token_works_like_a_classic_one() {
    let mut network = TokenomicsNetwork::launch_adopting(TOKEN_2022_PROGRAM_ID, |args| args);
    let buyer = network.holder(10 * GWK);
    network.buy_credits(&buyer, 2 * GWK, 0).unwrap();
    assert_eq!(network.network_balance(&buyer.pubkey()), 8 * GWK);
    // 2 GWK at $0.50 = $1 = 100,000 credits of $0.00001.
    assert_eq!(network.credits_of(&buyer.pubkey()), 100_000);
    network.mint_epoch(0).unwrap();
    // The 2 GWK burn, smoothed at 50%, re-emits 1 GWK on top of the schedule.
    assert_eq!(
        network.rt.token_balance(&network.reward_vault),
        FIRST_STEP_EMISSION + GWK
    );
}

/// Creates a Token-2022 mint (6 decimals, mint authority `authority`) with one extension
/// initialized by `init_extension` before the mint itself.
fn token_2022_mint_with(
    rt: &mut Runtime,
    authority: &anchor_lang::prelude::Pubkey,
    extension: ExtensionType,
    init_extension: impl FnOnce(
        &anchor_lang::prelude::Pubkey,
    ) -> anchor_lang::solana_program::instruction::Instruction,
) -> anchor_lang::prelude::Pubkey {
    let mint = groundwork_harness::solana_keypair::Keypair::new();
    let space =
        ExtensionType::try_calculate_account_len::<spl_token_2022::state::Mint>(&[extension])
            .unwrap();
    let lamports = rt.svm.minimum_balance_for_rent_exemption(space);
    let payer = rt.payer.pubkey();
    let instructions = [
        anchor_lang::solana_program::system_instruction::create_account(
            &payer,
            &mint.pubkey(),
            lamports,
            space as u64,
            &TOKEN_2022_PROGRAM_ID,
        ),
        init_extension(&mint.pubkey()),
        spl_token_2022::instruction::initialize_mint2(
            &TOKEN_2022_PROGRAM_ID,
            &mint.pubkey(),
            authority,
            None,
            6,
        )
        .unwrap(),
    ];
    rt.send_ok(&instructions, &[&mint]);
    mint.pubkey()
}

#[test]
fn adopting_refuses_a_mint_with_a_permanent_delegate() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let delegate = anchor_lang::prelude::Pubkey::new_unique();
    let mint = token_2022_mint_with(
        &mut rt,
        &authority.pubkey(),
        ExtensionType::PermanentDelegate,
        |mint| {
            spl_token_2022::instruction::initialize_permanent_delegate(
                &TOKEN_2022_PROGRAM_ID,
                mint,
                &delegate,
            )
            .unwrap()
        },
    );
    let outcome = adopt(&mut rt, &mint, &authority, &TOKEN_2022_PROGRAM_ID);
    assert_error(&outcome, TokenomicsError::UnsupportedMintExtension);
}

#[test]
fn adopting_accepts_a_mint_with_a_metadata_pointer() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let mint = token_2022_mint_with(
        &mut rt,
        &authority.pubkey(),
        ExtensionType::MetadataPointer,
        |mint| {
            spl_token_2022::extension::metadata_pointer::instruction::initialize(
                &TOKEN_2022_PROGRAM_ID,
                mint,
                None,
                Some(*mint),
            )
            .unwrap()
        },
    );
    adopt(&mut rt, &mint, &authority, &TOKEN_2022_PROGRAM_ID).unwrap();
    let config: tokenomics::TokenomicsConfigV0 = rt.anchor_account(&client::config_address());
    assert_eq!(config.network_mint, mint);
}
