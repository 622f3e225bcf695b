//! `groundwork`: the Groundwork CLI, with the Solana CLI's habits (`-u` monikers, the Solana
//! CLI config's keypair, `--commitment`, `--output`): the bootstrap, the network status,
//! `groundwork localnet`, and the operators' and dApps' commands (operators, devices,
//! credits). Every transaction is simulated first (`--dry-run` stops there) and priced from
//! recent fees.

mod admin_cmd;
mod cluster;
mod context;
mod localnet;
mod oracle_cmd;
mod registry_cmd;
mod rewards_cmd;
mod send;
mod simulate;
mod stake_cmd;
mod status;
mod world;

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
    /// JSON-RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (or l, d, t, m);
    /// default: the Solana CLI config's, else localhost.
    #[arg(short = 'u', long = "url", global = true)]
    url: Option<String>,
    /// Keypair file (Solana CLI JSON); default: the Solana CLI config's keypair.
    #[arg(short = 'k', long = "keypair", global = true)]
    keypair: Option<PathBuf>,
    /// processed, confirmed or finalized.
    #[arg(long, global = true, default_value = "confirmed")]
    commitment: String,
    #[arg(long, global = true, value_enum, default_value = "display")]
    output: Output,
    /// Simulate the transaction only; send nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Print the unsigned transaction message (base64) instead of sending it, e.g. to propose
    /// it in a multisig vault.
    #[arg(long, global = true)]
    dump_transaction_message: bool,
    /// Most priority fee per compute unit, in micro-lamports.
    #[arg(long, global = true, default_value_t = 100_000)]
    max_priority_fee: u64,
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
    /// Operators: register, update, show.
    Operator {
        #[command(subcommand)]
        command: registry_cmd::OperatorCommand,
    },
    /// Devices: keys, onboarding, locations, transfers, recipients, retirement, views.
    Device {
        #[command(subcommand)]
        command: registry_cmd::DeviceCommand,
    },
    /// Service credits: buy with the network token, balance, pay a device.
    Credits {
        #[command(subcommand)]
        command: registry_cmd::CreditsCommand,
    },
    /// Requests SOL from the cluster's faucet (localnet, devnet, testnet).
    Airdrop {
        /// SOL to request.
        sol: f64,
        /// Who receives it (default: the keypair).
        recipient: Option<anchor_lang::prelude::Pubkey>,
    },
    /// Staking: positions, delegation, claims, and what each position can claim.
    Stake {
        #[command(subcommand)]
        command: stake_cmd::StakeCommand,
    },
    /// Device rewards: what a recipient earned and was paid; claims (for oneself or as a
    /// relayer).
    Rewards {
        #[command(subcommand)]
        command: rewards_cmd::RewardsCommand,
    },
    /// Permissionless cranks: close epochs, activate roots.
    Crank {
        #[command(subcommand)]
        command: admin_cmd::CrankCommand,
    },
    /// The network authority: classes, makers, suspensions, slashes, oracle set, authority
    /// transfers (with --dump-transaction-message for a multisig).
    Authority {
        /// The authority's public key, when it holds no keypair here (a multisig vault):
        /// with --dump-transaction-message.
        #[arg(long)]
        authority: Option<anchor_lang::prelude::Pubkey>,
        #[command(subcommand)]
        command: admin_cmd::AuthorityCommand,
    },
    /// Streams signed telemetry from device keys to an oracle, with a summary of replies.
    Simulate(simulate::SimulateArgs),
    /// Network-wide views.
    Network {
        #[command(subcommand)]
        command: NetworkCommand,
    },
    /// An oracle's health and votes, and what it waits for.
    Oracle {
        #[command(subcommand)]
        command: oracle_cmd::OracleCommand,
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
        /// Port of the oracle's HTTP API on 127.0.0.1.
        #[arg(long, default_value_t = 8080)]
        oracle_port: u16,
        /// Epoch length (humantime: 60s, 2m...).
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        epoch_length: Duration,
        /// The oracles compute and serve rewards but vote no roots (vote them yourself, with
        /// the oracle keys in the data directory).
        #[arg(long)]
        without_votes: bool,
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

/// A finished airdrop.
#[derive(serde::Serialize)]
struct Airdropped {
    recipient: String,
    balance_lamports: u64,
}

impl std::fmt::Display for Airdropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} now holds {} SOL",
            self.recipient,
            format_amount(self.balance_lamports, 9)
        )
    }
}

/// `amount` base units of a mint of `decimals`, as a decimal number.
pub fn format_amount(amount: u64, decimals: u8) -> String {
    let scale = 10u64.pow(u32::from(decimals));
    format!(
        "{}.{:0width$}",
        amount / scale,
        amount % scale,
        width = usize::from(decimals)
    )
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let url = rpc_url(
        &cli.url
            .clone()
            .or_else(cluster::default_url)
            .unwrap_or_else(|| "localhost".into()),
    );
    let commitment = commitment(&cli.commitment)?;
    let keypair_path = || cli.keypair.clone().unwrap_or_else(default_keypair_path);
    let context = || -> Result<context::Context> {
        let ledger = RpcLedger::new(&url, commitment);
        ledger.check_reachable()?;
        Ok(context::Context {
            ledger,
            keypair_path: keypair_path(),
            output: cli.output,
            send: send::SendOptions {
                dry_run: cli.dry_run,
                dump_message: cli.dump_transaction_message,
                max_priority_fee: cli.max_priority_fee,
            },
        })
    };
    match cli.command {
        Command::Operator { command } => registry_cmd::operator(&context()?, command),
        Command::Device { command } => registry_cmd::device(&context()?, command),
        Command::Credits { command } => registry_cmd::credits(&context()?, command),
        Command::Stake { command } => stake_cmd::stake(&context()?, command),
        Command::Crank { command } => admin_cmd::crank(&context()?, command),
        Command::Rewards { command } => rewards_cmd::rewards(&context()?, command),
        Command::Simulate(args) => simulate::simulate(&context()?, args),
        Command::Oracle {
            command: oracle_cmd::OracleCommand::Status { oracle },
        } => print(&oracle_cmd::status(&oracle)?, cli.output),
        Command::Authority { authority, command } => {
            admin_cmd::authority(&context()?, authority, command)
        }
        Command::Bootstrap {
            network,
            deployer,
            authority,
            mint_authority,
        } => {
            if cli.dump_transaction_message {
                anyhow::bail!("bootstrap sends its transactions as it goes (each step reads what the previous one created), so it has no single message to dump: review the plan with --dry-run, then propose each update with the matching `groundwork authority` command and --dump-transaction-message");
            }
            let text = std::fs::read_to_string(&network)
                .with_context(|| format!("reading {}", network.display()))?;
            let config = NetworkConfig::parse(&text)?;
            if cli.dry_run {
                let mut ledger = RpcLedger::new(&url, commitment);
                ledger.check_reachable()?;
                return print(
                    &groundwork_bootstrap::plan(&mut ledger, &config)?,
                    cli.output,
                );
            }
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
        Command::Airdrop { sol, recipient } => {
            let context = context()?;
            let recipient = context.key_or_signer(recipient)?;
            if !(sol > 0.0 && sol <= 1_000.0) {
                anyhow::bail!("request between 0 and 1,000 SOL");
            }
            // Lamports of a positive amount of at most 1,000 SOL: far inside u64.
            let lamports = (sol * 1e9).round() as u64;
            let client = &context.ledger.client;
            let signature = client
                .request_airdrop(&recipient, lamports)
                .with_context(|| format!("the faucet of {url} refused (mainnet has none)"))?;
            client
                .poll_for_signature_with_commitment(&signature, commitment)
                .context("waiting for the airdrop")?;
            let balance = client.get_balance(&recipient)?;
            print(
                &Airdropped {
                    recipient: recipient.to_string(),
                    balance_lamports: balance,
                },
                cli.output,
            )
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
            oracle_port,
            epoch_length,
            without_votes,
        } => localnet::run(
            localnet::LocalnetArgs {
                epochs,
                exit,
                data_dir: data_dir.unwrap_or_else(default_data_dir),
                reset,
                port,
                oracle_port,
                epoch_length,
                votes: !without_votes,
            },
            cli.output,
        ),
    }
}
