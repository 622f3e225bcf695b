//! The network bootstrap (SPEC 6): reads one network file and brings a cluster to it, program
//! by program, in order — tokenomics (mints, schedule, pricing), the registry (classes,
//! makers), staking (epoch timing, parameters), rewards (split, oracle set) — idempotently.
//! Each item is created when missing, left alone when it already matches, updated when it
//! differs and the authority may change it, and reported when it differs but cannot change
//! (a mint, a max supply, a genesis). A second run changes nothing and says so item by item.

pub mod config;

use std::fmt;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use device_registry::{DeviceClassV0, MakerV0, RegistryConfigV0};
use groundwork_client::ledger::{read, Ledger, LedgerError};
use groundwork_client::tokenomics::NetworkToken;
use groundwork_client::{device_registry as registry_client, reward_epochs as rewards_client};
use groundwork_client::{staking as staking_client, tokenomics as tokenomics_client};
use reward_epochs::{InitializeRewardsArgsV0, RewardConfigV0, RewardParamsV0};
use solana_keypair::Keypair;
use solana_signer::Signer;
use staking::{InitializeStakingArgsV0, StakingConfigV0};
use tokenomics::{
    InitializeArgsV0, TokenomicsConfigV0, UpdateEmissionControlsArgsV0, UpdatePricingArgsV0,
};

pub use config::{ConfigError, NetworkConfig};

/// The keys the bootstrap signs with.
pub struct Signers<'a> {
    /// The programs' upgrade authority: the only key their initialize instructions accept;
    /// pays for every account created.
    pub deployer: &'a Keypair,
    /// The network authority named in the file (adds classes, makers; updates parameters).
    pub authority: &'a Keypair,
    /// The current mint authority of an existing mint to adopt.
    pub mint_authority: Option<&'a Keypair>,
}

/// What happened to one item of the network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    Created,
    Unchanged,
    /// The chain differed and was brought to the file.
    Updated {
        from: String,
        to: String,
    },
    /// The chain differs and the bootstrap cannot change it.
    Differs {
        chain: String,
        file: String,
        why: &'static str,
    },
}

/// One item of the report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Item {
    pub what: String,
    pub change: Change,
}

/// Everything one run did, item by item.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub items: Vec<Item>,
    /// A plan (`plan`): nothing was sent; Created and Updated say what a run would do.
    pub planned: bool,
}

impl Report {
    fn record(&mut self, what: impl Into<String>, change: Change) {
        self.items.push(Item {
            what: what.into(),
            change,
        });
    }

    /// Whether the run sent nothing (the chain already matched, or differs only where the
    /// bootstrap cannot change it).
    pub fn changed_nothing(&self) -> bool {
        self.items
            .iter()
            .all(|item| matches!(item.change, Change::Unchanged | Change::Differs { .. }))
    }

    /// The items the run could not bring to the file.
    pub fn differences(&self) -> impl Iterator<Item = &Item> {
        self.items
            .iter()
            .filter(|item| matches!(item.change, Change::Differs { .. }))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (created, updated) = if self.planned {
            ("would create", "would update")
        } else {
            ("created   ", "updated   ")
        };
        for item in &self.items {
            match &item.change {
                Change::Created => writeln!(f, "{created} {}", item.what)?,
                Change::Unchanged => writeln!(f, "unchanged  {}", item.what)?,
                Change::Updated { from, to } => {
                    writeln!(f, "{updated} {}: {from} -> {to}", item.what)?
                }
                Change::Differs { chain, file, why } => writeln!(
                    f,
                    "DIFFERS    {}: chain has {chain}, file says {file} ({why})",
                    item.what
                )?,
            }
        }
        if self.changed_nothing() {
            writeln!(f, "nothing to do: the chain already matches the file")?;
        } else if self.planned {
            writeln!(f, "plan only: nothing was sent")?;
        }
        Ok(())
    }
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{what}: {source}")]
    Ledger {
        what: String,
        #[source]
        source: LedgerError,
    },
    #[error("the network authority in the file is {expected}, but the authority keypair is {given}: pass the authority's keypair")]
    WrongAuthority { expected: Pubkey, given: Pubkey },
    #[error("the file adopts mint {0}: its current mint authority must sign (pass its keypair)")]
    MintAuthorityMissing(Pubkey),
}

fn ledger_error(what: impl Into<String>) -> impl FnOnce(LedgerError) -> BootstrapError {
    let what = what.into();
    move |source| BootstrapError::Ledger { what, source }
}

fn shown<T: fmt::Debug>(value: &T) -> String {
    format!("{value:?}")
}

/// Brings the cluster behind `ledger` to `config`. Every transaction is paid by the deployer.
pub fn bootstrap(
    ledger: &mut dyn Ledger,
    config: &NetworkConfig,
    signers: &Signers<'_>,
) -> Result<Report, BootstrapError> {
    let authority = config.authority.0;
    if signers.authority.pubkey() != authority {
        return Err(BootstrapError::WrongAuthority {
            expected: authority,
            given: signers.authority.pubkey(),
        });
    }
    Run {
        ledger,
        config,
        signers,
        report: Report::default(),
        plan: false,
    }
    .all()
}

/// What [`bootstrap`] would do to the cluster behind `ledger`, item by item, sending nothing
/// and needing no signature: the authority may be a multisig whose members review the plan.
/// Items after a creation are planned as if it had landed (e.g. every class of a registry
/// that does not exist yet is "would create").
pub fn plan(ledger: &mut dyn Ledger, config: &NetworkConfig) -> Result<Report, BootstrapError> {
    // Stand-ins: instructions are built for their accounts' sake and never signed or sent.
    let deployer = Keypair::new();
    let authority = Keypair::new();
    let signers = Signers {
        deployer: &deployer,
        authority: &authority,
        mint_authority: Some(&authority),
    };
    Run {
        ledger,
        config,
        signers: &signers,
        report: Report {
            items: Vec::new(),
            planned: true,
        },
        plan: true,
    }
    .all()
}

struct Run<'a, 'b> {
    ledger: &'a mut dyn Ledger,
    config: &'a NetworkConfig,
    signers: &'a Signers<'b>,
    report: Report,
    /// Plan only: nothing is sent.
    plan: bool,
}

impl Run<'_, '_> {
    /// Every program in order.
    fn all(mut self) -> Result<Report, BootstrapError> {
        let token = self.tokenomics()?;
        self.registry()?;
        self.staking(token)?;
        self.rewards(token)?;
        Ok(self.report)
    }

    fn read<T: anchor_lang::AccountDeserialize>(
        &self,
        what: &str,
        address: &Pubkey,
    ) -> Result<Option<T>, BootstrapError> {
        read::<T>(&*self.ledger, address).map_err(ledger_error(format!("reading {what}")))
    }

    /// Sends `instructions` paid by the deployer and signed by `signers` too.
    fn send(
        &mut self,
        what: &str,
        instructions: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&Keypair],
    ) -> Result<(), BootstrapError> {
        if self.plan {
            return Ok(());
        }
        let mut all = vec![self.signers.deployer];
        all.extend(signers.iter().copied());
        self.ledger
            .send(instructions, &all)
            .map(|_| ())
            .map_err(ledger_error(what))
    }

    fn authority(&self) -> &Keypair {
        self.signers.authority
    }

    fn differs(&mut self, what: &str, chain: String, file: String, why: &'static str) {
        self.report
            .record(what, Change::Differs { chain, file, why });
    }

    fn tokenomics(&mut self) -> Result<NetworkToken, BootstrapError> {
        let config = self.config;
        let token_program = config.token.token_program.id();
        let address = tokenomics_client::config_address();
        let Some(chain) = self.read::<TokenomicsConfigV0>("the tokenomics config", &address)?
        else {
            let args = InitializeArgsV0 {
                authority: config.authority.0,
                reward_program: reward_epochs::ID,
                max_supply: config.token.max_supply,
                emission_schedule: config.emission_schedule(),
                net_emissions: config.net_emissions(),
                circuit_breaker: config.circuit_breaker(),
                price_source: config.price_source()?,
                usd_per_credit_e9: config.pricing.usd_per_credit_e9,
            };
            let deployer = self.signers.deployer.pubkey();
            let mint = match config.token.existing_mint {
                None => {
                    let instruction =
                        tokenomics_client::initialize(&deployer, &token_program, args);
                    self.send("initializing tokenomics", &[instruction], &[])?;
                    tokenomics_client::created_network_mint_address()
                }
                Some(mint) => {
                    let mint_authority = self
                        .signers
                        .mint_authority
                        .ok_or(BootstrapError::MintAuthorityMissing(mint.0))?;
                    let instruction = tokenomics_client::initialize_with_existing_mint(
                        &deployer,
                        &mint.0,
                        &mint_authority.pubkey(),
                        &token_program,
                        args,
                    );
                    self.send(
                        "initializing tokenomics around the existing mint",
                        &[instruction],
                        &[mint_authority],
                    )?;
                    mint.0
                }
            };
            self.report.record(
                format!(
                    "tokenomics (network token {mint}, credit mint {})",
                    tokenomics_client::credit_mint_address()
                ),
                Change::Created,
            );
            return Ok(NetworkToken {
                mint,
                token_program,
            });
        };

        let token = NetworkToken {
            mint: chain.network_mint,
            token_program,
        };
        if chain.authority != config.authority.0 {
            self.differs(
                "tokenomics authority",
                chain.authority.to_string(),
                config.authority.to_string(),
                "move it with the two-step authority transfer",
            );
        }
        if let Some(mint) = config.token.existing_mint {
            if mint.0 != chain.network_mint {
                self.differs(
                    "network token mint",
                    chain.network_mint.to_string(),
                    mint.0.to_string(),
                    "fixed at initialize",
                );
            }
        }
        if chain.max_supply == config.token.max_supply {
            self.report.record("max supply", Change::Unchanged);
        } else {
            self.differs(
                "max supply",
                chain.max_supply.to_string(),
                config.token.max_supply.to_string(),
                "fixed at initialize",
            );
        }

        let pricing = UpdatePricingArgsV0 {
            price_source: config.price_source()?,
            usd_per_credit_e9: config.pricing.usd_per_credit_e9,
        };
        let chain_pricing = UpdatePricingArgsV0 {
            price_source: chain.price_source,
            usd_per_credit_e9: chain.usd_per_credit_e9,
        };
        if pricing == chain_pricing {
            self.report.record("pricing", Change::Unchanged);
        } else {
            let instruction =
                tokenomics_client::update_pricing(&self.authority().pubkey(), pricing.clone());
            let authority = self.authority().insecure_clone();
            self.send("updating the pricing", &[instruction], &[&authority])?;
            self.report.record(
                "pricing",
                Change::Updated {
                    from: shown(&chain_pricing),
                    to: shown(&pricing),
                },
            );
        }

        let controls = UpdateEmissionControlsArgsV0 {
            net_emissions: config.net_emissions(),
            circuit_breaker: config.circuit_breaker(),
        };
        let chain_controls = UpdateEmissionControlsArgsV0 {
            net_emissions: chain.net_emissions,
            circuit_breaker: chain.circuit_breaker,
        };
        if controls == chain_controls {
            self.report
                .record("net emissions and circuit breaker", Change::Unchanged);
        } else {
            let instruction = tokenomics_client::update_emission_controls(
                &self.authority().pubkey(),
                controls.clone(),
            );
            let authority = self.authority().insecure_clone();
            self.send(
                "updating the emission controls",
                &[instruction],
                &[&authority],
            )?;
            self.report.record(
                "net emissions and circuit breaker",
                Change::Updated {
                    from: shown(&chain_controls),
                    to: shown(&controls),
                },
            );
        }

        let schedule = config.emission_schedule();
        if schedule == chain.emission_schedule {
            self.report.record("emission schedule", Change::Unchanged);
        } else if schedule.starts_with(&chain.emission_schedule) {
            let new_steps = schedule[chain.emission_schedule.len()..].to_vec();
            let instruction =
                tokenomics_client::append_emission_steps(&self.authority().pubkey(), new_steps);
            let authority = self.authority().insecure_clone();
            self.send("appending emission steps", &[instruction], &[&authority])?;
            self.report.record(
                "emission schedule",
                Change::Updated {
                    from: shown(&chain.emission_schedule),
                    to: shown(&schedule),
                },
            );
        } else {
            self.differs(
                "emission schedule",
                shown(&chain.emission_schedule),
                shown(&schedule),
                "steps are only appended after the last one; the past is never rewritten",
            );
        }
        Ok(token)
    }

    fn registry(&mut self) -> Result<(), BootstrapError> {
        let config = self.config;
        let authority = self.authority().insecure_clone();
        let address = registry_client::registry_config_address();
        let mut class_count =
            match self.read::<RegistryConfigV0>("the registry config", &address)? {
                Some(registry) => {
                    if registry.authority == config.authority.0 {
                        self.report.record("registry", Change::Unchanged);
                    } else {
                        self.differs(
                            "registry authority",
                            registry.authority.to_string(),
                            config.authority.to_string(),
                            "move it with the two-step authority transfer",
                        );
                    }
                    registry.device_class_count
                }
                None => {
                    let instruction = registry_client::initialize_registry(
                        &self.signers.deployer.pubkey(),
                        config.authority.0,
                    );
                    self.send("initializing the registry", &[instruction], &[])?;
                    self.report
                        .record(format!("registry (network id {address})"), Change::Created);
                    // A new registry has no classes.
                    0
                }
            };
        for (index, params) in config.class_params().into_iter().enumerate() {
            let class_id = u16::try_from(index)
                .map_err(|_| ConfigError::Invalid("too many device classes".into()))?;
            let what = format!("class {class_id} {:?}", params.name);
            let address = registry_client::device_class_address(class_id);
            match self.read::<DeviceClassV0>(&what, &address)? {
                Some(class) if class.params() == params => {
                    self.report.record(what, Change::Unchanged)
                }
                Some(class) => {
                    let instruction = registry_client::update_device_class(
                        &authority.pubkey(),
                        class_id,
                        params.clone(),
                    );
                    self.send(&format!("updating {what}"), &[instruction], &[&authority])?;
                    self.report.record(
                        what,
                        Change::Updated {
                            from: shown(&class.params()),
                            to: shown(&params),
                        },
                    );
                }
                None if class_id == class_count => {
                    let instruction = registry_client::add_device_class(
                        &authority.pubkey(),
                        class_id,
                        params,
                    );
                    self.send(&format!("adding {what}"), &[instruction], &[&authority])?;
                    self.report.record(what, Change::Created);
                    class_count += 1;
                }
                None => {
                    return Err(ConfigError::Invalid(format!(
                        "{what} cannot be added: the registry has {class_count} classes and adds them in order"
                    ))
                    .into())
                }
            }
        }
        let listed = self.config.classes.len();
        if usize::from(class_count) > listed {
            self.differs(
                "device classes",
                format!("{class_count} classes"),
                format!("{listed} classes"),
                "classes are never removed",
            );
        }

        for maker in &config.makers {
            let what = format!("maker {}", maker.0);
            let address = registry_client::maker_address(&maker.0);
            match self.read::<MakerV0>(&what, &address)? {
                Some(record) if record.approved => self.report.record(what, Change::Unchanged),
                existing => {
                    let instruction = registry_client::approve_maker(&authority.pubkey(), maker.0);
                    self.send(&format!("approving {what}"), &[instruction], &[&authority])?;
                    let change = match existing {
                        None => Change::Created,
                        Some(_) => Change::Updated {
                            from: "revoked".into(),
                            to: "approved".into(),
                        },
                    };
                    self.report.record(what, change);
                }
            }
        }
        Ok(())
    }

    fn staking(&mut self, token: NetworkToken) -> Result<(), BootstrapError> {
        let config = self.config;
        let params = config.staking_params()?;
        let epoch_len_s = config.epoch_len_s()?;
        let address = staking_client::config_address();
        let Some(chain) = self.read::<StakingConfigV0>("the staking config", &address)? else {
            let instruction = staking_client::initialize_staking(
                &self.signers.deployer.pubkey(),
                token,
                InitializeStakingArgsV0 {
                    authority: config.authority.0,
                    reward_program: reward_epochs::ID,
                    genesis_ts: config.epochs.genesis_unix,
                    epoch_len_s,
                    params,
                },
            );
            self.send("initializing staking", &[instruction], &[])?;
            self.report.record("staking", Change::Created);
            return Ok(());
        };
        if chain.authority != config.authority.0 {
            self.differs(
                "staking authority",
                chain.authority.to_string(),
                config.authority.to_string(),
                "move it with the two-step authority transfer",
            );
        }
        let timing = (chain.genesis_ts, chain.epoch_len_s);
        if timing == (config.epochs.genesis_unix, epoch_len_s) {
            self.report.record("epoch timing", Change::Unchanged);
        } else {
            self.differs(
                "epoch timing (genesis, length)",
                shown(&timing),
                shown(&(config.epochs.genesis_unix, epoch_len_s)),
                "fixed at initialize",
            );
        }
        if chain.params == params {
            self.report.record("staking parameters", Change::Unchanged);
        } else {
            let authority = self.authority().insecure_clone();
            let instruction = staking_client::update_staking_params(&authority.pubkey(), params);
            self.send(
                "updating the staking parameters",
                &[instruction],
                &[&authority],
            )?;
            self.report.record(
                "staking parameters",
                Change::Updated {
                    from: shown(&chain.params),
                    to: shown(&params),
                },
            );
        }
        Ok(())
    }

    fn rewards(&mut self, token: NetworkToken) -> Result<(), BootstrapError> {
        let config = self.config;
        let treasury = token.account_of(&config.rewards.treasury_owner.0);
        let oracles = config.oracles();
        let quorum = config.rewards.quorum;
        let params = RewardParamsV0 {
            split: config.split(),
            challenge_period_s: config.challenge_period_s()?,
        };
        let address = rewards_client::config_address();
        let deployer = self.signers.deployer.pubkey();
        let create_treasury = create_associated_token_account_idempotent(
            &deployer,
            &config.rewards.treasury_owner.0,
            &token.mint,
            &token.token_program,
        );
        let Some(chain) = self.read::<RewardConfigV0>("the reward config", &address)? else {
            let instruction = rewards_client::initialize_rewards(
                &deployer,
                token,
                &treasury,
                InitializeRewardsArgsV0 {
                    authority: config.authority.0,
                    split: params.split,
                    oracles,
                    quorum,
                    challenge_period_s: params.challenge_period_s,
                },
            );
            self.send("initializing rewards", &[create_treasury, instruction], &[])?;
            self.report.record("rewards", Change::Created);
            return Ok(());
        };
        let authority = self.authority().insecure_clone();
        if chain.authority != config.authority.0 {
            self.differs(
                "rewards authority",
                chain.authority.to_string(),
                config.authority.to_string(),
                "move it with the two-step authority transfer",
            );
        }
        if (chain.oracles.as_slice(), chain.quorum) == (oracles.as_slice(), quorum) {
            self.report
                .record("oracle set and quorum", Change::Unchanged);
        } else {
            let instruction =
                rewards_client::set_oracles(&authority.pubkey(), oracles.clone(), quorum);
            self.send("setting the oracle set", &[instruction], &[&authority])?;
            self.report.record(
                "oracle set and quorum",
                Change::Updated {
                    from: shown(&(&chain.oracles, chain.quorum)),
                    to: shown(&(&oracles, quorum)),
                },
            );
        }
        let chain_params = RewardParamsV0 {
            split: chain.split,
            challenge_period_s: chain.challenge_period_s,
        };
        if chain_params == params && chain.treasury == treasury {
            self.report
                .record("split, challenge period and treasury", Change::Unchanged);
        } else {
            let instruction = rewards_client::update_reward_params(
                &authority.pubkey(),
                &token.mint,
                &treasury,
                params,
            );
            self.send(
                "updating the reward parameters",
                &[create_treasury, instruction],
                &[&authority],
            )?;
            self.report.record(
                "split, challenge period and treasury",
                Change::Updated {
                    from: shown(&(chain_params, chain.treasury)),
                    to: shown(&(params, treasury)),
                },
            );
        }
        Ok(())
    }
}
