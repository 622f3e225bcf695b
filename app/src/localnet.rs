//! `groundwork localnet`: a whole network on one machine. A real JSON-RPC endpoint on
//! 127.0.0.1 (surfpool over the in-process runtime with the four programs and the SPL
//! programs), a network token with an initial supply, the bootstrap from the built-in network
//! file, the oracle's ingest on SQLite in the data directory, and the people of
//! [`crate::world`]: operators whose devices (a few of them cheating) stream signed telemetry,
//! a dApp buying credits and paying devices, stakers locking, delegating and claiming. The
//! crank closes every epoch as it ends and one line per epoch tells what happened. It keeps
//! serving (the other CLI commands work against it) until Ctrl-C, or stops after
//! `--epochs N --exit`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context, Result};
use groundwork_bootstrap::config::Key;
use groundwork_bootstrap::{bootstrap, NetworkConfig, Signers};
use groundwork_client::ledger::{read, Ledger};
use groundwork_client::{reward_epochs as rewards, tokenomics as tokenomics_client};
use groundwork_harness::rpc::LocalRpc;
use reward_epochs::state::RootStatus;
use reward_epochs::{ClaimV0, EpochV0, RewardConfigV0};
use serde::Serialize;
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{read_keypair_file, write_keypair_file, Keypair};
use solana_signer::Signer;
use tokenomics::TokenomicsConfigV0;

use crate::cluster::RpcLedger;
use crate::format_amount;
use crate::world::{create_token, Actors, World};
use crate::Output;

/// The network file the localnet bootstraps.
pub const LOCALNET_NETWORK: &str = include_str!("../../migrations/localnet.toml");
/// Oracles of the local network's set.
const LOCAL_ORACLES: usize = 3;
/// Votes a root needs on the local network.
const LOCAL_QUORUM: u8 = 2;
/// Seconds between the local network's start and its epoch 0: time to set up the participants.
const SETUP_LEAD_S: i64 = 30;
/// SOL given to the local network's own wallets.
const LOCAL_WALLET_LAMPORTS: u64 = 1_000 * 1_000_000_000;

/// What `groundwork localnet` was asked for.
pub struct LocalnetArgs {
    pub epochs: Option<u64>,
    pub exit: bool,
    pub data_dir: PathBuf,
    pub reset: bool,
    pub port: u16,
    pub oracle_port: u16,
    pub epoch_length: Duration,
    /// Whether the oracles vote roots (and the first activates them and relays claims).
    pub votes: bool,
}

/// The local network's wallets, kept in its data directory across runs.
struct Wallets {
    deployer: Keypair,
    authority: Keypair,
    oracles: Vec<Keypair>,
    /// The network token mint's address keypair.
    mint: Keypair,
}

/// Reads the keypair at `path`, or creates and saves a new one there.
pub fn load_or_create(path: &Path) -> Result<Keypair> {
    if path.exists() {
        return read_keypair_file(path)
            .map_err(|error| anyhow::anyhow!("reading {}: {error}", path.display()));
    }
    let keypair = Keypair::new();
    write_keypair_file(&keypair, path)
        .map_err(|error| anyhow::anyhow!("writing {}: {error}", path.display()))?;
    Ok(keypair)
}

impl Wallets {
    fn load_or_create(dir: &Path) -> Result<Self> {
        let keys = dir.join("keys");
        std::fs::create_dir_all(&keys).with_context(|| format!("creating {}", keys.display()))?;
        Ok(Wallets {
            deployer: load_or_create(&keys.join("deployer.json"))?,
            authority: load_or_create(&keys.join("authority.json"))?,
            oracles: (1..=LOCAL_ORACLES)
                .map(|index| load_or_create(&keys.join(format!("oracle-{index}.json"))))
                .collect::<Result<_>>()?,
            mint: load_or_create(&keys.join("mint.json"))?,
        })
    }
}

/// The accounts the local chain starts with: each program's ProgramData naming the local
/// deployer as upgrade authority (so it may initialize them), and funded local wallets.
fn genesis_accounts(wallets: &Wallets, actors: &Actors) -> Vec<(Pubkey, Account)> {
    let loader = anchor_lang::solana_program::bpf_loader_upgradeable::ID;
    let mut accounts: Vec<(Pubkey, Account)> = groundwork_harness::GROUNDWORK_PROGRAMS
        .iter()
        .map(|program| {
            let (address, data) =
                groundwork_harness::program_data(program, Some(wallets.deployer.pubkey()));
            let account = Account {
                lamports: 1_000_000_000,
                data,
                owner: loader,
                executable: false,
                rent_epoch: 0,
            };
            (address, account)
        })
        .collect();
    for wallet in [&wallets.deployer, &wallets.authority]
        .into_iter()
        .chain(wallets.oracles.iter())
        .chain(actors.wallets())
    {
        let account = Account {
            lamports: LOCAL_WALLET_LAMPORTS,
            data: Vec::new(),
            owner: anchor_lang::solana_program::system_program::ID,
            executable: false,
            rent_epoch: 0,
        };
        accounts.push((wallet.pubkey(), account));
    }
    accounts
}

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
}

/// An epoch's verified work, as the oracle serves it (`GET /v1/epochs/{n}/rewards`).
#[derive(Debug, Serialize)]
pub struct VerifiedWork {
    pub epoch: u64,
    pub devices: u64,
    pub devices_rewarded: u64,
    pub zeroed_by_reason: std::collections::BTreeMap<String, u64>,
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
            let work =
                crate::rewards_cmd::oracle_get(oracle, &format!("/v1/epochs/{epoch}/rewards"))
                    .ok()?;
            Some(work["root"].as_str()?.to_string())
        };
        (epoch.saturating_sub(3)..=epoch).rev().find_map(|epoch| {
            let work = crate::rewards_cmd::oracle_get(
                oracles.first()?,
                &format!("/v1/epochs/{epoch}/rewards"),
            )
            .ok()?;
            let root = work["root"].as_str()?.to_string();
            let others: Vec<Option<String>> = oracles
                .iter()
                .map(|oracle| root_of(oracle, epoch))
                .collect();
            Some(VerifiedWork {
                epoch,
                devices: work["devices"]["total"].as_u64()?,
                devices_rewarded: work["devices"]["rewarded"].as_u64()?,
                zeroed_by_reason: serde_json::from_value(
                    work["devices"]["zeroed_by_reason"].clone(),
                )
                .ok()?,
                paid: work["paid"].as_u64()?,
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
                "\n       verified epoch {}: {} of {} devices rewarded, {} paid, {} carried, root {}…{}",
                verified.epoch,
                verified.devices_rewarded,
                verified.devices,
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
        if let Some(root) = &self.root {
            write!(
                f,
                "\n       root of epoch {}: {} of {} votes needed, {}; active root: {}",
                root.epoch,
                root.votes,
                root.quorum,
                root.status,
                root.active_root_epoch
                    .map_or("none yet".to_string(), |epoch| format!("epoch {epoch}")),
            )?;
        }
        Ok(())
    }
}

const TABLE_HEADER: &str = "epoch  devices  accepted  rejected  credits bought  credits spent          minted  awaiting roots  staker claims          burned              supply  rejected because";

/// Closes `epoch` and reads back what it did, with what the world did during it.
fn close_epoch(
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
    let record: EpochV0 =
        read(&*ledger, &rewards::epoch_address(epoch))?.context("the epoch record is missing")?;
    let tokenomics: TokenomicsConfigV0 =
        read(&*ledger, &tokenomics_client::config_address())?.context("tokenomics is missing")?;
    let reward_config: RewardConfigV0 =
        read(&*ledger, &rewards::config_address())?.context("rewards are missing")?;
    let staking_config: staking::StakingConfigV0 =
        read(&*ledger, &groundwork_client::staking::config_address())?
            .context("staking is missing")?;
    let telemetry = world.take_epoch_telemetry();
    let verified = VerifiedWork::newest(oracle_urls, epoch);
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
                }),
            None => None,
        };
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
            crate::rewards_cmd::oracle_get(oracle, &format!("/v1/rewards/{recipient}")).ok()?
                ["cumulative_amount"]
                .as_u64()
        });
        if let Some(leaf) = leaf.filter(|leaf| *leaf > 0) {
            recipients_owed += 1;
            if claimed == leaf {
                recipients_paid_in_full += 1;
            }
        }
    }
    let reward_vault = read::<anchor_spl::token_interface::TokenAccount>(
        &*ledger,
        &rewards::reward_vault_address(),
    )?
    .map_or(0, |vault| vault.amount);
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
    })
}

/// Seconds between two rounds of device telemetry.
const TELEMETRY_ROUND: Duration = Duration::from_secs(2);

/// Lets the devices stream telemetry until the chain's clock reaches `unix_timestamp`, or
/// Ctrl-C.
fn run_until(
    ledger: &RpcLedger,
    world: &mut World,
    unix_timestamp: i64,
    stop: &AtomicBool,
) -> Result<bool> {
    let mut next_round = std::time::Instant::now();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if ledger.unix_timestamp()? >= unix_timestamp {
            return Ok(true);
        }
        if std::time::Instant::now() >= next_round {
            world.telemetry_round()?;
            next_round = std::time::Instant::now() + TELEMETRY_ROUND;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// One of the local network's oracles: where it listens, keeps its data, its vote key and
/// the other oracles it merges telemetry with.
struct LocalOracle {
    port: u16,
    data_dir: PathBuf,
    keypair: PathBuf,
    peers: Vec<String>,
    /// This one also activates roots once their challenge period ends.
    activates_roots: bool,
    /// Recipients this one claims for.
    relays_for: Vec<groundwork_telemetry::Key>,
    /// Whether it votes at all.
    votes: bool,
}

/// Starts an oracle (ingest, chain view, verify with shared input, submit) beside the local
/// network (its embedded store in its data directory, epochs sealed `seal_grace` after their
/// end), and waits until it answers.
fn start_oracle(
    rpc_url: &str,
    oracle: &LocalOracle,
    epoch_length: Duration,
    seal_grace: Duration,
    stop: Arc<AtomicBool>,
) -> Result<(String, std::thread::JoinHandle<Result<()>>)> {
    let (port, data_dir) = (oracle.port, oracle.data_dir.as_path());
    let mut config = groundwork_oracle::config::OracleConfig::parse(
        include_str!("../../oracle/groundwork-oracle.example.toml"),
        std::iter::empty(),
    )?;
    let registry = groundwork_client::device_registry::registry_config_address();
    config.network.registry = groundwork_telemetry::Key(registry.to_bytes());
    config.network.rpc_urls = vec![rpc_url.to_string()];
    config.network.device_refresh = Duration::from_secs(2);
    config.http.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    config.network.seal_grace = seal_grace;
    // The simulated devices send a heartbeat every telemetry round: an epoch has that many
    // slots (at most SPEC's 48), and a device needs a quarter of them (SPEC: 12 of 48).
    let rounds = (epoch_length.as_secs() / TELEMETRY_ROUND.as_secs()).clamp(1, 48);
    config.verify.slots_per_epoch = u32::try_from(rounds).unwrap_or(48);
    config.verify.min_uptime_slots = (config.verify.slots_per_epoch / 4).max(1);
    config.store.url = groundwork_oracle::core::secret::Secret::new(String::new());
    config.store.data_dir = data_dir.to_path_buf();
    // Each device reports to one oracle: every epoch is computed over the three sets.
    config.shared_input.peers = oracle.peers.clone();
    config.shared_input.pull_every = Duration::from_secs(1);
    config.shared_input.peer_wait = epoch_length;
    config.shared_input.timeout = Duration::from_secs(10);
    config.submit = oracle
        .votes
        .then(|| groundwork_oracle::config::SubmitConfig {
            keypair: oracle.keypair.clone(),
            priority_fee_floor: 0,
            priority_fee_ceiling: 100_000,
            activate_roots: oracle.activates_roots,
            relay_claims_for: oracle.relays_for.clone(),
        });
    // A fresh chain: the previous run's telemetry belongs to another network's history.
    if data_dir.exists() {
        std::fs::remove_dir_all(data_dir)
            .with_context(|| format!("clearing {}", data_dir.display()))?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let handle = std::thread::Builder::new()
        .name(format!("groundwork-localnet-oracle-{port}"))
        .spawn(move || {
            runtime.block_on(groundwork_oracle::service::serve(config, async move {
                while !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }))
        })?;
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if handle.is_finished() {
            break;
        }
        if oracle_is_healthy(port) {
            return Ok((url, handle));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if handle.is_finished() {
        return match handle.join() {
            Ok(Err(error)) => Err(error.context(format!(
                "starting the oracle on 127.0.0.1:{port} (pass --oracle-port to use another)"
            ))),
            _ => bail!("the oracle stopped while starting"),
        };
    }
    bail!("the oracle did not answer at {url} within 10 s")
}

/// A port on 127.0.0.1 nobody listens on right now.
fn free_local_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether our oracle answers `GET /healthz` on `port` (and not some other server).
fn oracle_is_healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.split_whitespace().nth(1) == Some("200") && reply.contains("\"devices\"")
}

/// Sends the in-process oracle's tracing (level from RUST_LOG, default info) to `log`,
/// appended across runs.
fn log_oracle_to(log: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .map_err(|error| anyhow::anyhow!("setting up the oracle's log: {error}"))
}

/// Sends the process's standard output to `log` (the programs run in this process, natively,
/// and `msg!` prints there) and returns a handle on the terminal's standard output for the
/// localnet's own lines.
fn divert_program_logs(log: &Path) -> Result<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let file = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    // SAFETY: plain descriptor duplication on descriptors this process owns; the duplicate of
    // standard output is handed to exactly one File, which owns and closes it.
    let terminal = unsafe {
        let copy = libc::dup(libc::STDOUT_FILENO);
        if copy < 0 || libc::dup2(file.as_raw_fd(), libc::STDOUT_FILENO) < 0 {
            bail!("redirecting the programs' logs to {}", log.display());
        }
        std::fs::File::from_raw_fd(copy)
    };
    Ok(terminal)
}

/// Sets `stop` on Ctrl-C or SIGTERM.
fn stop_on_signal() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name("groundwork-localnet-signals".into())
        .spawn(move || {
            runtime.block_on(async {
                let mut terminate =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("a SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
                flag.store(true, Ordering::SeqCst);
            })
        })?;
    Ok(stop)
}

pub fn run(args: LocalnetArgs, output: Output) -> Result<()> {
    if args.exit && args.epochs.is_none() {
        bail!("--exit needs --epochs N (how many epochs to run before exiting)");
    }
    if args.reset && args.data_dir.exists() {
        // Only a localnet data directory (or an empty one) is ever deleted.
        let is_localnet = args.data_dir.join("keys/deployer.json").exists();
        let is_empty = std::fs::read_dir(&args.data_dir)?.next().is_none();
        if !is_localnet && !is_empty {
            bail!(
                "{} is not a localnet data directory (no keys/deployer.json): refusing to --reset it",
                args.data_dir.display()
            );
        }
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("resetting {}", args.data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let wallets = Wallets::load_or_create(&args.data_dir)?;
    let actors = Actors::load_or_create(&args.data_dir.join("keys"))?;
    let stop = stop_on_signal()?;
    let program_log = args.data_dir.join("programs.log");
    let mut out = divert_program_logs(&program_log)?;
    let oracle_log = args.data_dir.join("oracle.log");
    log_oracle_to(&oracle_log)?;

    let rpc = LocalRpc::start_on(Some(args.port), genesis_accounts(&wallets, &actors)).map_err(|error| {
        anyhow::anyhow!("starting the local RPC on 127.0.0.1:{}: {error} (is another localnet or validator using the port? pass --port)", args.port)
    })?;
    let mut ledger = RpcLedger::new(&rpc.url, CommitmentConfig::confirmed());
    ledger.check_reachable()?;

    let token = create_token(&mut ledger, &wallets.authority, &wallets.mint, &actors)?;
    let mut config = NetworkConfig::parse(LOCALNET_NETWORK)?;
    // Epoch 0 starts once the participants are set up (registrations, onboardings and
    // positions land before it, so none straddles an epoch boundary).
    let genesis = ledger.unix_timestamp()? + SETUP_LEAD_S;
    config.token.existing_mint = Some(Key(token.mint));
    config.authority = Key(wallets.authority.pubkey());
    config.rewards.treasury_owner = Key(wallets.authority.pubkey());
    config.rewards.oracles = wallets
        .oracles
        .iter()
        .map(|oracle| Key(oracle.pubkey()))
        .collect();
    config.rewards.quorum = LOCAL_QUORUM;
    config.epochs.genesis_unix = genesis;
    config.epochs.length = args.epoch_length;
    let epoch_len_s = config.epoch_len_s()?;
    let signers = Signers {
        deployer: &wallets.deployer,
        authority: &wallets.authority,
        mint_authority: Some(&wallets.authority),
    };
    let report =
        bootstrap(&mut ledger, &config, &signers).context("bootstrapping the local network")?;
    // Short epochs, a short grace: a sixth of an epoch (at least 2 s) for late messages.
    let seal_grace = (args.epoch_length / 6).max(Duration::from_secs(2));
    let relayed_recipient = actors.recipient_without_sol.pubkey();
    // Three oracles, quorum 2: the first on --oracle-port, the others on free ports.
    let ports: Vec<u16> = std::iter::once(Ok(args.oracle_port))
        .chain((1..LOCAL_ORACLES).map(|_| free_local_port()))
        .collect::<Result<_>>()?;
    let urls: Vec<String> = ports
        .iter()
        .map(|port| format!("http://127.0.0.1:{port}"))
        .collect();
    let mut oracles = Vec::new();
    for (index, port) in ports.iter().enumerate() {
        let oracle = LocalOracle {
            port: *port,
            data_dir: args.data_dir.join(format!("oracle-{}", index + 1)),
            keypair: args
                .data_dir
                .join(format!("keys/oracle-{}.json", index + 1)),
            peers: urls
                .iter()
                .enumerate()
                .filter(|(other, _)| *other != index)
                .map(|(_, url)| url.clone())
                .collect(),
            activates_roots: index == 0,
            votes: args.votes,
            relays_for: if index == 0 {
                vec![groundwork_telemetry::Key(relayed_recipient.to_bytes())]
            } else {
                Vec::new()
            },
        };
        oracles.push(start_oracle(
            &rpc.url,
            &oracle,
            args.epoch_length,
            seal_grace,
            stop.clone(),
        )?);
    }
    let mut world = World::set_up(
        &mut ledger,
        &wallets.authority,
        actors,
        token,
        &args.data_dir.join("keys/devices"),
        urls.clone(),
    )?;

    if output == Output::Display {
        write!(out, "{report}")?;
        writeln!(out)?;
        writeln!(
            out,
            "local network serving at {} (WebSocket on port {})",
            rpc.url,
            args.port + 1
        )?;
        writeln!(out, "keypairs in {}", args.data_dir.join("keys").display())?;
        writeln!(
            out,
            "oracles at {} (quorum {LOCAL_QUORUM}; devices report to them in turn)",
            urls.join(", ")
        )?;
        writeln!(out, "the programs' logs go to {}", program_log.display())?;
        writeln!(out, "the oracle's logs go to {}", oracle_log.display())?;
        writeln!(
            out,
            "epochs of {epoch_len_s} s; epoch 0 starts at unix time {genesis}; try, in another terminal:"
        )?;
        let keys = args.data_dir.join("keys");
        writeln!(out, "  groundwork -u localhost network status")?;
        writeln!(
            out,
            "  groundwork -u localhost -k {} device list",
            keys.join("operator-1.json").display()
        )?;
        writeln!(
            out,
            "  groundwork -u localhost -k {} credits balance",
            keys.join("dapp.json").display()
        )?;
        writeln!(
            out,
            "  groundwork -u localhost -k {} stake list",
            keys.join("staker-1.json").display()
        )?;
        writeln!(out)?;
        writeln!(out, "{TABLE_HEADER}")?;
    }

    let mut epoch = 0u64;
    loop {
        let end = genesis + (i64::try_from(epoch)? + 1) * epoch_len_s;
        if !run_until(&ledger, &mut world, end, &stop)? {
            break;
        }
        world.epoch_activity(&mut ledger)?;
        world.claim_rewards(&mut ledger)?;
        // Anyone may crank: an epoch someone else closed is not closed again.
        let reward_config: RewardConfigV0 =
            read(&ledger, &rewards::config_address())?.context("rewards are missing")?;
        if reward_config.next_epoch_to_close > epoch {
            epoch += 1;
            continue;
        }
        let line = close_epoch(&mut ledger, &wallets, &mut world, &urls, epoch)?;
        match output {
            Output::Display => writeln!(out, "{line}")?,
            Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&line)?)?,
            Output::JsonCompact => writeln!(out, "{}", serde_json::to_string(&line)?)?,
        }
        epoch += 1;
        if args.epochs.is_some_and(|epochs| epoch >= epochs) {
            if args.exit {
                break;
            }
            // Keep serving, without closing more epochs.
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(250));
            }
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    let mut results = Vec::new();
    for (_, oracle) in oracles {
        results.push(
            oracle
                .join()
                .map_err(|_| anyhow::anyhow!("an oracle's thread panicked"))?,
        );
    }
    drop(rpc);
    for result in results {
        result.context("an oracle")?;
    }
    if output == Output::Display {
        writeln!(out, "local network stopped")?;
    }
    Ok(())
}
