//! The bootstrap against the in-process runtime: it creates a whole network from the example
//! file, a second run changes nothing and says so item by item, and an edited file is applied
//! where the authority may change it and reported where it cannot.

use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use device_registry::{DeviceClassV0, RegistryConfigV0};
use groundwork_bootstrap::config::{ClassConfig, Key, PriceConfig};
use groundwork_bootstrap::{bootstrap, Change, NetworkConfig, Signers};
use groundwork_client::{device_registry as registry, reward_epochs as rewards};
use groundwork_client::{staking as staking_client, tokenomics as tokenomics_client};
use groundwork_harness::solana_keypair::Keypair;
use groundwork_harness::solana_signer::Signer;
use groundwork_harness::Runtime;
use reward_epochs::RewardConfigV0;
use staking::StakingConfigV0;
use tokenomics::{PriceSource, TokenomicsConfigV0};

const EXAMPLE: &str = include_str!("../network.example.toml");

/// The example file with this test's keys, genesis now and one-minute epochs.
fn network(rt: &Runtime, authority: &Keypair, oracles: &[Keypair]) -> NetworkConfig {
    let mut config = NetworkConfig::parse(EXAMPLE).expect("the example parses");
    config.authority = Key(authority.pubkey());
    config.rewards.treasury_owner = Key(authority.pubkey());
    config.rewards.oracles = oracles.iter().map(|oracle| Key(oracle.pubkey())).collect();
    config.makers = vec![Key(Pubkey::new_unique())];
    config.epochs.genesis_unix = rt.clock().unix_timestamp;
    config.epochs.length = Duration::from_secs(60);
    config
}

fn run(
    rt: &mut Runtime,
    config: &NetworkConfig,
    authority: &Keypair,
) -> groundwork_bootstrap::Report {
    let deployer = rt.deployer.insecure_clone();
    let signers = Signers {
        deployer: &deployer,
        authority,
        mint_authority: None,
    };
    bootstrap(rt, config, &signers).unwrap_or_else(|error| panic!("bootstrap: {error}"))
}

#[test]
fn the_example_network_file_parses() {
    let config = NetworkConfig::parse(EXAMPLE).unwrap();
    assert_eq!(config.classes.len(), 2);
    assert_eq!(config.epoch_len_s().unwrap(), 86_400);
    assert_eq!(config.challenge_period_s().unwrap(), 3_600);
    assert_eq!(config.rewards.quorum, 2);
    assert_eq!(
        config.price_source().unwrap(),
        PriceSource::Fixed {
            price_usd_e8: 50_000_000
        }
    );
}

#[test]
fn a_file_the_programs_would_refuse_is_refused_before_anything_is_sent() {
    let split = EXAMPLE.replace("treasury_bps = 1_000", "treasury_bps = 1_500");
    let error = NetworkConfig::parse(&split).unwrap_err().to_string();
    assert!(error.contains("must be 10,000"), "{error}");
    let quorum = EXAMPLE.replace("quorum = 2", "quorum = 4");
    let error = NetworkConfig::parse(&quorum).unwrap_err().to_string();
    assert!(error.contains("quorum"), "{error}");
    let typo = EXAMPLE.replace("smoothing_bps", "smothing_bps");
    let error = NetworkConfig::parse(&typo).unwrap_err().to_string();
    assert!(error.contains("smothing_bps"), "{error}");
    let key = EXAMPLE.replace("GV3dMhA2cdLnLGHbNeF3fpFpDVA1K5dYLmjJcaBCwKGa", "not-a-key");
    let error = NetworkConfig::parse(&key).unwrap_err().to_string();
    assert!(error.contains("not-a-key"), "{error}");
}

#[test]
fn the_bootstrap_creates_the_network_and_a_second_run_changes_nothing() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let oracles = [Keypair::new(), Keypair::new(), Keypair::new()];
    let config = network(&rt, &authority, &oracles);

    let first = run(&mut rt, &config, &authority);
    let created: Vec<&str> = first
        .items
        .iter()
        .filter(|item| item.change == Change::Created)
        .map(|item| item.what.as_str())
        .collect();
    assert_eq!(created.len(), 7, "{first}");
    assert!(!first.changed_nothing());

    // The four programs, wired to each other as the file says.
    let tokenomics: TokenomicsConfigV0 = rt.anchor_account(&tokenomics_client::config_address());
    assert_eq!(
        (
            tokenomics.authority,
            tokenomics.max_supply,
            tokenomics.reward_program
        ),
        (
            authority.pubkey(),
            config.token.max_supply,
            reward_epochs::ID
        )
    );
    assert_eq!(tokenomics.emission_schedule, config.emission_schedule());
    let registry_config: RegistryConfigV0 = rt.anchor_account(&registry::registry_config_address());
    assert_eq!(registry_config.device_class_count, 2);
    assert_eq!(registry_config.credit_mint, tokenomics.credit_mint);
    let hotspot: DeviceClassV0 = rt.anchor_account(&registry::device_class_address(0));
    assert_eq!(hotspot.params(), config.class_params()[0]);
    let staking_config: StakingConfigV0 = rt.anchor_account(&staking_client::config_address());
    assert_eq!(
        (staking_config.genesis_ts, staking_config.epoch_len_s),
        (config.epochs.genesis_unix, 60)
    );
    assert_eq!(staking_config.params, config.staking_params().unwrap());
    let reward_config: RewardConfigV0 = rt.anchor_account(&rewards::config_address());
    assert_eq!(reward_config.oracles, config.oracles());
    assert_eq!(
        (
            reward_config.genesis_ts,
            reward_config.epoch_len_s,
            reward_config.quorum
        ),
        (config.epochs.genesis_unix, 60, 2)
    );

    let second = run(&mut rt, &config, &authority);
    assert!(second.changed_nothing(), "{second}");
    assert!(
        second
            .items
            .iter()
            .all(|item| item.change == Change::Unchanged),
        "{second}"
    );
    assert!(second.to_string().contains("nothing to do"));
}

#[test]
fn an_edited_file_is_applied_where_it_may_be_and_reported_where_not() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let oracles = [Keypair::new(), Keypair::new(), Keypair::new()];
    let mut config = network(&rt, &authority, &oracles);
    run(&mut rt, &config, &authority);

    config.pricing.price = PriceConfig::Fixed {
        price_usd_e8: 75_000_000,
    };
    config.staking.unbonding_epochs = 3;
    config.rewards.quorum = 3;
    config.classes[1].onboarding_fee_credits = 600_000;
    config.classes.push(ClassConfig {
        name: "gateway".into(),
        onboarding_fee_credits: 1,
        location_fee_credits: 1,
        reward_weight_bps: 5_000,
        maker_attestation_required: false,
    });
    config.token.max_supply += 1;
    let report = run(&mut rt, &config, &authority);

    let change_of = |what: &str| {
        report
            .items
            .iter()
            .find(|item| item.what.starts_with(what))
            .unwrap_or_else(|| panic!("no item {what} in\n{report}"))
            .change
            .clone()
    };
    assert!(matches!(change_of("pricing"), Change::Updated { .. }));
    assert!(matches!(
        change_of("staking parameters"),
        Change::Updated { .. }
    ));
    assert!(matches!(change_of("oracle set"), Change::Updated { .. }));
    assert!(matches!(change_of("class 1"), Change::Updated { .. }));
    assert_eq!(change_of("class 2"), Change::Created);
    assert_eq!(change_of("class 0"), Change::Unchanged);
    assert!(matches!(
        change_of("max supply"),
        Change::Differs {
            why: "fixed at initialize",
            ..
        }
    ));
    assert_eq!(report.differences().count(), 1);

    let tokenomics: TokenomicsConfigV0 = rt.anchor_account(&tokenomics_client::config_address());
    assert_eq!(
        tokenomics.price_source,
        PriceSource::Fixed {
            price_usd_e8: 75_000_000
        }
    );
    let staking_config: StakingConfigV0 = rt.anchor_account(&staking_client::config_address());
    assert_eq!(staking_config.params.unbonding_epochs, 3);
    let reward_config: RewardConfigV0 = rt.anchor_account(&rewards::config_address());
    assert_eq!(reward_config.quorum, 3);
    let sensor: DeviceClassV0 = rt.anchor_account(&registry::device_class_address(1));
    assert_eq!(sensor.onboarding_fee_credits, 600_000);
    let gateway: DeviceClassV0 = rt.anchor_account(&registry::device_class_address(2));
    assert_eq!(gateway.name, "gateway");

    // Run again: only the difference it cannot apply remains.
    let again = run(&mut rt, &config, &authority);
    assert!(again.changed_nothing(), "{again}");
    assert_eq!(again.differences().count(), 1);
}

#[test]
fn the_bootstrap_refuses_to_run_without_the_network_authority() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let config = network(&rt, &authority, &[Keypair::new()]);
    let impostor = rt.funded_keypair();
    let deployer = rt.deployer.insecure_clone();
    let signers = Signers {
        deployer: &deployer,
        authority: &impostor,
        mint_authority: None,
    };
    let error = bootstrap(&mut rt, &config, &signers)
        .unwrap_err()
        .to_string();
    assert!(error.contains(&authority.pubkey().to_string()), "{error}");
    assert!(rt.account(&tokenomics_client::config_address()).is_none());
}

#[test]
fn a_plan_lists_what_a_run_then_does_and_sends_nothing() {
    let mut rt = Runtime::new();
    let authority = rt.funded_keypair();
    let oracles = [Keypair::new(), Keypair::new(), Keypair::new()];
    let mut config = network(&rt, &authority, &oracles);

    // On an empty cluster: everything would be created, nothing is.
    let plan = groundwork_bootstrap::plan(&mut rt, &config).unwrap();
    assert!(plan.planned);
    assert!(plan.to_string().contains("would create"), "{plan}");
    assert!(rt.account(&tokenomics_client::config_address()).is_none());
    assert!(rt.account(&registry::registry_config_address()).is_none());
    let report = run(&mut rt, &config, &authority);
    assert_eq!(plan.items, report.items);

    // After an edit: the plan names each update; the chain keeps its values until a run.
    config.staking.unbonding_epochs = 5;
    config.classes[0].location_fee_credits += 1;
    let plan = groundwork_bootstrap::plan(&mut rt, &config).unwrap();
    let staking_config: StakingConfigV0 = rt.anchor_account(&staking_client::config_address());
    assert_ne!(staking_config.params.unbonding_epochs, 5);
    let report = run(&mut rt, &config, &authority);
    assert_eq!(plan.items, report.items);
    assert_eq!(
        report
            .items
            .iter()
            .filter(|item| matches!(item.change, Change::Updated { .. }))
            .count(),
        2,
        "{report}"
    );
    let plan = groundwork_bootstrap::plan(&mut rt, &config).unwrap();
    assert!(plan.changed_nothing(), "{plan}");
}
