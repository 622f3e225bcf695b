//! The network file: every parameter of a Groundwork network, in one annotated TOML
//! (`network.example.toml` beside this crate explains each field). Parsed into the programs'
//! own argument types, so what is checked here is what the programs will receive.

use std::str::FromStr;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use device_registry::DeviceClassParams;
use reward_epochs::EmissionSplit;
use serde::Deserialize;
use staking::StakingParams;
use tokenomics::{CircuitBreaker, EmissionStep, NetEmissions, PriceSource};

/// A base58 public key in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key(pub Pubkey);

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Pubkey::from_str(&text)
            .map(Key)
            .map_err(|_| serde::de::Error::custom(format!("{text:?} is not a base58 public key")))
    }
}

/// The whole network.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The network authority of all four programs (a wallet or a multisig vault).
    pub authority: Key,
    pub token: TokenConfig,
    pub emission: EmissionConfig,
    pub pricing: PricingConfig,
    pub epochs: EpochConfig,
    pub rewards: RewardsConfig,
    pub staking: StakingConfig,
    #[serde(default)]
    pub classes: Vec<ClassConfig>,
    /// Hardware makers approved to attest devices.
    #[serde(default)]
    pub makers: Vec<Key>,
}

/// Which token program owns the network token.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum TokenProgram {
    SplToken,
    Token2022,
}

impl TokenProgram {
    pub fn id(self) -> Pubkey {
        match self {
            TokenProgram::SplToken => anchor_spl::token::ID,
            TokenProgram::Token2022 => anchor_spl::token_2022::ID,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// An existing mint to adopt (its mint authority signs the bootstrap); absent: the program
    /// creates a new 6-decimal mint.
    pub existing_mint: Option<Key>,
    pub token_program: TokenProgram,
    /// The supply never exceeds this (base units).
    pub max_supply: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmissionConfig {
    /// `(start_epoch, tokens_per_epoch)` steps, in increasing start epochs.
    pub schedule: Vec<ScheduleStep>,
    /// Most smoothed burn re-emitted per epoch (base units).
    pub net_emissions_cap_per_epoch: u64,
    /// Weight of the newest epoch's burn in the moving average (basis points).
    pub smoothing_bps: u16,
    /// The circuit breaker: at most `breaker_max_mint_per_window` over any
    /// `breaker_window_epochs` consecutive epochs.
    pub breaker_window_epochs: u16,
    pub breaker_max_mint_per_window: u64,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ScheduleStep {
    pub start_epoch: u64,
    pub tokens_per_epoch: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "source", rename_all = "kebab-case")]
pub enum PriceConfig {
    /// A price set by the authority: USD per whole token, 8 decimals.
    Fixed { price_usd_e8: u64 },
    /// A Pyth feed (hex id), refused when older than `max_price_age`.
    Pyth {
        feed_id: String,
        #[serde(with = "humantime_serde")]
        max_price_age: Duration,
    },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    pub price: PriceConfig,
    /// USD per credit, 9 decimals (10,000 = $0.00001).
    pub usd_per_credit_e9: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochConfig {
    /// Unix time at which epoch 0 starts (shared by staking and rewards).
    pub genesis_unix: i64,
    #[serde(with = "humantime_serde")]
    pub length: Duration,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RewardsConfig {
    pub devices_bps: u16,
    pub stakers_bps: u16,
    pub treasury_bps: u16,
    /// Owner of the treasury: its associated token account of the network token receives the
    /// treasury share (created by the bootstrap if missing).
    pub treasury_owner: Key,
    #[serde(with = "humantime_serde")]
    pub challenge_period: Duration,
    pub oracles: Vec<Key>,
    pub quorum: u8,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingConfig {
    pub max_bonus_bps: u32,
    #[serde(with = "humantime_serde")]
    pub saturation: Duration,
    pub cooldown_epochs: u16,
    pub max_slash_bps: u16,
    pub unbonding_epochs: u16,
    /// Most commission an operator may keep of its pool's device rewards (basis points).
    pub max_commission_bps: u16,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassConfig {
    pub name: String,
    pub onboarding_fee_credits: u64,
    pub location_fee_credits: u64,
    pub reward_weight_bps: u16,
    #[serde(default)]
    pub maker_attestation_required: bool,
}

/// A file that cannot be used, with what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("network file: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("network file: {0}")]
    Invalid(String),
}

fn seconds(duration: Duration, what: &str) -> Result<i64, ConfigError> {
    i64::try_from(duration.as_secs())
        .map_err(|_| ConfigError::Invalid(format!("{what} is too long")))
}

impl NetworkConfig {
    /// Parses and checks a network file.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: NetworkConfig = toml::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    /// The rules the programs would refuse, said before anything is sent.
    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_string()));
        if self.emission.schedule.is_empty() {
            return invalid("emission.schedule needs at least one step");
        }
        if self.epoch_len_s()? <= 0 {
            return invalid("epochs.length must be at least one second");
        }
        let split = u32::from(self.rewards.devices_bps)
            + u32::from(self.rewards.stakers_bps)
            + u32::from(self.rewards.treasury_bps);
        if split != 10_000 {
            return invalid("rewards: devices_bps + stakers_bps + treasury_bps must be 10,000");
        }
        if self.rewards.oracles.is_empty()
            || self.rewards.quorum == 0
            || usize::from(self.rewards.quorum) > self.rewards.oracles.len()
        {
            return invalid("rewards: quorum must be between 1 and the number of oracles");
        }
        if self.price_source().is_err() {
            return invalid("pricing.price.feed_id must be 32 bytes of hex");
        }
        for (index, class) in self.classes.iter().enumerate() {
            if class.name.is_empty() || class.name.len() > device_registry::MAX_CLASS_NAME_LEN {
                return Err(ConfigError::Invalid(format!(
                    "classes[{index}].name must be 1 to 32 bytes"
                )));
            }
        }
        Ok(())
    }

    pub fn epoch_len_s(&self) -> Result<i64, ConfigError> {
        seconds(self.epochs.length, "epochs.length")
    }

    pub fn emission_schedule(&self) -> Vec<EmissionStep> {
        self.emission
            .schedule
            .iter()
            .map(|step| EmissionStep {
                start_epoch: step.start_epoch,
                tokens_per_epoch: step.tokens_per_epoch,
            })
            .collect()
    }

    pub fn net_emissions(&self) -> NetEmissions {
        NetEmissions {
            cap_per_epoch: self.emission.net_emissions_cap_per_epoch,
            smoothing_bps: self.emission.smoothing_bps,
        }
    }

    pub fn circuit_breaker(&self) -> CircuitBreaker {
        CircuitBreaker {
            window_epochs: self.emission.breaker_window_epochs,
            max_mint_per_window: self.emission.breaker_max_mint_per_window,
        }
    }

    pub fn price_source(&self) -> Result<PriceSource, ConfigError> {
        match &self.pricing.price {
            PriceConfig::Fixed { price_usd_e8 } => Ok(PriceSource::Fixed {
                price_usd_e8: *price_usd_e8,
            }),
            PriceConfig::Pyth {
                feed_id,
                max_price_age,
            } => {
                let bytes = hex::decode(feed_id.trim_start_matches("0x"))
                    .map_err(|_| ConfigError::Invalid("pricing.price.feed_id is not hex".into()))?;
                let feed_id: [u8; 32] = bytes.try_into().map_err(|_| {
                    ConfigError::Invalid("pricing.price.feed_id is not 32 bytes".into())
                })?;
                let max_price_age_s = u32::try_from(max_price_age.as_secs()).map_err(|_| {
                    ConfigError::Invalid("pricing.price.max_price_age is too long".into())
                })?;
                Ok(PriceSource::Pyth {
                    feed_id,
                    max_price_age_s,
                })
            }
        }
    }

    pub fn split(&self) -> EmissionSplit {
        EmissionSplit {
            devices_bps: self.rewards.devices_bps,
            stakers_bps: self.rewards.stakers_bps,
            treasury_bps: self.rewards.treasury_bps,
        }
    }

    pub fn challenge_period_s(&self) -> Result<i64, ConfigError> {
        seconds(self.rewards.challenge_period, "rewards.challenge_period")
    }

    pub fn staking_params(&self) -> Result<StakingParams, ConfigError> {
        Ok(StakingParams {
            max_bonus_bps: self.staking.max_bonus_bps,
            saturation_s: seconds(self.staking.saturation, "staking.saturation")?,
            cooldown_epochs: self.staking.cooldown_epochs,
            max_slash_bps: self.staking.max_slash_bps,
            unbonding_epochs: self.staking.unbonding_epochs,
            max_commission_bps: self.staking.max_commission_bps,
        })
    }

    pub fn class_params(&self) -> Vec<DeviceClassParams> {
        self.classes
            .iter()
            .map(|class| DeviceClassParams {
                name: class.name.clone(),
                onboarding_fee_credits: class.onboarding_fee_credits,
                location_fee_credits: class.location_fee_credits,
                reward_weight_bps: class.reward_weight_bps,
                maker_attestation_required: class.maker_attestation_required,
            })
            .collect()
    }

    pub fn oracles(&self) -> Vec<Pubkey> {
        self.rewards.oracles.iter().map(|key| key.0).collect()
    }
}
