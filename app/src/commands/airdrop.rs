//! `groundwork airdrop`: SOL from the cluster's faucet (localnet, devnet, testnet) and, where
//! the config names a faucet keypair (a local network's treasury, written into the `localnet`
//! profile by `groundwork localnet`), network tokens from it.

use std::path::Path;

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use solana_commitment_config::CommitmentConfig;
use solana_signer::Signer;

use crate::cluster::load_keypair;
use crate::context::Context;
use crate::output::{format_amount, parse_amount, print};

/// Most SOL one request may ask for.
const MOST_SOL: f64 = 1_000.0;
/// Network tokens an airdrop gives when a faucet keypair is configured and --tokens is absent.
const DEFAULT_TOKENS: &str = "1000";

#[derive(clap::Args)]
pub struct AirdropArgs {
    /// SOL to request (more than 0, at most 1,000).
    pub sol: f64,
    /// Who receives it (default: the keypair).
    pub recipient: Option<Pubkey>,
    /// Network tokens to give too, from the configured faucet keypair (a local network's
    /// treasury; default 1000 when one is configured, 0 to give none).
    #[arg(long)]
    pub tokens: Option<String>,
    /// The keypair whose network tokens are given (default: the config's `faucet_keypair`).
    #[arg(long)]
    pub faucet_keypair: Option<std::path::PathBuf>,
}

/// A finished airdrop.
#[derive(serde::Serialize)]
struct Airdropped {
    recipient: String,
    balance_lamports: u64,
    /// Network tokens given, in base units (absent when none were).
    #[serde(skip_serializing_if = "Option::is_none")]
    tokens_given_base_units: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_balance_base_units: Option<u64>,
    #[serde(skip)]
    decimals: u8,
}

impl std::fmt::Display for Airdropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} now holds {} SOL",
            self.recipient,
            format_amount(self.balance_lamports, 9)
        )?;
        if let (Some(given), Some(balance)) =
            (self.tokens_given_base_units, self.token_balance_base_units)
        {
            writeln!(
                f,
                "gave {} network tokens; it now holds {}",
                format_amount(given, self.decimals),
                format_amount(balance, self.decimals)
            )?;
        }
        Ok(())
    }
}

/// Requests `args.sol` SOL for the recipient (default: the keypair) from the faucet of the
/// cluster at `url`, waits for it at `commitment`, gives network tokens from the faucet
/// keypair when there is one, and prints the recipient's balances.
pub fn airdrop(
    context: &Context,
    args: AirdropArgs,
    configured_faucet: Option<&Path>,
    url: &str,
    commitment: CommitmentConfig,
) -> Result<()> {
    if context.send.dry_run || context.send.dump_message {
        bail!("an airdrop cannot be simulated or dumped: it asks the cluster's faucet directly");
    }
    let recipient = context.key_or_signer(args.recipient)?;
    if !(args.sol > 0.0 && args.sol <= MOST_SOL) {
        bail!("request more than 0 and at most 1,000 SOL (e.g. `groundwork airdrop 2`)");
    }
    let faucet = args.faucet_keypair.as_deref().or(configured_faucet);
    let tokens = match (&args.tokens, faucet) {
        (Some(_), None) => bail!(
            "no token faucet: network tokens come from a holder; on a local network `groundwork localnet` names its treasury in the `localnet` profile (`groundwork config get`), elsewhere ask a holder for a `groundwork token transfer`"
        ),
        (tokens, Some(faucet)) => Some((tokens.as_deref().unwrap_or(DEFAULT_TOKENS), faucet)),
        (None, None) => None,
    };
    // Check the token request before anything is asked of the faucet.
    let token_gift = match tokens {
        Some((amount, faucet)) => {
            let decimals = context.network_decimals()?;
            let base_units =
                parse_amount(amount, decimals).with_context(|| format!("--tokens {amount}"))?;
            let faucet = load_keypair(faucet)?;
            let token = context.network_token()?;
            let held = context.token_balance(&token.account_of(&faucet.pubkey()));
            if base_units > held {
                bail!(
                    "the faucet {} holds {} network tokens, fewer than the {amount} asked",
                    faucet.pubkey(),
                    format_amount(held, decimals)
                );
            }
            (base_units > 0).then_some((base_units, faucet, token, decimals))
        }
        None => None,
    };
    // Lamports of a positive amount of at most 1,000 SOL: far inside u64.
    let lamports = (args.sol * 1e9).round() as u64;
    let client = &context.ledger.client;
    let signature = client
        .request_airdrop(&recipient, lamports)
        .with_context(|| format!("the faucet of {url} refused (mainnet has none)"))?;
    client
        .poll_for_signature_with_commitment(&signature, commitment)
        .context("waiting for the airdrop")?;
    let balance = client.get_balance(&recipient)?;
    let mut airdropped = Airdropped {
        recipient: recipient.to_string(),
        balance_lamports: balance,
        tokens_given_base_units: None,
        token_balance_base_units: None,
        decimals: 0,
    };
    if let Some((base_units, faucet, token, decimals)) = token_gift {
        let gift = token
            .transfer(
                &faucet.pubkey(),
                &faucet.pubkey(),
                &recipient,
                base_units,
                decimals,
            )
            .context("building the token transfer")?;
        crate::send::submit(&context.ledger, &gift, &[&faucet], context.send)
            .context("giving network tokens from the faucet")?;
        airdropped.tokens_given_base_units = Some(base_units);
        airdropped.token_balance_base_units =
            Some(context.token_balance(&token.account_of(&recipient)));
        airdropped.decimals = decimals;
    }
    print(&airdropped, context.output)
}

/// A recent blockhash and the block height it stays valid until.
#[derive(serde::Serialize)]
struct RecentBlockhash {
    blockhash: String,
    last_valid_block_height: u64,
    block_height: u64,
}

impl std::fmt::Display for RecentBlockhash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.blockhash)?;
        writeln!(
            f,
            "valid for {} more blocks (until block height {}): sign and send within that",
            self.last_valid_block_height
                .saturating_sub(self.block_height),
            self.last_valid_block_height
        )
    }
}

/// `groundwork blockhash`: a recent blockhash for parties signing apart.
pub fn blockhash(context: &Context) -> Result<()> {
    let client = &context.ledger.client;
    let (blockhash, last_valid_block_height) = client
        .get_latest_blockhash_with_commitment(client.commitment())
        .context("reading a recent blockhash")?;
    let block_height = client
        .get_block_height()
        .context("reading the block height")?;
    print(
        &RecentBlockhash {
            blockhash: blockhash.to_string(),
            last_valid_block_height,
            block_height,
        },
        context.output,
    )
}
