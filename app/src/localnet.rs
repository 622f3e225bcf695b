//! `groundwork localnet`: a whole network on one machine. A real JSON-RPC endpoint on
//! 127.0.0.1 (surfpool over the in-process runtime with the four programs and the SPL
//! programs), bootstrapped from the built-in network file with keypairs kept in a data
//! directory; then the crank closes every epoch as it ends and one line per epoch tells what
//! the chain did. It keeps serving (the other CLI commands work against it) until Ctrl-C, or
//! stops after `--epochs N --exit`.

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
use groundwork_client::tokenomics::NetworkToken;
use groundwork_client::{reward_epochs as rewards, tokenomics as tokenomics_client};
use groundwork_harness::rpc::LocalRpc;
use reward_epochs::{EpochV0, RewardConfigV0};
use serde::Serialize;
use solana_account::Account;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::{read_keypair_file, write_keypair_file, Keypair};
use solana_signer::Signer;
use tokenomics::TokenomicsConfigV0;

use crate::cluster::RpcLedger;
use crate::Output;

/// The network file the localnet bootstraps.
pub const LOCALNET_NETWORK: &str = include_str!("../../migrations/localnet.toml");
/// Oracles of the local network's set.
const LOCAL_ORACLES: usize = 3;
/// SOL given to the local network's own wallets.
const LOCAL_WALLET_LAMPORTS: u64 = 1_000 * 1_000_000_000;

/// What `groundwork localnet` was asked for.
pub struct LocalnetArgs {
    pub epochs: Option<u64>,
    pub exit: bool,
    pub data_dir: PathBuf,
    pub reset: bool,
    pub port: u16,
    pub epoch_length: Duration,
}

/// The local network's wallets, kept in its data directory across runs.
struct Wallets {
    deployer: Keypair,
    authority: Keypair,
    oracles: Vec<Keypair>,
}

fn load_or_create(path: &Path) -> Result<Keypair> {
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
        })
    }
}

/// The accounts the local chain starts with: each program's ProgramData naming the local
/// deployer as upgrade authority (so it may initialize them), and funded local wallets.
fn genesis_accounts(wallets: &Wallets) -> Vec<(Pubkey, Account)> {
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
}

fn gwk(amount: u64) -> String {
    format!("{}.{:06}", amount / 1_000_000, amount % 1_000_000)
}

impl std::fmt::Display for EpochLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>5}  {:>16}  {:>16}  {:>14}  {:>14}  {:>16}  {:>14}  {:>18}",
            self.epoch,
            gwk(self.minted),
            gwk(self.device_share),
            gwk(self.staker_share),
            gwk(self.treasury_share),
            gwk(self.device_pool_awaiting_roots),
            gwk(self.burned_total),
            gwk(self.supply),
        )
    }
}

const TABLE_HEADER: &str = "epoch            minted     device share    staker share  treasury share  awaiting roots          burned              supply";

fn mint_supply(ledger: &RpcLedger, mint: &Pubkey) -> Result<u64> {
    use anchor_lang::AccountDeserialize;
    let account = ledger
        .account(mint)?
        .context("the network mint is missing")?;
    Ok(anchor_spl::token_interface::Mint::try_deserialize(&mut account.data.as_slice())?.supply)
}

/// Closes `epoch` and reads back what it did.
fn close_epoch(ledger: &mut RpcLedger, wallets: &Wallets, epoch: u64) -> Result<EpochLine> {
    let tokenomics: TokenomicsConfigV0 =
        read(&*ledger, &tokenomics_client::config_address())?.context("tokenomics is missing")?;
    let reward_config: RewardConfigV0 =
        read(&*ledger, &rewards::config_address())?.context("rewards are missing")?;
    let token = NetworkToken {
        mint: tokenomics.network_mint,
        token_program: anchor_spl::token::ID,
    };
    let instruction = rewards::close_epoch(
        &wallets.authority.pubkey(),
        token,
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
        supply: mint_supply(ledger, &tokenomics.network_mint)?,
        initial_supply: tokenomics.initial_supply,
    })
}

/// Waits until the chain's clock reaches `unix_timestamp`, or Ctrl-C.
fn wait_for(ledger: &RpcLedger, unix_timestamp: i64, stop: &AtomicBool) -> Result<bool> {
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
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

pub fn run(args: LocalnetArgs, output: Output) -> Result<()> {
    if args.exit && args.epochs.is_none() {
        bail!("--exit needs --epochs N (how many epochs to run before exiting)");
    }
    if args.reset && args.data_dir.exists() {
        std::fs::remove_dir_all(&args.data_dir)
            .with_context(|| format!("resetting {}", args.data_dir.display()))?;
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("creating {}", args.data_dir.display()))?;
    let wallets = Wallets::load_or_create(&args.data_dir)?;
    let stop = stop_on_signal()?;
    let program_log = args.data_dir.join("programs.log");
    let mut out = divert_program_logs(&program_log)?;

    let rpc = LocalRpc::start_on(Some(args.port), genesis_accounts(&wallets)).map_err(|error| {
        anyhow::anyhow!("starting the local RPC on 127.0.0.1:{}: {error} (is another localnet or validator using the port? pass --port)", args.port)
    })?;
    let mut ledger = RpcLedger::new(&rpc.url, CommitmentConfig::confirmed());
    ledger.check_reachable()?;

    let mut config = NetworkConfig::parse(LOCALNET_NETWORK)?;
    let genesis = ledger.unix_timestamp()?;
    config.authority = Key(wallets.authority.pubkey());
    config.rewards.treasury_owner = Key(wallets.authority.pubkey());
    config.rewards.oracles = wallets
        .oracles
        .iter()
        .map(|oracle| Key(oracle.pubkey()))
        .collect();
    config.epochs.genesis_unix = genesis;
    config.epochs.length = args.epoch_length;
    let epoch_len_s = config.epoch_len_s()?;
    let signers = Signers {
        deployer: &wallets.deployer,
        authority: &wallets.authority,
        mint_authority: None,
    };
    let report =
        bootstrap(&mut ledger, &config, &signers).context("bootstrapping the local network")?;

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
        writeln!(out, "the programs' logs go to {}", program_log.display())?;
        writeln!(
            out,
            "epochs of {epoch_len_s} s from {genesis}; try, in another terminal:"
        )?;
        writeln!(out, "  groundwork -u localhost network status")?;
        writeln!(
            out,
            "  groundwork -u localhost -k {} network status",
            args.data_dir.join("keys/authority.json").display()
        )?;
        writeln!(out)?;
        writeln!(out, "{TABLE_HEADER}")?;
    }

    let mut epoch = 0u64;
    loop {
        let end = genesis + (i64::try_from(epoch)? + 1) * epoch_len_s;
        if !wait_for(&ledger, end, &stop)? {
            break;
        }
        let line = close_epoch(&mut ledger, &wallets, epoch)?;
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
    if output == Output::Display {
        writeln!(out, "local network stopped")?;
    }
    drop(rpc);
    Ok(())
}
