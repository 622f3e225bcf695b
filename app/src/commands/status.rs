//! `groundwork network status`: the network as the chain holds it now — programs, current
//! epoch and time to its end, supply, minted, burned, credit price, oracle set and quorum,
//! device and operator counts, roots waiting to activate.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result};
use clap::Subcommand;
use device_registry::RegistryConfigV0;
use groundwork_client::ledger::{read, Ledger};
use groundwork_client::{device_registry as registry, reward_epochs as rewards};
use groundwork_client::{staking as staking_client, tokenomics as tokenomics_client};
use reward_epochs::{EpochV0, RewardConfigV0, RootStatus};
use serde::Serialize;
use solana_commitment_config::CommitmentConfig;
use staking::StakingConfigV0;
use tokenomics::{PriceSource, TokenomicsConfigV0};

use crate::cluster::RpcLedger;
use crate::output::{format_amount, print, Output};

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Programs, epoch, supply, minted, burned, credit price, oracles, counts, pending roots.
    Status,
}

/// What `network status` shows.
#[derive(Debug, Serialize)]
pub struct NetworkStatus {
    pub programs: Programs,
    /// The registry config address: the network id devices sign into telemetry.
    pub network_id: String,
    pub network_mint: String,
    pub credit_mint: String,
    pub unix_timestamp: i64,
    pub genesis_unix: i64,
    pub current_epoch: u64,
    pub seconds_to_epoch_end: i64,
    pub epoch_length_s: i64,
    pub next_epoch_to_close: u64,
    pub supply: u64,
    pub max_supply: u64,
    pub minted_total: u64,
    pub burned_total: u64,
    pub price: String,
    pub usd_per_credit_e9: u64,
    pub oracles: Vec<String>,
    pub quorum: u8,
    pub operators: u64,
    pub devices: u64,
    pub device_classes: u16,
    pub staked_principal: u64,
    pub positions: u64,
    pub active_root_epoch: Option<u64>,
    pub device_pool_cumulative: u64,
    pub active_cumulative_total: u64,
    /// Closed epochs whose root is pending, with when it may activate.
    pub pending_roots: Vec<PendingRoot>,
    /// Operators' delegation pools: commission, stake and what their delegators were paid.
    pub pools: Vec<PoolStatus>,
    /// The network token's decimals (amounts here are in base units).
    pub decimals: u8,
    /// What the authority has set.
    pub parameters: Parameters,
}

/// One operator's delegation pool as the chain holds it.
#[derive(Debug, Serialize)]
pub struct PoolStatus {
    pub operator: String,
    /// The pool rewards account: the pool's recipient in the reward tree.
    pub rewards_account: String,
    /// Commission in force now, and a change waiting for its epoch.
    pub commission_bps: u16,
    pub pending_commission_bps: Option<u16>,
    pub pending_commission_epoch: Option<u64>,
    /// Tokens delegated (after slashes), members, and shares earning the pool's rewards.
    pub delegated: u64,
    pub members: u32,
    pub earning_shares: String,
    /// The last sweep: the root epoch it took rewards up to, and what it received (the
    /// pool's rewards of that epoch when every root that paid the pool was swept).
    pub last_swept_root_epoch: Option<u64>,
    pub last_received: u64,
    /// Everything the pool received, paid its members, and paid its operator (no member
    /// earning).
    pub total_received: u64,
    pub total_paid_to_members: u64,
    pub total_to_operator: u64,
}

/// The parameters the network authority sets, as they stand.
#[derive(Debug, Serialize)]
pub struct Parameters {
    /// The schedule's emission for the current epoch, before net emissions and the breaker.
    pub scheduled_emission_per_epoch: u64,
    pub net_emissions_cap_per_epoch: u64,
    pub net_emissions_smoothing_bps: u16,
    pub breaker_window_epochs: u16,
    pub breaker_max_mint_per_window: u64,
    pub split_devices_bps: u16,
    pub split_stakers_bps: u16,
    pub split_treasury_bps: u16,
    pub treasury: String,
    pub challenge_period_s: i64,
    pub staking: StakingParameters,
}

/// The staking program's parameters.
#[derive(Debug, Serialize)]
pub struct StakingParameters {
    pub max_bonus_bps: u32,
    pub saturation_s: i64,
    pub cooldown_epochs: u16,
    pub max_slash_bps: u16,
    pub unbonding_epochs: u16,
}

#[derive(Debug, Serialize)]
pub struct Programs {
    pub tokenomics: String,
    pub device_registry: String,
    pub staking: String,
    pub reward_epochs: String,
}

#[derive(Debug, Serialize)]
pub struct PendingRoot {
    pub epoch: u64,
    pub cumulative_total: u64,
    pub activates_at: i64,
}

fn required<T: anchor_lang::AccountDeserialize>(
    ledger: &dyn Ledger,
    what: &str,
    address: &Pubkey,
) -> Result<T> {
    read::<T>(ledger, address)?.with_context(|| {
        format!("{what} {address} does not exist: is the network bootstrapped on this cluster? (`groundwork bootstrap --network network.toml`)")
    })
}

/// How many of the newest closed epochs to look at for pending roots.
const PENDING_LOOKBACK_EPOCHS: u64 = 16;

/// Runs a `groundwork network` command against the cluster at `url`.
pub fn network(
    url: &str,
    commitment: CommitmentConfig,
    output: Output,
    command: NetworkCommand,
) -> Result<()> {
    match command {
        NetworkCommand::Status => {
            let ledger = RpcLedger::new(url, commitment);
            ledger.check_reachable()?;
            print(&read_status(&ledger)?, output)
        }
    }
}

pub fn read_status(ledger: &dyn Ledger) -> Result<NetworkStatus> {
    let tokenomics: TokenomicsConfigV0 = required(
        ledger,
        "the tokenomics config",
        &tokenomics_client::config_address(),
    )?;
    let registry_config: RegistryConfigV0 = required(
        ledger,
        "the registry config",
        &registry::registry_config_address(),
    )?;
    let staking_config: StakingConfigV0 = required(
        ledger,
        "the staking config",
        &staking_client::config_address(),
    )?;
    let reward_config: RewardConfigV0 =
        required(ledger, "the reward config", &rewards::config_address())?;
    let mint: anchor_spl::token_interface::Mint =
        required(ledger, "the network token mint", &tokenomics.network_mint)?;
    let supply = mint.supply;
    let now = ledger.unix_timestamp()?;
    let current_epoch = staking_config.epoch_at(now);
    let epoch_end = staking_config
        .epoch_end(current_epoch)
        .context("epoch end overflows")?;
    let mut pending_roots = Vec::new();
    let closed = reward_config.next_epoch_to_close;
    for epoch in closed.saturating_sub(PENDING_LOOKBACK_EPOCHS)..closed {
        if let Some(record) = read::<EpochV0>(ledger, &rewards::epoch_address(epoch))? {
            if record.status == RootStatus::Pending {
                pending_roots.push(PendingRoot {
                    epoch,
                    cumulative_total: record.pending_cumulative_total,
                    activates_at: record.activates_at,
                });
            }
        }
    }
    let mut pools = Vec::new();
    for (_, pool_rewards) in groundwork_client::ledger::accounts_of_type::<staking::PoolRewardsV0>(
        ledger,
        &staking_client::PROGRAM_ID,
        None,
    )? {
        let pool: Option<staking::OperatorPoolV0> = read(
            ledger,
            &staking_client::operator_pool_address(&pool_rewards.operator),
        )?;
        let pending = pool_rewards
            .pending_commission
            .filter(|change| change.effective_epoch > current_epoch);
        pools.push(PoolStatus {
            operator: pool_rewards.operator.to_string(),
            rewards_account: staking_client::pool_rewards_address(&pool_rewards.operator)
                .to_string(),
            commission_bps: pool_rewards.commission_for(current_epoch),
            pending_commission_bps: pending.map(|change| change.bps),
            pending_commission_epoch: pending.map(|change| change.effective_epoch),
            delegated: pool.as_ref().map_or(0, |pool| pool.tokens),
            members: pool.as_ref().map_or(0, |pool| pool.members),
            earning_shares: pool_rewards.earning_shares.to_string(),
            last_swept_root_epoch: pool_rewards.last_swept_root_epoch,
            last_received: pool_rewards.last_received,
            total_received: pool_rewards.total_swept,
            total_paid_to_members: pool_rewards.total_paid,
            total_to_operator: pool_rewards.total_to_operator,
        });
    }
    pools.sort_by(|a, b| {
        b.delegated
            .cmp(&a.delegated)
            .then(a.operator.cmp(&b.operator))
    });
    let price = match tokenomics.price_source {
        PriceSource::Fixed { price_usd_e8 } => format!(
            "fixed ${}.{:08} per token",
            price_usd_e8 / 100_000_000,
            price_usd_e8 % 100_000_000
        ),
        PriceSource::Pyth {
            feed_id,
            max_price_age_s,
        } => format!(
            "pyth feed 0x{} (at most {max_price_age_s} s old)",
            hex::encode(feed_id)
        ),
    };
    Ok(NetworkStatus {
        programs: Programs {
            tokenomics: tokenomics::ID.to_string(),
            device_registry: device_registry::ID.to_string(),
            staking: staking::ID.to_string(),
            reward_epochs: reward_epochs::ID.to_string(),
        },
        network_id: registry::registry_config_address().to_string(),
        network_mint: tokenomics.network_mint.to_string(),
        credit_mint: tokenomics.credit_mint.to_string(),
        unix_timestamp: now,
        genesis_unix: staking_config.genesis_ts,
        current_epoch,
        seconds_to_epoch_end: epoch_end - now,
        epoch_length_s: staking_config.epoch_len_s,
        next_epoch_to_close: closed,
        supply,
        max_supply: tokenomics.max_supply,
        minted_total: tokenomics.minted_total,
        burned_total: tokenomics.burned_total,
        price,
        usd_per_credit_e9: tokenomics.usd_per_credit_e9,
        oracles: reward_config
            .oracles
            .iter()
            .map(Pubkey::to_string)
            .collect(),
        quorum: reward_config.quorum,
        operators: registry_config.operator_count,
        devices: registry_config.device_count,
        device_classes: registry_config.device_class_count,
        staked_principal: staking_config.total_principal,
        positions: staking_config.position_count,
        active_root_epoch: reward_config.active_root_epoch,
        device_pool_cumulative: reward_config.device_pool_cumulative,
        active_cumulative_total: reward_config.active_cumulative_total,
        pending_roots,
        pools,
        decimals: mint.decimals,
        parameters: Parameters {
            scheduled_emission_per_epoch: tokenomics
                .emission_schedule
                .iter()
                .take_while(|step| step.start_epoch <= current_epoch)
                .last()
                .map_or(0, |step| step.tokens_per_epoch),
            net_emissions_cap_per_epoch: tokenomics.net_emissions.cap_per_epoch,
            net_emissions_smoothing_bps: tokenomics.net_emissions.smoothing_bps,
            breaker_window_epochs: tokenomics.circuit_breaker.window_epochs,
            breaker_max_mint_per_window: tokenomics.circuit_breaker.max_mint_per_window,
            split_devices_bps: reward_config.split.devices_bps,
            split_stakers_bps: reward_config.split.stakers_bps,
            split_treasury_bps: reward_config.split.treasury_bps,
            treasury: reward_config.treasury.to_string(),
            challenge_period_s: reward_config.challenge_period_s,
            staking: StakingParameters {
                max_bonus_bps: staking_config.params.max_bonus_bps,
                saturation_s: staking_config.params.saturation_s,
                cooldown_epochs: staking_config.params.cooldown_epochs,
                max_slash_bps: staking_config.params.max_slash_bps,
                unbonding_epochs: staking_config.params.unbonding_epochs,
            },
        },
    })
}

/// The current epoch and how much of it is left, or, before genesis, when epoch 0 starts.
fn epoch_words(
    now: i64,
    genesis: i64,
    epoch: u64,
    left_s: i64,
    length_s: i64,
    next_to_close: u64,
) -> String {
    if now < genesis {
        return format!(
            "none yet: epoch 0 starts in {} s ({}), epochs of {length_s} s",
            genesis - now,
            crate::output::format_time(genesis),
        );
    }
    format!("{epoch} ({left_s} s left of {length_s} s); next to close: {next_to_close}")
}

impl std::fmt::Display for NetworkStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gwk = |amount: u64| format_amount(amount, self.decimals);
        writeln!(f, "network id        {}", self.network_id)?;
        writeln!(
            f,
            "programs          tokenomics {}",
            self.programs.tokenomics
        )?;
        writeln!(
            f,
            "                  device_registry {}",
            self.programs.device_registry
        )?;
        writeln!(f, "                  staking {}", self.programs.staking)?;
        writeln!(
            f,
            "                  reward_epochs {}",
            self.programs.reward_epochs
        )?;
        writeln!(
            f,
            "epoch             {}",
            epoch_words(
                self.unix_timestamp,
                self.genesis_unix,
                self.current_epoch,
                self.seconds_to_epoch_end,
                self.epoch_length_s,
                self.next_epoch_to_close
            )
        )?;
        writeln!(
            f,
            "network token     {} supply {} (max {}), minted {}, burned {}",
            self.network_mint,
            gwk(self.supply),
            gwk(self.max_supply),
            gwk(self.minted_total),
            gwk(self.burned_total)
        )?;
        writeln!(
            f,
            "credits           {} at {} USD-e9 each; price {}",
            self.credit_mint, self.usd_per_credit_e9, self.price
        )?;
        writeln!(
            f,
            "oracles           {} of {}: {}",
            self.quorum,
            self.oracles.len(),
            self.oracles.join(", ")
        )?;
        writeln!(
            f,
            "registry          {} operators, {} devices, {} classes",
            self.operators, self.devices, self.device_classes
        )?;
        writeln!(
            f,
            "staking           {} staked in {} positions",
            gwk(self.staked_principal),
            self.positions
        )?;
        writeln!(
            f,
            "device rewards    pool {} minted, {} in the active root (epoch {})",
            gwk(self.device_pool_cumulative),
            gwk(self.active_cumulative_total),
            self.active_root_epoch
                .map_or_else(|| "none yet".to_string(), |epoch| epoch.to_string())
        )?;
        let parameters = &self.parameters;
        writeln!(
            f,
            "emission          {} per epoch scheduled; net emissions up to {} (smoothing {} bps); breaker {} per {} epochs",
            gwk(parameters.scheduled_emission_per_epoch),
            gwk(parameters.net_emissions_cap_per_epoch),
            parameters.net_emissions_smoothing_bps,
            gwk(parameters.breaker_max_mint_per_window),
            parameters.breaker_window_epochs
        )?;
        writeln!(
            f,
            "split             devices {} / stakers {} / treasury {} bps (treasury {}); challenge period {} s",
            parameters.split_devices_bps,
            parameters.split_stakers_bps,
            parameters.split_treasury_bps,
            parameters.treasury,
            parameters.challenge_period_s
        )?;
        let staking = &parameters.staking;
        writeln!(
            f,
            "staking params    bonus up to {} bps at {} s lockup; cooldown {} epochs; unbonding {} epochs; slash at most {} bps",
            staking.max_bonus_bps,
            staking.saturation_s,
            staking.cooldown_epochs,
            staking.unbonding_epochs,
            staking.max_slash_bps
        )?;
        if self.pools.is_empty() {
            writeln!(f, "pools             none")?;
        }
        for pool in &self.pools {
            writeln!(
                f,
                "pool              {}: commission {} bps{}; {} delegated by {} members; last sweep received {}{}; received {}, paid to members {}, to the operator {}",
                pool.operator,
                pool.commission_bps,
                match (pool.pending_commission_bps, pool.pending_commission_epoch) {
                    (Some(bps), Some(epoch)) => format!(" ({bps} bps from epoch {epoch})"),
                    _ => String::new(),
                },
                gwk(pool.delegated),
                pool.members,
                gwk(pool.last_received),
                pool.last_swept_root_epoch
                    .map_or_else(String::new, |epoch| format!(" (root of epoch {epoch})")),
                gwk(pool.total_received),
                gwk(pool.total_paid_to_members),
                gwk(pool.total_to_operator)
            )?;
        }
        if self.pending_roots.is_empty() {
            writeln!(f, "pending roots     none")?;
        }
        for root in &self.pending_roots {
            writeln!(
                f,
                "pending root      epoch {}: total {}, activates at {}",
                root.epoch,
                gwk(root.cumulative_total),
                root.activates_at
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn before_genesis_the_status_says_when_epoch_0_starts() {
        // Once printed "0 (41 s left of 30 s)".
        assert_eq!(
            epoch_words(1_796_630_389, 1_796_630_400, 0, 41, 30, 0),
            "none yet: epoch 0 starts in 11 s (2026-12-07 08:00:00 UTC), epochs of 30 s"
        );
        assert_eq!(
            epoch_words(1_796_630_410, 1_796_630_400, 0, 20, 30, 0),
            "0 (20 s left of 30 s); next to close: 0"
        );
    }
}
