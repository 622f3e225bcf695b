//! `groundwork`: the Groundwork CLI, with the Solana CLI's habits (`-u` monikers, the Solana
//! CLI config's keypair, `--commitment`, `--output`): the bootstrap, the network status,
//! `groundwork localnet`, and the operators' and dApps' commands (operators, devices,
//! credits). Every transaction is simulated first (`--dry-run` stops there) and priced from
//! recent fees.
//!
//! This file holds the command line (`Cli`, `Command`) and sends each command to its module:
//! [`commands`] (one module per family of subcommands) and [`localnet`], over the lower layer
//! they share ([`context`], [`cluster`], [`send`], [`output`], [`oracle_api`], [`location`],
//! [`device_sim`]), which imports neither.

mod cluster;
mod commands;
mod config;
mod context;
mod device_sim;
mod localnet;
mod location;
mod oracle_api;
mod output;
mod program_errors;
mod send;
mod signing;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::cluster::{commitment, default_keypair_path, rpc_url, RpcLedger};
use crate::output::{print, Output};

#[derive(Parser)]
#[command(
    name = "groundwork",
    version,
    about = "Run and use a Groundwork DePIN network on Solana"
)]
struct Cli {
    /// JSON-RPC URL or moniker: localhost, devnet, testnet, mainnet-beta (or l, d, t, m);
    /// default: the config's, else the Solana CLI config's, else localhost.
    #[arg(short = 'u', long = "url", global = true)]
    url: Option<String>,
    /// Keypair file (Solana CLI JSON); default: the config's, else the Solana CLI config's.
    #[arg(short = 'k', long = "keypair", global = true)]
    keypair: Option<PathBuf>,
    /// processed, confirmed or finalized (default: the config's, else confirmed).
    #[arg(long, global = true)]
    commitment: Option<String>,
    /// display, json or json-compact (default: the config's, else display).
    #[arg(long, global = true, value_enum)]
    output: Option<Output>,
    /// The config file (default: $GROUNDWORK_CONFIG, else ~/.config/groundwork/config.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The config profile to use (default: $GROUNDWORK_PROFILE, else the config's `profile`).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// Simulate the transaction only; send nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Print the unsigned transaction message (base64) instead of sending it, e.g. to propose
    /// it in a multisig vault.
    #[arg(long, global = true)]
    dump_transaction_message: bool,
    /// Sign with the keypairs at hand and print the signatures instead of sending (a signer
    /// argument given as a public key is left absent); needs --blockhash.
    #[arg(long, global = true, requires = "blockhash")]
    sign_only: bool,
    /// The blockhash every party signs with, for two parties signing apart (`groundwork
    /// blockhash` prints a recent one).
    #[arg(long, global = true)]
    blockhash: Option<solana_message::Hash>,
    /// A signature made elsewhere with --sign-only: PUBKEY=SIGNATURE (repeat for each).
    #[arg(long = "signer", global = true, requires = "blockhash")]
    signers: Vec<String>,
    /// Most priority fee per compute unit, in micro-lamports.
    #[arg(long, global = true, default_value_t = 100_000)]
    max_priority_fee: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initialise (or bring up to date) a network on the cluster from a network TOML file.
    Bootstrap(commands::bootstrap::BootstrapArgs),
    /// Operators: register, update, show.
    Operator {
        #[command(subcommand)]
        command: commands::operator::OperatorCommand,
    },
    /// Devices: keys, onboarding, locations, transfers, recipients, retirement, views.
    Device {
        #[command(subcommand)]
        command: commands::registry::DeviceCommand,
    },
    /// Device classes: what each costs to onboard and move, and earns.
    Class {
        #[command(subcommand)]
        command: commands::registry::ClassCommand,
    },
    /// Service credits: buy with the network token, balance, pay a device.
    Credits {
        #[command(subcommand)]
        command: commands::registry::CreditsCommand,
    },
    /// What a key holds: SOL, network tokens, credits, staked tokens, and (with --oracle) its
    /// claimable rewards.
    Balance(commands::balance::BalanceArgs),
    /// Writes a new wallet keypair file (Solana CLI JSON); works offline.
    Keygen {
        /// Where to write it (refuses to overwrite a file).
        #[arg(long)]
        outfile: PathBuf,
    },
    /// A recent blockhash, for parties signing one transaction apart (--sign-only
    /// --blockhash): valid for about 150 blocks.
    Blockhash,
    /// Requests SOL from the cluster's faucet (localnet, devnet, testnet) and, on a local
    /// network, network tokens from its treasury.
    Airdrop(commands::airdrop::AirdropArgs),
    /// The network token: transfers.
    Token {
        #[command(subcommand)]
        command: commands::token::TokenCommand,
    },
    /// The CLI's settings (url, keypair, oracle, output, commitment), at the top level or per
    /// profile.
    Config {
        #[command(subcommand)]
        command: commands::config::ConfigCommand,
    },
    /// Staking: positions, delegation, claims, and what each position can claim.
    Stake {
        #[command(subcommand)]
        command: commands::stake::StakeCommand,
    },
    /// Device rewards: what a recipient earned and was paid; claims (for oneself or as a
    /// relayer).
    Rewards {
        #[command(subcommand)]
        command: commands::rewards::RewardsCommand,
    },
    /// Permissionless cranks: close epochs, activate roots.
    Crank {
        #[command(subcommand)]
        command: commands::admin::CrankCommand,
    },
    /// The network authority: classes, makers, suspensions, slashes, oracle set, authority
    /// transfers (with --dump-transaction-message for a multisig).
    Authority {
        /// The authority's public key, when it holds no keypair here (a multisig vault):
        /// with --dump-transaction-message, before or after the authority command.
        #[arg(long, global = true)]
        authority: Option<anchor_lang::prelude::Pubkey>,
        #[command(subcommand)]
        command: commands::admin::AuthorityCommand,
    },
    /// Streams signed telemetry from device keys to an oracle, with a summary of replies.
    Simulate(commands::simulate::SimulateArgs),
    /// Network-wide views.
    Network {
        #[command(subcommand)]
        command: commands::status::NetworkCommand,
    },
    /// An oracle's health and votes, and what it waits for.
    Oracle {
        #[command(subcommand)]
        command: commands::oracle::OracleCommand,
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

fn main() -> Result<()> {
    let cli = Cli::parse();
    let config_path = cli.config.clone().unwrap_or_else(config::default_path);
    let config_file = config::ConfigFile::load(&config_path)?;
    let chosen_profile = cli.profile.clone().or_else(|| {
        std::env::var("GROUNDWORK_PROFILE")
            .ok()
            .filter(|name| !name.is_empty())
    });
    let profile = config_file.active_profile(chosen_profile.as_deref());
    let settings = match (config_file.resolve(profile.as_deref()), &cli.command) {
        (Ok(settings), _) => settings,
        // `config` itself works under a profile that is not there yet (to create or fix it).
        (Err(_), Command::Config { .. }) => config::Resolved::default(),
        (Err(error), _) => return Err(error),
    };
    let url = rpc_url(
        cli.url
            .as_deref()
            .or(settings.get("url"))
            .unwrap_or("localhost"),
    );
    let commitment = commitment(
        cli.commitment
            .as_deref()
            .or(settings.get("commitment"))
            .unwrap_or("confirmed"),
    )?;
    let output = match cli.output {
        Some(output) => output,
        None => settings
            .get("output")
            .map(config::parse_output)
            .transpose()?
            .unwrap_or(Output::Display),
    };
    let keypair_path = || {
        cli.keypair
            .clone()
            .or_else(|| settings.get("keypair").map(PathBuf::from))
            .unwrap_or_else(default_keypair_path)
    };
    // A profile's oracle and faucet belong to its cluster: a -u naming another cluster
    // leaves them out.
    let same_cluster =
        cli.url.is_none() || settings.get("url").map(rpc_url).as_deref() == Some(url.as_str());
    let oracle = settings
        .get("oracle")
        .filter(|_| same_cluster)
        .map(str::to_string);
    let faucet_keypair = settings
        .get("faucet_keypair")
        .filter(|_| same_cluster)
        .map(PathBuf::from);
    let send_options = send::SendOptions {
        dry_run: cli.dry_run,
        dump_message: cli.dump_transaction_message,
        max_priority_fee: cli.max_priority_fee,
        quiet: false,
        sign_only: cli.sign_only,
        blockhash: cli.blockhash,
    };
    let presigned = signing::Presigned::parse(&cli.signers)?;
    let context = || -> Result<context::Context> {
        let ledger = RpcLedger::new(&url, commitment);
        ledger.check_reachable()?;
        Ok(context::Context {
            ledger,
            keypair_path: keypair_path(),
            output,
            send: send_options,
            oracle: oracle.clone(),
            presigned: presigned.clone(),
        })
    };
    match cli.command {
        // Key generation needs no cluster.
        Command::Keygen { outfile }
        | Command::Device {
            command: commands::registry::DeviceCommand::Keygen { outfile },
        } => print(&commands::registry::keygen(&outfile)?, output),
        Command::Balance(args) => commands::balance::balance(&context()?, args),
        Command::Operator { command } => commands::operator::operator(&context()?, command),
        Command::Device { command } => commands::registry::device(&context()?, command),
        Command::Credits { command } => commands::registry::credits(&context()?, command),
        Command::Class { command } => commands::registry::class(&context()?, command),
        Command::Stake { command } => commands::stake::stake(&context()?, command),
        Command::Crank { command } => commands::admin::crank(&context()?, command),
        // A replay reads bundles only: no cluster needed.
        Command::Rewards {
            command:
                commands::rewards::RewardsCommand::Replay {
                    bundles,
                    epochs,
                    params,
                    csv,
                    top,
                },
        } => commands::bundle::replay(
            &bundles,
            epochs.as_deref(),
            &params,
            csv.as_ref(),
            top,
            output,
        ),
        Command::Rewards { command } => commands::rewards::rewards(&context()?, command),
        Command::Simulate(args) => commands::simulate::simulate(&context()?, args),
        Command::Oracle {
            command: commands::oracle::OracleCommand::Status { oracle: flag },
        } => print(
            &commands::oracle::status(&context::oracle_url(flag, oracle.as_deref())?)?,
            output,
        ),
        Command::Authority { authority, command } => {
            commands::admin::authority(&context()?, authority, command)
        }
        Command::Bootstrap(args) => {
            commands::bootstrap::run(args, &url, commitment, &keypair_path, output, send_options)
        }
        Command::Airdrop(args) => commands::airdrop::airdrop(
            &context()?,
            args,
            faucet_keypair.as_deref(),
            &url,
            commitment,
        ),
        Command::Token { command } => commands::token::token(&context()?, command),
        Command::Blockhash => commands::airdrop::blockhash(&context()?),
        Command::Config { command } => commands::config::config(
            &config_path,
            config_file,
            profile.as_deref(),
            command,
            output,
        ),
        Command::Network { command } => {
            commands::status::network(&url, commitment, output, command)
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
                data_dir: data_dir.unwrap_or_else(localnet::default_data_dir),
                reset,
                port,
                oracle_port,
                epoch_length,
                votes: !without_votes,
            },
            output,
            &config_path,
        ),
    }
}
