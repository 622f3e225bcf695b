//! `groundwork balance [KEY]`: what a key holds on this network — SOL for fees, network
//! tokens, service credits, tokens staked in its positions, and (with `--oracle`) the rewards
//! the active root owes it beyond what it claimed. Decimals in the human output; base units,
//! named as such, in JSON.

use anchor_lang::prelude::Pubkey;
use anyhow::Result;
use serde::Serialize;

use crate::context::{credits_of, Context};
use crate::oracle_api::oracle_reply;
use crate::output::format_amount;

#[derive(clap::Args)]
pub struct BalanceArgs {
    /// Whose balance (default: the keypair's).
    pub key: Option<Pubkey>,
    /// An oracle's base URL: also show the rewards it says the active root owes the key.
    #[arg(long)]
    pub oracle: Option<String>,
}

#[derive(Serialize)]
pub struct Balance {
    pub key: String,
    pub sol_lamports: u64,
    pub network_token_base_units: u64,
    pub network_token_decimals: u8,
    pub credits: u64,
    pub staked_base_units: u64,
    pub positions: usize,
    /// What the active root owes beyond claims (`None` without `--oracle`).
    pub claimable_base_units: Option<u64>,
}

impl std::fmt::Display for Balance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let decimals = self.network_token_decimals;
        writeln!(f, "{}", self.key)?;
        writeln!(
            f,
            "  SOL               {} ({} lamports){}",
            format_amount(self.sol_lamports, 9),
            self.sol_lamports,
            if self.sol_lamports == 0 {
                " — no SOL for fees: run `groundwork airdrop 1` on a localnet or devnet"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "  network tokens    {}",
            format_amount(self.network_token_base_units, decimals)
        )?;
        writeln!(f, "  service credits   {}", self.credits)?;
        writeln!(
            f,
            "  staked            {} in {} position(s)",
            format_amount(self.staked_base_units, decimals),
            self.positions
        )?;
        match self.claimable_base_units {
            Some(claimable) => writeln!(
                f,
                "  claimable rewards {} (`groundwork rewards claim` pays them)",
                format_amount(claimable, decimals)
            ),
            None => writeln!(f, "  claimable rewards ask an oracle: --oracle URL"),
        }
    }
}

pub fn balance(ctx: &Context, args: BalanceArgs) -> Result<()> {
    let key = ctx.key_or_signer(args.key)?;
    let token = ctx.network_token()?;
    let decimals = ctx.network_decimals()?;
    let sol_lamports = ctx.ledger.client.get_balance(&key)?;
    let network_token_base_units = ctx.token_balance(
        &groundwork_client::reward_epochs::recipient_token_account(&key, token),
    );
    let positions = groundwork_client::staking::positions_of_owner(&ctx.ledger, &key)?;
    let mut staked_base_units = 0u64;
    for position in &positions {
        // A delegated position's tokens are its pool shares' worth.
        let tokens = groundwork_client::staking::tokens_now(&ctx.ledger, position)?;
        staked_base_units = staked_base_units
            .checked_add(tokens)
            .ok_or_else(|| anyhow::anyhow!("the staked amounts of {key} overflow a u64"))?;
    }
    let claimable_of = |oracle: &str| -> Result<u64> {
        // No leaf (nothing earned) or no active root yet: nothing to claim.
        let (status, reply) = oracle_reply(oracle, &format!("/v1/rewards/{key}"))?;
        match (status, reply["error"].as_str()) {
            (200, _) => Ok(reply["claimable"].as_u64().unwrap_or(0)),
            (404, Some("no_rewards" | "no_active_root")) => Ok(0),
            _ => anyhow::bail!(
                "{oracle} answered {status}: {}",
                reply["message"].as_str().unwrap_or("no reason given")
            ),
        }
    };
    let claimable_base_units = match (&args.oracle, &ctx.oracle) {
        // Asked for: its failure is the command's.
        (Some(oracle), _) => Some(claimable_of(oracle)?),
        // From the config: the chain's part is still worth showing without it.
        (None, Some(oracle)) => match claimable_of(oracle) {
            Ok(claimable) => Some(claimable),
            Err(error) => {
                eprintln!("warning: claimable rewards left out: {error:#}");
                None
            }
        },
        (None, None) => None,
    };
    ctx.print(&Balance {
        key: key.to_string(),
        sol_lamports,
        network_token_base_units,
        network_token_decimals: decimals,
        credits: credits_of(ctx, &key)?,
        staked_base_units,
        positions: positions.len(),
        claimable_base_units,
    })
}
