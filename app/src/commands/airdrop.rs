//! `groundwork airdrop`: SOL from the cluster's faucet (localnet, devnet, testnet).

use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use solana_commitment_config::CommitmentConfig;

use crate::context::Context;
use crate::output::{format_amount, print};

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

/// Requests `sol` SOL for `recipient` (default: the keypair) from the faucet of the cluster
/// at `url`, waits for it at `commitment` and prints the recipient's balance.
pub fn airdrop(
    context: &Context,
    sol: f64,
    recipient: Option<Pubkey>,
    url: &str,
    commitment: CommitmentConfig,
) -> Result<()> {
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
        context.output,
    )
}
