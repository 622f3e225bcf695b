//! The people of `groundwork localnet` at work: three operators with devices across several H3
//! cells (two of the third operator's devices cheat: one teleports, one has a cloned key; one
//! of the first operator's is suspended), a dApp that buys credits and pays devices for
//! service every epoch, and two stakers who lock, delegate and claim. Their keypairs are
//! [`super::keys`]'s; what they did is tallied for the per-epoch table.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent;
use anchor_spl::token::spl_token;
use anyhow::{bail, Context as _, Result};
use device_registry::RegisterOperatorArgsV0;
use groundwork_client::device_registry::{self as registry, Onboarding};
use groundwork_client::ledger::{read, Ledger};
use groundwork_client::tokenomics::NetworkToken;
use groundwork_client::{
    reward_epochs as rewards_client, staking as staking_client, tokenomics as tokenomics_client,
};
use groundwork_oracle::core::clock::{Clock, SystemClock};
use groundwork_telemetry::Key;
use solana_keypair::Keypair;
use solana_signer::Signer;
use staking::{CreatePositionArgsV0, LockupArgs, LockupKind, PositionV0, StakingConfigV0};
use tokenomics::BurnForCreditsArgsV0;

use super::keys::{load_or_create, Actors};
use crate::cluster::RpcLedger;
use crate::device_sim::{post, round_with_witnesses, Behaviour, SimulatedDevice, Tally};
use crate::oracle_api::oracle_get;

/// One whole network token (6 decimals).
const GWK: u64 = 1_000_000;
/// The token supply the localnet's mint starts with, all held by the authority.
pub const INITIAL_SUPPLY: u64 = 100_000_000 * GWK;
const OPERATOR_TOKENS: u64 = 50_000 * GWK;
const DAPP_TOKENS: u64 = 200_000 * GWK;
const STAKER_TOKENS: u64 = 50_000 * GWK;
/// Tokens each operator burns for credits at setup (enough for its devices' fees).
const OPERATOR_CREDIT_PURCHASE: u64 = 1_000 * GWK;
/// Tokens the dApp burns for credits every epoch, and credits it pays each device.
const DAPP_PURCHASE_PER_EPOCH: u64 = 20 * GWK;
const PAYMENT_PER_DEVICE: u64 = 10_000;
/// The first operator's commission on its pool's device rewards.
pub(super) const FIRST_OPERATOR_COMMISSION_BPS: u16 = 2_000;
/// San Francisco, where the simulated devices stand.
const ORIGIN: (f64, f64) = (37.7749, -122.4194);

/// Seconds between two rounds of device telemetry.
pub(super) const TELEMETRY_ROUND: Duration = Duration::from_secs(2);

/// Creates the network token mint (6 decimals, the authority as mint authority) with the
/// initial supply in the authority's account, and gives the participants their tokens; the
/// bootstrap then hands the mint over to tokenomics.
pub fn create_token(
    ledger: &mut RpcLedger,
    authority: &Keypair,
    mint: &Keypair,
    actors: &Actors,
) -> Result<NetworkToken> {
    let token = NetworkToken {
        mint: mint.pubkey(),
        token_program: spl_token::ID,
    };
    let space = 82;
    let rent = ledger
        .client
        .get_minimum_balance_for_rent_exemption(space)?;
    let create = anchor_lang::solana_program::system_instruction::create_account(
        &authority.pubkey(),
        &mint.pubkey(),
        rent,
        space as u64,
        &spl_token::ID,
    );
    let initialize = spl_token::instruction::initialize_mint2(
        &spl_token::ID,
        &mint.pubkey(),
        &authority.pubkey(),
        None,
        6,
    )?;
    let treasury = token.account_of(&authority.pubkey());
    let treasury_account = create_associated_token_account_idempotent(
        &authority.pubkey(),
        &authority.pubkey(),
        &mint.pubkey(),
        &spl_token::ID,
    );
    let mint_supply = spl_token::instruction::mint_to(
        &spl_token::ID,
        &mint.pubkey(),
        &treasury,
        &authority.pubkey(),
        &[],
        INITIAL_SUPPLY,
    )?;
    ledger
        .send(
            &[create, initialize, treasury_account, mint_supply],
            &[authority, mint],
        )
        .context("creating the localnet's network token")?;
    let mut gifts: Vec<(Pubkey, u64)> = actors
        .operators
        .iter()
        .map(|operator| (operator.pubkey(), OPERATOR_TOKENS))
        .collect();
    gifts.push((actors.dapp.pubkey(), DAPP_TOKENS));
    gifts.extend(
        actors
            .stakers
            .iter()
            .map(|staker| (staker.pubkey(), STAKER_TOKENS)),
    );
    for (owner, amount) in gifts {
        let gift = token.transfer(&authority.pubkey(), &authority.pubkey(), &owner, amount, 6)?;
        ledger
            .send(&gift, &[authority])
            .with_context(|| format!("giving tokens to {owner}"))?;
    }
    Ok(token)
}

/// A res-12 cell `step` cells' worth east and north of the origin.
fn cell_near_origin(east: i32, north: i32) -> Result<u64> {
    let step = 0.004;
    let point = h3o::LatLng::new(
        ORIGIN.0 + f64::from(north) * step,
        ORIGIN.1 + f64::from(east) * step,
    )?;
    Ok(u64::from(point.to_cell(h3o::Resolution::Twelve)))
}

fn buy_credits(
    ledger: &mut RpcLedger,
    buyer: &Keypair,
    token: NetworkToken,
    amount: u64,
) -> Result<u64> {
    let before = credits_of(ledger, &buyer.pubkey());
    let instruction = tokenomics_client::burn_for_credits(
        &buyer.pubkey(),
        &buyer.pubkey(),
        token,
        None,
        BurnForCreditsArgsV0 {
            amount,
            min_credits_out: 1,
        },
    );
    ledger
        .send(&[instruction], &[buyer])
        .context("buying credits")?;
    Ok(credits_of(ledger, &buyer.pubkey()).saturating_sub(before))
}

fn credits_of(ledger: &RpcLedger, owner: &Pubkey) -> u64 {
    ledger.token_balance(&tokenomics_client::credit_account_address(owner))
}

/// The simulated network's running state.
pub struct World {
    pub actors: Actors,
    pub token: NetworkToken,
    /// The simulated devices until [`World::stream_telemetry`] hands them to their thread.
    fleet: Option<DeviceFleet>,
    /// The devices' keys, in the fleet's order.
    device_keys: Vec<Pubkey>,
    /// The oracles the devices report to (each device to one of them, in turn); the first
    /// serves the operators' proofs.
    oracle_urls: Vec<String>,
    /// The replies to the devices' telemetry since the last epoch line (the devices' thread
    /// adds each round's, under the lock only for that).
    telemetry: Arc<Mutex<Tally>>,
    /// Credits bought and spent (fees and payments) since the localnet started.
    pub credits_bought: u64,
    pub credits_spent: u64,
}

/// The simulated devices and how they reach the oracles.
struct DeviceFleet {
    devices: Vec<SimulatedDevice>,
    network: Key,
    oracle_urls: Vec<String>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

/// Longest an oracle may take to answer a batch of telemetry.
const TELEMETRY_POST_TIMEOUT: Duration = Duration::from_secs(10);
/// Telemetry rounds failing in a row that stop the local network with the last one's error.
const FAILED_ROUNDS_IN_A_ROW: u32 = 3;

/// The devices' telemetry thread (see [`World::stream_telemetry`]). Dropped, it sets the stop
/// flag and waits for the thread, so an early return never leaves the devices sending.
pub struct TelemetryStream {
    thread: Option<std::thread::JoinHandle<Result<()>>>,
    stop: Arc<AtomicBool>,
}

impl TelemetryStream {
    /// The thread's error when the devices stopped sending on their own (telemetry rounds
    /// failed in a row while the localnet was not stopping).
    pub fn check(&mut self) -> Result<()> {
        let ended = self
            .thread
            .as_ref()
            .is_some_and(|thread| thread.is_finished());
        if !ended {
            return Ok(());
        }
        self.finish()?;
        if !self.stop.load(Ordering::SeqCst) {
            bail!("the simulated devices stopped sending telemetry");
        }
        Ok(())
    }

    /// Waits for the thread (once the stop flag is set) and returns its error, if any.
    pub fn finish(&mut self) -> Result<()> {
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .map_err(|_| anyhow::anyhow!("the devices' telemetry thread panicked"))?
                .context("the simulated devices' telemetry"),
            None => Ok(()),
        }
    }
}

impl Drop for TelemetryStream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl World {
    /// Registers the operators, onboards their devices (one suspended by the authority),
    /// buys the credits that takes, and opens the stakers' positions.
    pub fn set_up(
        ledger: &mut RpcLedger,
        authority: &Keypair,
        actors: Actors,
        token: NetworkToken,
        devices_dir: &Path,
        oracle_urls: Vec<String>,
    ) -> Result<Self> {
        std::fs::create_dir_all(devices_dir)?;
        let now_ms = SystemClock.now_ms();
        let mut credits_bought = 0;
        let mut credits_spent = 0;
        let mut devices = Vec::new();
        for (index, operator) in actors.operators.iter().enumerate() {
            let register = registry::register_operator(
                &operator.pubkey(),
                RegisterOperatorArgsV0 {
                    reward_recipient: operator.pubkey(),
                    metadata_uri: format!("https://operator-{}.example/profile.json", index + 1),
                },
            );
            ledger
                .send(&[register], &[operator])
                .context("registering an operator")?;
            credits_bought += buy_credits(ledger, operator, token, OPERATOR_CREDIT_PURCHASE)?;
            if index == 0 {
                // The first operator keeps a fifth of what its delegators' stake adds.
                ledger
                    .send(
                        &[staking_client::set_commission(
                            &operator.pubkey(),
                            FIRST_OPERATOR_COMMISSION_BPS,
                        )],
                        &[operator],
                    )
                    .context("setting the first operator's commission")?;
            }
            for slot in 0..3 {
                let name = format!("operator-{}-device-{}.json", index + 1, slot + 1);
                let keypair = load_or_create(&devices_dir.join(name))?;
                let class_id = if slot == 2 { 1 } else { 0 };
                let east = i32::try_from(index * 3 + slot)?;
                let cell = cell_near_origin(east, i32::try_from(index)?)?;
                let behaviour = match (index, slot) {
                    (2, 0) => Behaviour::Teleporter,
                    (2, 1) => Behaviour::Cloned,
                    _ => Behaviour::Honest,
                };
                let class: device_registry::DeviceClassV0 =
                    read(&*ledger, &registry::device_class_address(class_id))?
                        .context("the localnet's device classes are missing")?;
                let onboard = registry::onboard_device(Onboarding {
                    payer: operator.pubkey(),
                    operator_authority: operator.pubkey(),
                    device_key: keypair.pubkey(),
                    class_id,
                    maker: None,
                    location: cell,
                });
                ledger
                    .send(&[onboard], &[operator, &keypair])
                    .context("onboarding a device")?;
                credits_spent += class.onboarding_fee_credits;
                devices.push(
                    SimulatedDevice::new(keypair, cell, behaviour, now_ms)?
                        .of_operator(operator.pubkey()),
                );
            }
        }
        // The second operator's first device pays its rewards to a recipient without SOL.
        let own_recipient = devices[3].key();
        ledger
            .send(
                &[registry::set_reward_recipient(
                    &actors.operators[1].pubkey(),
                    &own_recipient,
                    Some(actors.recipient_without_sol.pubkey()),
                )],
                &[&actors.operators[1]],
            )
            .context("setting a device's own reward recipient")?;
        // The authority suspends one of the first operator's devices: its telemetry is refused.
        let suspended = devices[1].key();
        ledger
            .send(
                &[registry::suspend_device(
                    &authority.pubkey(),
                    &suspended,
                    registry::suspension_reason_code("abuse").unwrap_or(5),
                )],
                &[authority],
            )
            .context("suspending a device")?;

        let config: StakingConfigV0 =
            read(&*ledger, &staking_client::config_address())?.context("staking is missing")?;
        let now = ledger.unix_timestamp()?;
        let lockups = [
            LockupArgs {
                kind: LockupKind::Flexible,
                duration_s: 0,
            },
            LockupArgs {
                kind: LockupKind::Constant,
                duration_s: config.params.saturation_s,
            },
        ];
        for (staker, lockup) in actors.stakers.iter().zip(lockups) {
            let instruction = staking_client::create_position(
                &staker.pubkey(),
                token,
                CreatePositionArgsV0 {
                    id: 0,
                    amount: STAKER_TOKENS / 2,
                    lockup,
                    activation_epoch: config.activation_epoch_at(now),
                    bonus_expiry_epoch: staking_client::bonus_expiry_epoch(&config, lockup, now),
                },
            );
            ledger
                .send(&[instruction], &[staker])
                .context("opening a staker's position")?;
        }
        let registry_address = registry::registry_config_address();
        let device_keys = devices.iter().map(SimulatedDevice::key).collect();
        let fleet = DeviceFleet {
            devices,
            network: Key(registry_address.to_bytes()),
            oracle_urls: oracle_urls.clone(),
            http: reqwest::Client::builder()
                .timeout(TELEMETRY_POST_TIMEOUT)
                .build()?,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
        };
        Ok(World {
            actors,
            token,
            fleet: Some(fleet),
            device_keys,
            oracle_urls,
            telemetry: Arc::new(Mutex::new(Tally::default())),
            credits_bought,
            credits_spent,
        })
    }

    /// Starts the devices' telemetry on a thread of its own, a round every
    /// [`TELEMETRY_ROUND`] until `stop` is set, whatever the chain's closes and the epochs'
    /// activity on the caller's thread take: real devices do not pause while an epoch is
    /// closed. The first round in each epoch (by the wall clock against `genesis_unix_s`
    /// and `epoch_length_s`, as the oracles assign messages) carries every device's beacon,
    /// so every epoch's input holds beacons and their witnesses.
    pub fn stream_telemetry(
        &mut self,
        genesis_unix_s: i64,
        epoch_length_s: i64,
        stop: Arc<AtomicBool>,
    ) -> Result<TelemetryStream> {
        let mut fleet = self
            .fleet
            .take()
            .context("the devices already stream their telemetry")?;
        let telemetry = self.telemetry.clone();
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("groundwork-localnet-devices".into())
            .spawn(move || -> Result<()> {
                let mut epoch_of_last_round = None;
                let mut failed_in_a_row = 0;
                while !stopping.load(Ordering::SeqCst) {
                    let now_ms = SystemClock.now_ms();
                    let epoch = (now_ms.div_euclid(1_000) - genesis_unix_s)
                        .div_euclid(epoch_length_s.max(1));
                    let beacons = epoch_of_last_round != Some(epoch);
                    if beacons {
                        fleet.beacon_next_round();
                        epoch_of_last_round = Some(epoch);
                    }
                    let (tally, failed) = fleet.round(now_ms);
                    telemetry
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .add(&tally);
                    match failed {
                        None => failed_in_a_row = 0,
                        // The oracles stop with the localnet: a round cut short then is not
                        // an error.
                        Some(_) if stopping.load(Ordering::SeqCst) => break,
                        // A round an overloaded machine could not deliver in time is said and
                        // the next one goes on (carrying the beacons again if this one
                        // carried them); only rounds failing in a row stop the network.
                        Some(error) if failed_in_a_row + 1 < FAILED_ROUNDS_IN_A_ROW => {
                            failed_in_a_row += 1;
                            if beacons {
                                epoch_of_last_round = None;
                            }
                            eprintln!(
                                "localnet: a telemetry round failed ({error:#}); the next goes on"
                            );
                        }
                        Some(error) => {
                            return Err(error.context(format!(
                                "{FAILED_ROUNDS_IN_A_ROW} telemetry rounds failed in a row"
                            )))
                        }
                    }
                    let next_round = std::time::Instant::now() + TELEMETRY_ROUND;
                    while std::time::Instant::now() < next_round && !stopping.load(Ordering::SeqCst)
                    {
                        std::thread::sleep(Duration::from_millis(250));
                    }
                }
                Ok(())
            })?;
        Ok(TelemetryStream {
            thread: Some(thread),
            stop,
        })
    }

    /// Every operator claims what the newest active root owes it beyond what it was paid,
    /// with the leaf and proof its oracle serves (`groundwork rewards claim --oracle`); how
    /// much was claimed. A claim refused because the oracle answered for a root that is no
    /// longer the active one is said on standard error and left for the next call (the leaf
    /// stays owed, nothing is lost); any other refusal is an error.
    pub fn claim_rewards(&mut self, ledger: &mut RpcLedger) -> Result<u64> {
        let Some(oracle) = self.oracle_urls.first() else {
            return Ok(0);
        };
        let mut claimed_now = 0;
        for operator in &self.actors.operators {
            let Ok(leaf) = oracle_get(oracle, &format!("/v1/rewards/{}", operator.pubkey())) else {
                continue;
            };
            let (Some(cumulative), Some(claimable)) = (
                leaf["cumulative_amount"].as_u64(),
                leaf["claimable"].as_u64(),
            ) else {
                continue;
            };
            if claimable == 0 {
                continue;
            }
            let proof = leaf["proof"]
                .as_array()
                .map(|hashes| {
                    hashes
                        .iter()
                        .map(|hash| {
                            let bytes = hex::decode(hash.as_str().unwrap_or_default())?;
                            <[u8; 32]>::try_from(bytes.as_slice())
                                .map_err(|_| anyhow::anyhow!("a proof hash is not 32 bytes"))
                        })
                        .collect::<Result<Vec<[u8; 32]>>>()
                })
                .transpose()?
                .unwrap_or_default();
            let sent = ledger.send(
                &[rewards_client::claim(
                    &operator.pubkey(),
                    &operator.pubkey(),
                    self.token,
                    cumulative,
                    proof,
                )],
                &[operator],
            );
            match sent {
                Ok(_) => claimed_now += claimable,
                Err(error) => {
                    // The root the oracle answered for is no longer the active one (a newer
                    // root activated meanwhile, or the oracle had not seen it yet): nothing was
                    // paid, and the next call claims against the new root. Any other refusal
                    // is an error.
                    let config: Option<reward_epochs::RewardConfigV0> =
                        read(&*ledger, &rewards_client::config_address())?;
                    let active = config.and_then(|config| config.active_root_epoch);
                    if active == leaf["epoch"].as_u64() {
                        return Err(anyhow::Error::new(error).context(format!(
                            "operator {} claiming its leaf of the active root (epoch {active:?})",
                            operator.pubkey()
                        )));
                    }
                    eprintln!(
                        "localnet: operator {} claims again: the oracle answered for the root of epoch {}, the active one is {active:?}",
                        operator.pubkey(),
                        leaf["epoch"]
                    );
                }
            }
        }
        Ok(claimed_now)
    }

    /// The recipients the network owes rewards to here: the operators and the recipient
    /// without SOL.
    pub fn recipients(&self) -> Vec<Pubkey> {
        self.actors
            .operators
            .iter()
            .map(Signer::pubkey)
            .chain(std::iter::once(self.actors.recipient_without_sol.pubkey()))
            .collect()
    }

    /// The telemetry replies since the last epoch line (and starts a new tally).
    pub fn take_epoch_telemetry(&mut self) -> Tally {
        std::mem::take(
            &mut *self
                .telemetry
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The dApp buys credits and pays every active device for its service; the stakers claim
    /// what they earned and the first delegates to the first operator once active.
    pub fn epoch_activity(&mut self, ledger: &mut RpcLedger) -> Result<()> {
        self.credits_bought += buy_credits(
            ledger,
            &self.actors.dapp,
            self.token,
            DAPP_PURCHASE_PER_EPOCH,
        )?;
        let mut payments = Vec::new();
        for device in &self.device_keys {
            let record: Option<device_registry::DeviceV0> =
                read(&*ledger, &registry::device_address(device))?;
            if record.is_some_and(|record| record.status == device_registry::DeviceStatus::Active) {
                payments.push(registry::pay_for_service(
                    &self.actors.dapp.pubkey(),
                    device,
                    PAYMENT_PER_DEVICE,
                ));
            }
        }
        // One transaction pays every device: the accounts they share are listed once.
        if !payments.is_empty() {
            ledger
                .send(&payments, &[&self.actors.dapp])
                .context("paying the devices")?;
            self.credits_spent += PAYMENT_PER_DEVICE * payments.len() as u64;
        }
        self.delegate_when_active(ledger)?;
        self.stakers_claim(ledger)
    }

    /// The first staker delegates its position to the first operator once it is active
    /// (called right after each close too, so it delegates early in epoch 1 and earns the
    /// pool's rewards from epoch 2): at most one read a call once it is delegated.
    pub fn delegate_when_active(&mut self, ledger: &mut RpcLedger) -> Result<()> {
        let Some(staker) = self.actors.stakers.first() else {
            return Ok(());
        };
        let Some(position): Option<PositionV0> = read(
            &*ledger,
            &staking_client::position_address(&staker.pubkey(), 0),
        )?
        else {
            return Ok(());
        };
        if position.operator.is_some() || position.pending_undelegation.is_some() {
            return Ok(());
        }
        let config: StakingConfigV0 =
            read(&*ledger, &staking_client::config_address())?.context("staking is missing")?;
        let activated = position.activated || position.activation_epoch < config.next_epoch_to_fund;
        // A delegation names its epoch's cohort: not within two seconds of an epoch's end.
        let now = ledger.unix_timestamp()?;
        if !activated || config.epoch_at(now) != config.epoch_at(now + 2) {
            return Ok(());
        }
        let operator = self.actors.operators[0].pubkey();
        let cohort = staking_client::delegation_cohort_now(&*ledger, &operator)?;
        let delegate = staking_client::delegate(&position, &operator, cohort);
        if let Err(error) = ledger.send(&[delegate], &[staker]) {
            // The cohort named is the epoch's: when the epoch passed before the delegation
            // landed, the next call names the new one.
            if config.epoch_at(ledger.unix_timestamp()?) != config.epoch_at(now) {
                return Ok(());
            }
            return Err(anyhow::Error::new(error).context("delegating"));
        }
        Ok(())
    }

    /// The stakers claim what they earned: staking rewards, and the first's delegation's
    /// share of the first operator's pool.
    fn stakers_claim(&mut self, ledger: &mut RpcLedger) -> Result<()> {
        for staker in &self.actors.stakers {
            let Some(position): Option<PositionV0> = read(
                &*ledger,
                &staking_client::position_address(&staker.pubkey(), 0),
            )?
            else {
                continue;
            };
            if staking_client::claimable_now(&*ledger, &position)? > 0
                || staking_client::pool_claimable_now(&*ledger, &position)? > 0
            {
                let claim = staking_client::claim_stake_rewards(&position, self.token);
                ledger
                    .send(&[claim], &[staker])
                    .context("claiming staking rewards")?;
            }
        }
        Ok(())
    }

    /// Credits the participants hold now.
    pub fn credits_held(&self, ledger: &RpcLedger) -> u64 {
        self.actors
            .operators
            .iter()
            .chain(std::iter::once(&self.actors.dapp))
            .map(|wallet| credits_of(ledger, &wallet.pubkey()))
            .sum()
    }
}

impl DeviceFleet {
    /// Makes every device beacon in the next round.
    fn beacon_next_round(&mut self) {
        for device in &mut self.devices {
            device.beacon_next_round();
        }
    }

    /// One round of telemetry from every device at `now_ms` (and witnesses of this round's
    /// beacons by a device of another operator: the third operator's cheaters vouch for
    /// nobody, so the second operator's devices they hear stay unverified), each device's
    /// messages posted to its oracle (devices take the oracles in turn) as a binary batch;
    /// the replies of the oracles that answered, and the error of the last one that did not.
    fn round(&mut self, now_ms: i64) -> (Tally, Option<anyhow::Error>) {
        let mut replies = Tally::default();
        let mut failed = None;
        let messages = round_with_witnesses(&mut self.devices, self.network, now_ms);
        let oracles = self.oracle_urls.len().max(1);
        let oracle_of: std::collections::HashMap<Pubkey, usize> = self
            .devices
            .iter()
            .enumerate()
            .map(|(index, device)| (device.key(), index % oracles))
            .collect();
        for (index, url) in self.oracle_urls.iter().enumerate() {
            let theirs: Vec<_> = messages
                .iter()
                .filter(|message| {
                    oracle_of.get(&Pubkey::new_from_array(message.message.device.0)) == Some(&index)
                })
                .cloned()
                .collect();
            if theirs.is_empty() {
                continue;
            }
            match self.runtime.block_on(post(&self.http, url, &theirs, true)) {
                Ok(tally) => replies.add(&tally),
                Err(error) => failed = Some(error.context(format!("posting to {url}"))),
            }
        }
        (replies, failed)
    }
}
