//! `groundwork localnet`: a whole network on one machine. A real JSON-RPC endpoint on
//! 127.0.0.1 (surfpool over the in-process runtime with the four programs and the SPL
//! programs), a network token with an initial supply, the bootstrap from the built-in network
//! file, three oracles in this process ([`oracles`]; each keeps its embedded store, segment
//! files, in the data directory), and the people of [`world`]: operators whose devices (a few
//! of them cheating) stream signed telemetry, a dApp buying credits and paying devices,
//! stakers locking, delegating and claiming. The crank closes every epoch as it ends and one
//! line per epoch ([`report`]) tells what happened. It keeps serving (the other CLI commands
//! work against it) until Ctrl-C, or stops after `--epochs N --exit`. The keypairs live in
//! the data directory ([`keys`]).

mod keys;
mod oracles;
mod report;
mod world;

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
use groundwork_client::reward_epochs as rewards;
use groundwork_harness::rpc::LocalRpc;
use reward_epochs::RewardConfigV0;
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;

use self::keys::{Actors, Wallets, LOCAL_ORACLES};
use self::oracles::{free_local_port, log_oracle_to, start_oracle, LocalOracle};
use self::report::{close_epoch, TABLE_HEADER};
use self::world::{create_token, TelemetryStream, World};
use crate::cluster::RpcLedger;
use crate::output::Output;

/// The network file the localnet bootstraps.
pub const LOCALNET_NETWORK: &str = include_str!("../../../migrations/localnet.toml");
/// Votes a root needs on the local network.
const LOCAL_QUORUM: u8 = 2;
/// Seconds between the local network's start and its epoch 0: time to set up the participants.
const SETUP_LEAD_S: i64 = 30;
/// SOL given to the local network's own wallets.
const LOCAL_WALLET_LAMPORTS: u64 = 1_000 * 1_000_000_000;
/// How often the operators claim while a bounded run keeps serving after its last epoch.
const CLAIMS_WHILE_SERVING: Duration = Duration::from_secs(3);

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

pub fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("groundwork/localnet")
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

/// Waits until the chain's clock reaches `unix_timestamp` (the devices stream meanwhile), or
/// Ctrl-C; an error when the devices stopped sending.
fn run_until(
    ledger: &RpcLedger,
    telemetry: &mut TelemetryStream,
    unix_timestamp: i64,
    stop: &AtomicBool,
) -> Result<bool> {
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        telemetry.check()?;
        if ledger.unix_timestamp()? >= unix_timestamp {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
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

pub fn run(args: LocalnetArgs, output: Output, config_path: &Path) -> Result<()> {
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
    // Each oracle publishes its own epoch bundles (byte-identical when they agree).
    let bundles_dir =
        std::path::absolute(args.data_dir.join("bundles")).context("the bundles folder")?;
    let mut oracles = Vec::new();
    for (index, port) in ports.iter().enumerate() {
        let oracle = LocalOracle {
            port: *port,
            data_dir: args.data_dir.join(format!("oracle-{}", index + 1)),
            bundles: bundles_dir.join(format!("oracle-{}", index + 1)),
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

    // The profile other commands in other terminals use to reach this network: its RPC, its
    // first oracle, its treasury as the token faucet.
    let keys = args.data_dir.join("keys");
    let profile_is_default = crate::config::write_localnet_profile(
        config_path,
        &rpc.url,
        &urls[0],
        &keys.join("authority.json"),
    )
    .with_context(|| {
        format!(
            "writing the localnet profile into {}",
            config_path.display()
        )
    })?;
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
        writeln!(
            out,
            "explorer: {}/explorer/ (the network, the map of devices, each device's reasons; every oracle serves one)",
            urls[0]
        )?;
        writeln!(
            out,
            "each oracle publishes its epoch bundles into {}/oracle-N; anyone can check a root: groundwork rewards verify-epoch N --bundle {}/oracle-1 [--params {}]",
            bundles_dir.display(),
            bundles_dir.display(),
            args.data_dir.join("oracle-1/oracle.toml").display()
        )?;
        writeln!(out, "the programs' logs go to {}", program_log.display())?;
        writeln!(out, "the oracle's logs go to {}", oracle_log.display())?;
        let gw = if profile_is_default {
            writeln!(
                out,
                "saved the profile `localnet` (url {}, oracle {}, token faucet) in {} as the default profile",
                rpc.url,
                urls[0],
                config_path.display()
            )?;
            "groundwork".to_string()
        } else {
            writeln!(
                out,
                "saved the profile `localnet` (url {}, oracle {}, token faucet) in {}; your default profile stays: pass --profile localnet",
                rpc.url,
                urls[0],
                config_path.display()
            )?;
            "groundwork --profile localnet".to_string()
        };
        writeln!(
            out,
            "epochs of {epoch_len_s} s; epoch 0 starts at unix time {genesis}; try, in another terminal:"
        )?;
        writeln!(out, "  {gw} network status")?;
        writeln!(out, "  {gw} keygen --outfile me.json")?;
        writeln!(
            out,
            "  {gw} -k me.json airdrop 10        # SOL and 1000 network tokens"
        )?;
        writeln!(out, "  {gw} -k me.json balance")?;
        writeln!(
            out,
            "  {gw} -k {} device list",
            keys.join("operator-1.json").display()
        )?;
        writeln!(
            out,
            "  {gw} -k {} stake list",
            keys.join("staker-1.json").display()
        )?;
        writeln!(out, "  {gw} oracle status")?;
        writeln!(out)?;
        writeln!(out, "{TABLE_HEADER}")?;
    }

    let mut telemetry = world.stream_telemetry(genesis, epoch_len_s, stop.clone())?;
    let mut epoch = 0u64;
    loop {
        let end = genesis + (i64::try_from(epoch)? + 1) * epoch_len_s;
        if !run_until(&ledger, &mut telemetry, end, &stop)? {
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
        world.delegate_when_active(&mut ledger)?;
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
            // Keep serving, without closing more epochs: the oracles go on voting, activating
            // and relaying, and the operators go on claiming what each new root owes them.
            let mut next_claims = std::time::Instant::now();
            while !stop.load(Ordering::SeqCst) {
                telemetry.check()?;
                if std::time::Instant::now() >= next_claims {
                    world.claim_rewards(&mut ledger)?;
                    next_claims = std::time::Instant::now() + CLAIMS_WHILE_SERVING;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    telemetry.finish()?;
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
