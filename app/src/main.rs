//! `groundwork`: the Groundwork CLI, with the Solana CLI's habits (`-u` monikers, the Solana
//! CLI config's keypair, `--commitment`, `--output`). This first cut holds the network's own
//! commands — the bootstrap, the network status and `groundwork localnet`; the commands of
//! operators, dApps, stakers and the authority follow on the same plumbing.

mod cluster;
mod localnet;
mod status;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use groundwork_bootstrap::{bootstrap, NetworkConfig, Signers};

use crate::cluster::{commitment, default_keypair_path, load_keypair, rpc_url, RpcLedger};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Display,
    Json,
    JsonCompact,
}

#[derive(Parser)]
#[command(
    name = "groundwork",
    version,
    about = "Run and use a Groundwork DePIN network on Solana"
)]
struct Cli {
    /// JSON-RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (or l, d, t, m).
    #[arg(short = 'u', long = "url", global = true, default_value = "localhost")]
    url: String,
    /// Keypair file (Solana CLI JSON); default: the Solana CLI config's keypair.
    #[arg(short = 'k', long = "keypair", global = true)]
    keypair: Option<PathBuf>,
    /// processed, confirmed or finalized.
    #[arg(long, global = true, default_value = "confirmed")]
    commitment: String,
    #[arg(long, global = true, value_enum, default_value = "display")]
    output: Output,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initialise (or bring up to date) a network on the cluster from a network TOML file.
    Bootstrap {
        /// The network file (see migrations/network.example.toml).
        #[arg(long)]
        network: PathBuf,
        /// The programs' upgrade authority (pays for every account); default: --keypair.
        #[arg(long)]
        deployer: Option<PathBuf>,
        /// The network authority the file names; default: --keypair.
        #[arg(long)]
        authority: Option<PathBuf>,
        /// The current mint authority of an existing mint the file adopts.
        #[arg(long)]
        mint_authority: Option<PathBuf>,
    },
    /// Network-wide views.
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
    /// A whole network on this machine: local RPC, bootstrap, epochs closed as they end.
    Localnet {
        /// Stop closing epochs after this many.
        #[arg(long)]
        epochs: Option<u64>,
        /// Exit after --epochs instead of serving on.
        #[arg(long)]
        exit: bool,
        /// Where the local network keeps its keypairs (default: ~/.local/share/groundwork/localnet).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Start from an empty data directory (new keypairs).
        #[arg(long)]
        reset: bool,
        /// JSON-RPC port on 127.0.0.1 (WebSocket on the next one).
        #[arg(long, default_value_t = 8899)]
        port: u16,
        /// Epoch length (humantime: 60s, 2m...).
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        epoch_length: Duration,
    },
}

#[derive(Subcommand)]
enum NetworkCommand {
    /// Programs, epoch, supply, minted, burned, credit price, oracles, counts, pending roots.
    Status,
}

fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("groundwork/localnet")
}

fn print<T: serde::Serialize + std::fmt::Display>(value: &T, output: Output) -> Result<()> {
    match output {
        Output::Display => print!("{value}"),
        Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Output::JsonCompact => println!("{}", serde_json::to_string(value)?),
    }
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let url = rpc_url(&cli.url);
    let commitment = commitment(&cli.commitment)?;
    let keypair_path = || cli.keypair.clone().unwrap_or_else(default_keypair_path);
    match cli.command {
        Command::Bootstrap {
            network,
            deployer,
            authority,
            mint_authority,
        } => {
            let text = std::fs::read_to_string(&network)
                .with_context(|| format!("reading {}", network.display()))?;
            let config = NetworkConfig::parse(&text)?;
            let deployer = load_keypair(&deployer.unwrap_or_else(keypair_path))?;
            let authority = load_keypair(&authority.unwrap_or_else(keypair_path))?;
            let mint_authority = mint_authority.map(|path| load_keypair(&path)).transpose()?;
            let mut ledger = RpcLedger::new(&url, commitment);
            ledger.check_reachable()?;
            let signers = Signers {
                deployer: &deployer,
                authority: &authority,
                mint_authority: mint_authority.as_ref(),
            };
            let report = bootstrap(&mut ledger, &config, &signers)?;
            print(&report, cli.output)
        }
        Command::Network {
            command: NetworkCommand::Status,
        } => {
            let ledger = RpcLedger::new(&url, commitment);
            ledger.check_reachable()?;
            print(&status::read_status(&ledger)?, cli.output)
        }
        Command::Localnet {
            epochs,
            exit,
            data_dir,
            reset,
            port,
            epoch_length,
        } => localnet::run(
            localnet::LocalnetArgs {
                epochs,
                exit,
                data_dir: data_dir.unwrap_or_else(default_data_dir),
                reset,
                port,
                epoch_length,
            },
            cli.output,
        ),
    }
}
