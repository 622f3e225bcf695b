//! `groundwork bootstrap`: initialises a network on the cluster from a network TOML file, or
//! brings an existing one up to date; with `--dry-run`, prints the plan instead.

use std::path::PathBuf;

use anyhow::{Context, Result};
use groundwork_bootstrap::{bootstrap, NetworkConfig, Signers};
use solana_commitment_config::CommitmentConfig;

use crate::cluster::{load_keypair, RpcLedger};
use crate::output::{print, Output};
use crate::send::SendOptions;

/// `groundwork bootstrap`: the network file, and the keypairs that sign.
#[derive(clap::Args)]
pub struct BootstrapArgs {
    /// The network file (see migrations/network.example.toml).
    #[arg(long)]
    pub network: PathBuf,
    /// The programs' upgrade authority (pays for every account); default: --keypair.
    #[arg(long)]
    pub deployer: Option<PathBuf>,
    /// The network authority the file names; default: --keypair.
    #[arg(long)]
    pub authority: Option<PathBuf>,
    /// The current mint authority of an existing mint the file adopts.
    #[arg(long)]
    pub mint_authority: Option<PathBuf>,
}

/// Bootstraps the network `args` names on the cluster at `url` (the keypairs not given are
/// `keypair_path()`), or with `--dry-run` prints the plan.
pub fn run(
    args: BootstrapArgs,
    url: &str,
    commitment: CommitmentConfig,
    keypair_path: &dyn Fn() -> PathBuf,
    output: Output,
    send: SendOptions,
) -> Result<()> {
    let BootstrapArgs {
        network,
        deployer,
        authority,
        mint_authority,
    } = args;
    if send.dump_message {
        anyhow::bail!("bootstrap sends its transactions as it goes (each step reads what the previous one created), so it has no single message to dump: review the plan with --dry-run, then propose each update with the matching `groundwork authority` command and --dump-transaction-message");
    }
    let text = std::fs::read_to_string(&network)
        .with_context(|| format!("reading {}", network.display()))?;
    let config = NetworkConfig::parse(&text)?;
    if send.dry_run {
        let mut ledger = RpcLedger::new(url, commitment);
        ledger.check_reachable()?;
        return print(&groundwork_bootstrap::plan(&mut ledger, &config)?, output);
    }
    let deployer = load_keypair(&deployer.unwrap_or_else(keypair_path))?;
    let authority = load_keypair(&authority.unwrap_or_else(keypair_path))?;
    let mint_authority = mint_authority.map(|path| load_keypair(&path)).transpose()?;
    let mut ledger = RpcLedger::new(url, commitment);
    ledger.check_reachable()?;
    let signers = Signers {
        deployer: &deployer,
        authority: &authority,
        mint_authority: mint_authority.as_ref(),
    };
    let report = bootstrap(&mut ledger, &config, &signers)?;
    print(&report, output)
}
