//! The line `groundwork localnet` prints for each epoch: the epoch closed, then what it
//! minted, burned and paid read back from chain, what the devices' telemetry did, what the
//! oracles verified and voted, and where the device rewards stand.

use anchor_lang::AccountDeserialize;
use anyhow::{Context, Result};
use groundwork_client::ledger::{read, Ledger};
use groundwork_client::{reward_epochs as rewards, tokenomics as tokenomics_client};
use reward_epochs::state::RootStatus;
use reward_epochs::{ClaimV0, EpochV0, RewardConfigV0};
use serde::Serialize;
use solana_signer::Signer;
use tokenomics::TokenomicsConfigV0;

use super::keys::Wallets;
use super::world::World;
use crate::cluster::RpcLedger;
use crate::oracle_api::oracle_get;
use crate::output::format_amount;

/// What one epoch did, as printed (and checked by the tests).
#[derive(Debug, Serialize)]
pub struct EpochLine {
    pub epoch: u64,
    pub minted: u64,
    pub device_share: u64,
    pub staker_share: u64,
    pub treasury_share: u64,
    /// Device rewards minted and not yet in an active root (oracle roots fill this in).
    pub device_pool_awaiting_roots: u64,
    pub minted_total: u64,
    pub burned_total: u64,
    pub supply: u64,
    pub initial_supply: u64,
    /// Telemetry during the epoch: devices the oracle heard, messages accepted, rejected by
    /// reason.
    pub devices_heard: u64,
    pub messages_accepted: u64,
    pub messages_rejected: u64,
    pub rejected_by_reason: std::collections::BTreeMap<String, u64>,
    /// Credits bought and spent (fees and payments) since the start, and held now.
    pub credits_bought: u64,
    pub credits_spent: u64,
    pub credits_held: u64,
    /// Staker rewards funded and claimed since the start.
    pub staker_funded: u64,
    pub staker_claimed: u64,
    /// The newest epoch the first oracle has verified by now (it follows a few seconds
    /// behind the close: finality, the seal, the peers' sets).
    pub verified: Option<VerifiedWork>,
    /// Where that epoch's root stands on chain, and the newest active root.
    pub root: Option<RootLine>,
    /// The device rewards' books: what the active root distributes, what claims paid, what
    /// the reward vault holds (always the device pools minted less the claims paid).
    pub active_cumulative_total: u64,
    pub rewards_claimed_total: u64,
    pub reward_vault: u64,
    /// The recipients here (operators, and one without SOL an oracle claims for) the active
    /// root owes something, and how many of them claims have paid in full.
    pub recipients_owed: usize,
    pub recipients_paid_in_full: usize,
    /// What claims paid the recipient without SOL (its oracle relays them).
    pub relayed_claimed: u64,
    /// Delegation that pays: what the operators' pools received (claimed and swept by the
    /// relaying oracle), and what delegated positions claimed of it.
    pub pool_rewards_received: u64,
    pub delegation_rewards_claimed: u64,
}

/// An epoch's root on chain.
#[derive(Debug, Serialize)]
pub struct RootLine {
    pub epoch: u64,
    /// The oracles' votes for it (all for the same root when they agree).
    pub votes: usize,
    pub quorum: u8,
    /// voting, pending or active.
    pub status: String,
    /// The newest epoch whose root is active (claims use it).
    pub active_root_epoch: Option<u64>,
    /// Whether the first oracle has published the epoch's bundle (SPEC 4.6).
    pub bundle_published: bool,
}

/// An epoch's verified work, as the oracle serves it (`GET /v1/epochs/{n}/rewards`).
#[derive(Debug, Serialize)]
pub struct VerifiedWork {
    pub epoch: u64,
    pub devices: u64,
    pub devices_rewarded: u64,
    /// Rewarded devices whose beacons other operators' devices heard (full coverage), and
    /// those paid the unverified factor.
    pub coverage_verified: u64,
    pub coverage_unverified: u64,
    pub zeroed_by_reason: std::collections::BTreeMap<String, u64>,
    /// The epoch's device pool as the oracle reports it (its device share plus the dust
    /// carried in), the dust carried in and on, and what the epoch paid: how much its
    /// cumulative total grew over the total it adds to (read from the two reports, not from
    /// the pool), so `paid + dust == pool` checks the oracle's books.
    pub pool: u64,
    pub carried_dust_in: u64,
    pub paid: u64,
    pub dust: u64,
    pub root: String,
    /// How many of the local oracles computed this same root for the epoch by now, and how
    /// many another one (never, when they merged each other's sets).
    pub oracles_agreeing: usize,
    pub oracles_disagreeing: usize,
}

impl VerifiedWork {
    /// The newest epoch at or below `epoch` the first of `oracles` has verified, and how many
    /// of them computed the same root.
    fn newest(oracles: &[String], epoch: u64) -> Option<Self> {
        let root_of = |oracle: &str, epoch: u64| -> Option<String> {
            let work = oracle_get(oracle, &format!("/v1/epochs/{epoch}/rewards")).ok()?;
            Some(work["root"].as_str()?.to_string())
        };
        (epoch.saturating_sub(3)..=epoch).rev().find_map(|epoch| {
            let work = oracle_get(oracles.first()?, &format!("/v1/epochs/{epoch}/rewards")).ok()?;
            let root = work["root"].as_str()?.to_string();
            let others: Vec<Option<String>> = oracles
                .iter()
                .map(|oracle| root_of(oracle, epoch))
                .collect();
            Some(VerifiedWork {
                epoch,
                devices: work["devices"]["total"].as_u64()?,
                devices_rewarded: work["devices"]["rewarded"].as_u64()?,
                coverage_verified: work["devices"]["coverage_verified"].as_u64()?,
                coverage_unverified: work["devices"]["coverage_unverified"].as_u64()?,
                zeroed_by_reason: serde_json::from_value(
                    work["devices"]["zeroed_by_reason"].clone(),
                )
                .ok()?,
                pool: work["pool"].as_u64()?,
                carried_dust_in: work["carried_dust_in"].as_u64()?,
                paid: {
                    let total = work["cumulative_total"].as_u64()?;
                    let base_total = match work["base_epoch"].as_u64() {
                        Some(base) => {
                            oracle_get(oracles.first()?, &format!("/v1/epochs/{base}/rewards"))
                                .ok()?["cumulative_total"]
                                .as_u64()?
                        }
                        None => 0,
                    };
                    total.checked_sub(base_total)?
                },
                dust: work["dust"].as_u64()?,
                oracles_agreeing: others
                    .iter()
                    .filter(|other| other.as_ref() == Some(&root))
                    .count(),
                oracles_disagreeing: others
                    .iter()
                    .filter(|other| other.as_ref().is_some_and(|other| *other != root))
                    .count(),
                root,
            })
        })
    }
}

impl std::fmt::Display for EpochLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>5}  {:>7}  {:>8}  {:>8}  {:>11}  {:>11}  {:>14}  {:>14}  {:>14}  {:>14}  {:>18}  {}",
            self.epoch,
            self.devices_heard,
            self.messages_accepted,
            self.messages_rejected,
            self.credits_bought,
            self.credits_spent,
            format_amount(self.minted, 6),
            format_amount(self.device_pool_awaiting_roots, 6),
            format_amount(self.staker_claimed, 6),
            format_amount(self.burned_total, 6),
            format_amount(self.supply, 6),
            if self.rejected_by_reason.is_empty() {
                "-".to_string()
            } else {
                self.rejected_by_reason
                    .iter()
                    .map(|(code, count)| format!("{code} {count}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        )?;
        if let Some(verified) = &self.verified {
            write!(
                f,
                "\n       verified epoch {}: {} of {} devices rewarded ({} heard by other operators' devices, {} unverified coverage), {} paid, {} carried, root {}…{}",
                verified.epoch,
                verified.devices_rewarded,
                verified.devices,
                verified.coverage_verified,
                verified.coverage_unverified,
                format_amount(verified.paid, 6),
                format_amount(verified.dust, 6),
                &verified.root[..8],
                if verified.zeroed_by_reason.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; zeroed: {}",
                        verified
                            .zeroed_by_reason
                            .iter()
                            .map(|(reason, count)| format!("{reason} {count}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            )?;
        }
        write!(
            f,
            "\n       rewards: {} in the active root, {} claimed ({} of {} recipients paid in full, {} relayed), vault {} = minted {} - claimed",
            format_amount(self.active_cumulative_total, 6),
            format_amount(self.rewards_claimed_total, 6),
            self.recipients_paid_in_full,
            self.recipients_owed,
            format_amount(self.relayed_claimed, 6),
            format_amount(self.reward_vault, 6),
            format_amount(self.reward_vault + self.rewards_claimed_total, 6),
        )?;
        write!(
            f,
            "\n       delegation: the operators' pools received {} of their devices' stake-multiplier rewards; delegated positions claimed {}",
            format_amount(self.pool_rewards_received, 6),
            format_amount(self.delegation_rewards_claimed, 6),
        )?;
        if let Some(root) = &self.root {
            write!(
                f,
                "\n       root of epoch {}: {} vote(s), quorum {}, {}; active root: {}; bundle {}",
                root.epoch,
                root.votes,
                root.quorum,
                root.status,
                root.active_root_epoch
                    .map_or("none yet".to_string(), |epoch| format!("epoch {epoch}")),
                if root.bundle_published {
                    "published"
                } else {
                    "not published yet"
                },
            )?;
        }
        Ok(())
    }
}

/// Whether `oracle` has published `epoch`'s bundle, waiting up to five seconds: it publishes
/// within seconds of storing the report the line was just given.
fn bundle_published(oracle: &str, epoch: u64) -> bool {
    let started = std::time::Instant::now();
    loop {
        let reply = oracle_get(oracle, &format!("/v1/epochs/{epoch}/bundle")).ok();
        let published = reply
            .as_ref()
            .is_some_and(|reply| reply["published"] == true);
        // A report adopted from a peer is never published by this oracle: no wait for it.
        let adopted = reply
            .as_ref()
            .is_some_and(|reply| reply["computed_here"] == false);
        if published || adopted || started.elapsed() > std::time::Duration::from_secs(5) {
            return published;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}

pub(super) const TABLE_HEADER: &str = "epoch  devices  accepted  rejected  credits bought  credits spent          minted  awaiting roots  staker claims          burned              supply  rejected because";

/// Closes `epoch` and reads back what it did, with what the world did during it.
pub(super) fn close_epoch(
    ledger: &mut RpcLedger,
    wallets: &Wallets,
    world: &mut World,
    oracle_urls: &[String],
    epoch: u64,
) -> Result<EpochLine> {
    let reward_config: RewardConfigV0 =
        read(&*ledger, &rewards::config_address())?.context("rewards are missing")?;
    let instruction = rewards::close_epoch(
        &wallets.authority.pubkey(),
        world.token,
        &reward_config.treasury,
        epoch,
    );
    ledger
        .send(&[instruction], &[&wallets.authority])
        .with_context(|| format!("closing epoch {epoch}"))?;
    // The oracles' newest verified work and whether its bundle is published (waiting a few
    // seconds for it) first: the chain state below is then read at one moment, so the books
    // balance whatever claims land meanwhile.
    let verified = VerifiedWork::newest(oracle_urls, epoch);
    let published = verified.as_ref().is_some_and(|verified| {
        oracle_urls
            .first()
            .is_some_and(|oracle| bundle_published(oracle, verified.epoch))
    });
    let record: EpochV0 =
        read(&*ledger, &rewards::epoch_address(epoch))?.context("the epoch record is missing")?;
    let tokenomics: TokenomicsConfigV0 =
        read(&*ledger, &tokenomics_client::config_address())?.context("tokenomics is missing")?;
    // What claims paid and what the vault holds, read from one slot: a claim landing
    // between two reads would unbalance the books.
    let [config_account, vault_account]: [Option<solana_account::Account>; 2] = ledger
        .accounts_at_once(&[rewards::config_address(), rewards::reward_vault_address()])?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the cluster answered another number of accounts"))?;
    let reward_config = RewardConfigV0::try_deserialize(
        &mut config_account
            .context("rewards are missing")?
            .data
            .as_slice(),
    )?;
    let reward_vault = vault_account
        .map(|vault| {
            anchor_spl::token_interface::TokenAccount::try_deserialize(&mut vault.data.as_slice())
        })
        .transpose()?
        .map_or(0, |vault| vault.amount);
    let staking_config: staking::StakingConfigV0 =
        read(&*ledger, &groundwork_client::staking::config_address())?
            .context("staking is missing")?;
    let telemetry = world.take_epoch_telemetry();
    let root =
        match &verified {
            Some(verified) => read::<EpochV0>(&*ledger, &rewards::epoch_address(verified.epoch))?
                .map(|record| RootLine {
                    epoch: verified.epoch,
                    votes: record.votes.len(),
                    quorum: reward_config.quorum,
                    status: match record.status {
                        RootStatus::Voting => "voting",
                        RootStatus::Pending => "pending",
                        RootStatus::Active => "active",
                    }
                    .to_string(),
                    active_root_epoch: reward_config.active_root_epoch,
                    bundle_published: published,
                }),
            None => None,
        };
    let pools = groundwork_client::ledger::accounts_of_type::<staking::PoolRewardsV0>(
        &*ledger,
        &groundwork_client::staking::PROGRAM_ID,
        None,
    )?;
    let pool_rewards_received = pools.iter().map(|(_, pool)| pool.total_swept).sum();
    let mut delegation_rewards_claimed = 0;
    for staker in &world.actors.stakers {
        if let Some(position) = read::<staking::PositionV0>(
            &*ledger,
            &groundwork_client::staking::position_address(&staker.pubkey(), 0),
        )? {
            delegation_rewards_claimed += position.claimed_pool_rewards;
        }
    }
    let mut recipients_owed = 0;
    let mut recipients_paid_in_full = 0;
    let mut relayed_claimed = 0;
    for recipient in world.recipients() {
        let claimed = read::<ClaimV0>(&*ledger, &rewards::claim_address(&recipient))?
            .map_or(0, |claim| claim.claimed);
        if recipient == world.actors.recipient_without_sol.pubkey() {
            relayed_claimed = claimed;
        }
        let leaf = oracle_urls.first().and_then(|oracle| {
            oracle_get(oracle, &format!("/v1/rewards/{recipient}")).ok()?["cumulative_amount"]
                .as_u64()
        });
        if let Some(leaf) = leaf.filter(|leaf| *leaf > 0) {
            recipients_owed += 1;
            if claimed == leaf {
                recipients_paid_in_full += 1;
            }
        }
    }
    Ok(EpochLine {
        epoch,
        minted: record.minted,
        device_share: record.device_share,
        staker_share: record.staker_share,
        treasury_share: record.treasury_share,
        device_pool_awaiting_roots: reward_config
            .device_pool_cumulative
            .saturating_sub(reward_config.active_cumulative_total),
        minted_total: tokenomics.minted_total,
        burned_total: tokenomics.burned_total,
        supply: groundwork_client::ledger::mint_supply(&*ledger, &tokenomics.network_mint)?
            .context("the network mint is missing")?,
        initial_supply: tokenomics.initial_supply,
        devices_heard: telemetry.devices_heard(),
        messages_accepted: telemetry.accepted,
        messages_rejected: telemetry.rejected_total(),
        rejected_by_reason: telemetry.rejected.clone(),
        credits_bought: world.credits_bought,
        credits_spent: world.credits_spent,
        credits_held: world.credits_held(ledger),
        staker_funded: staking_config.total_funded,
        staker_claimed: staking_config.total_claimed,
        verified,
        root,
        active_cumulative_total: reward_config.active_cumulative_total,
        rewards_claimed_total: reward_config.total_claimed,
        reward_vault,
        recipients_owed,
        recipients_paid_in_full,
        relayed_claimed,
        pool_rewards_received,
        delegation_rewards_claimed,
    })
}
