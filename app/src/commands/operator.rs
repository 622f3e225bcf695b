//! `groundwork operator`: register, update and show an operator, and set the commission it
//! keeps of its delegation pool's device rewards.

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use device_registry::{OperatorV0, RegisterOperatorArgsV0, UpdateOperatorArgsV0};
use groundwork_client::device_registry as registry;
use groundwork_client::ledger::read;
use serde::Serialize;
use solana_signer::Signer;

use super::registry::operator_of;
use crate::context::{short, Context};
use crate::output::Effect;

#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Registers the keypair as an operator (its reward recipient defaults to itself).
    Register {
        #[arg(long)]
        recipient: Option<Pubkey>,
        #[arg(long, default_value = "")]
        metadata_uri: String,
    },
    /// Changes the operator's reward recipient or metadata URI.
    Update {
        #[arg(long)]
        recipient: Option<Pubkey>,
        #[arg(long)]
        metadata_uri: Option<String>,
    },
    /// Shows an operator (default: the keypair's).
    Show { operator: Option<Pubkey> },
    /// Sets the commission the operator keeps of its delegation pool's device rewards (basis
    /// points of the part its devices' stake multiplier added; at most the staking
    /// authority's maximum). It takes effect from the next epoch, so delegators can leave
    /// first.
    SetCommission {
        /// Basis points: 1,000 = 10%.
        bps: u16,
    },
}

#[derive(Serialize)]
pub struct OperatorView {
    pub operator: String,
    pub reward_recipient: String,
    pub metadata_uri: String,
    pub devices: u64,
    pub registered_at: i64,
}

impl std::fmt::Display for OperatorView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "operator          {}", self.operator)?;
        writeln!(f, "reward recipient  {}", self.reward_recipient)?;
        writeln!(f, "metadata URI      {}", self.metadata_uri)?;
        writeln!(f, "devices           {}", self.devices)?;
        writeln!(f, "registered at     {}", self.registered_at)
    }
}

pub fn operator(ctx: &Context, command: OperatorCommand) -> Result<()> {
    match command {
        OperatorCommand::Register {
            recipient,
            metadata_uri,
        } => {
            let signer = ctx.signer()?;
            if read::<OperatorV0>(&ctx.ledger, &registry::operator_address(&signer.pubkey()))?
                .is_some()
            {
                bail!(
                    "{} is already a registered operator: change it with `groundwork operator update`",
                    short(&signer.pubkey())
                );
            }
            let instruction = registry::register_operator(
                &signer.pubkey(),
                RegisterOperatorArgsV0 {
                    reward_recipient: recipient.unwrap_or(signer.pubkey()),
                    metadata_uri,
                },
            );
            ctx.send(&[instruction], &[&signer]).map(drop)
        }
        OperatorCommand::Update {
            recipient,
            metadata_uri,
        } => {
            let signer = ctx.signer()?;
            operator_of(ctx, &signer.pubkey())?;
            let instruction = registry::update_operator(
                &signer.pubkey(),
                UpdateOperatorArgsV0 {
                    reward_recipient: recipient,
                    metadata_uri,
                },
            );
            ctx.send(&[instruction], &[&signer]).map(drop)
        }
        OperatorCommand::SetCommission { bps } => {
            let signer = ctx.signer()?;
            operator_of(ctx, &signer.pubkey())?;
            let config = ctx.staking_config()?;
            let max = config.params.max_commission_bps;
            if bps > max {
                bail!(
                    "a commission of {bps} bps is above the maximum the staking authority allows ({max} bps)"
                );
            }
            let operator = signer.pubkey();
            ctx.send_with_effect(
                &[groundwork_client::staking::set_commission(&operator, bps)],
                &[&signer],
                |ctx| {
                    let pool: staking::PoolRewardsV0 = read(
                        &ctx.ledger,
                        &groundwork_client::staking::pool_rewards_address(&operator),
                    )?
                    .context("the pool rewards account is missing after setting the commission")?;
                    let epoch = config.epoch_at(ctx.ledger_time()?);
                    let change = pool
                        .pending_commission
                        .context("the commission change is missing")?;
                    Ok(Effect::new(format!(
                        "commission {}% from epoch {} ({}% in force in epoch {epoch})",
                        percent_words(change.bps),
                        change.effective_epoch,
                        percent_words(pool.commission_for(epoch))
                    ))
                    .with("commission_bps", change.bps)
                    .with("effective_epoch", change.effective_epoch)
                    .with("in_force_bps", pool.commission_for(epoch)))
                },
            )
            .map(drop)
        }
        OperatorCommand::Show { operator } => {
            let key = ctx.key_or_signer(operator)?;
            let record = operator_of(ctx, &key)?;
            ctx.print(&OperatorView {
                operator: record.authority.to_string(),
                reward_recipient: record.reward_recipient.to_string(),
                metadata_uri: record.metadata_uri,
                devices: record.device_count,
                registered_at: record.registered_at,
            })
        }
    }
}

/// Basis points as a percentage ("12.5").
fn percent_words(bps: u16) -> String {
    let text = format!("{}.{:02}", bps / 100, bps % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
