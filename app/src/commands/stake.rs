//! The staker's commands: positions (create, extend, unlock, withdraw, close), delegation
//! (delegate, undelegate, complete), claims, and the read-only view of positions with what
//! each can claim now.

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use clap::{Subcommand, ValueEnum};
use groundwork_client::ledger::read;
use groundwork_client::staking as staking_client;
use serde::Serialize;
use solana_signer::Signer;
use staking::{CreatePositionArgsV0, LockupArgs, LockupKind, PositionV0, StakingConfigV0};

use crate::context::{short, Context};
use crate::output::{format_amount, parse_amount};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Lockup {
    Flexible,
    Cliff,
    Constant,
}

#[derive(Subcommand)]
pub enum StakeCommand {
    /// Locks network tokens in a new position.
    Create {
        /// Tokens to lock (e.g. 250.5).
        #[arg(long)]
        amount: String,
        #[arg(long, value_enum)]
        lockup: Lockup,
        /// Lockup length for cliff and constant lockups (humantime: 30d, 1y...).
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Position number (default: the first free one).
        #[arg(long)]
        id: Option<u64>,
    },
    /// Locks a position longer (cliff or constant, no shorter than what remains).
    Extend {
        id: u64,
        #[arg(long, value_enum)]
        lockup: Lockup,
        #[arg(long, value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
    },
    /// Starts a constant lockup's countdown, or a flexible position's cooldown.
    StartUnlock { id: u64 },
    /// Takes an unlocked, undelegated position's tokens back.
    Withdraw { id: u64 },
    /// Delegates a position to a registered operator.
    Delegate {
        id: u64,
        #[arg(long)]
        operator: Pubkey,
    },
    /// Asks to leave the operator's pool (completes after the unbonding epochs).
    Undelegate { id: u64 },
    /// Completes an undelegation whose unbonding is over.
    CompleteUndelegation { id: u64 },
    /// Pays a position's rewards to its owner (anyone may send it).
    Claim {
        id: u64,
        /// The position's owner (default: the keypair).
        #[arg(long)]
        owner: Option<Pubkey>,
    },
    /// Positions with what each can claim now (no transaction).
    List {
        #[arg(long)]
        owner: Option<Pubkey>,
    },
}

fn lockup_args(lockup: Lockup, duration: Option<std::time::Duration>) -> Result<LockupArgs> {
    let kind = match lockup {
        Lockup::Flexible => LockupKind::Flexible,
        Lockup::Cliff => LockupKind::Cliff,
        Lockup::Constant => LockupKind::Constant,
    };
    let duration_s = match (kind, duration) {
        (LockupKind::Flexible, _) => 0,
        (_, Some(duration)) => i64::try_from(duration.as_secs())?,
        (_, None) => bail!("a {lockup:?} lockup needs --duration (e.g. 365d)"),
    };
    Ok(LockupArgs { kind, duration_s })
}

fn position_of(ctx: &Context, owner: &Pubkey, id: u64) -> Result<PositionV0> {
    read(&ctx.ledger, &staking_client::position_address(owner, id))?
        .with_context(|| format!("{} has no position {id}", short(owner)))
}

/// What a position can claim now, from account data alone.
fn claimable(ctx: &Context, position: &PositionV0) -> Result<u64> {
    Ok(staking_client::claimable_now(&ctx.ledger, position)?)
}

#[derive(Serialize)]
pub struct PositionView {
    pub id: u64,
    pub owner: String,
    pub lockup: String,
    pub amount: u64,
    pub multiplier_bps: u32,
    pub bonus_weight: String,
    pub bonus_expiry_epoch: Option<u64>,
    pub end_ts: i64,
    pub withdrawable_epoch: Option<u64>,
    pub operator: Option<String>,
    pub shares: String,
    pub undelegation_completes_epoch: Option<u64>,
    pub claimable: u64,
    pub claimed: u64,
    /// The network token's decimals (amounts are in base units).
    pub decimals: u8,
}

impl std::fmt::Display for PositionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "position {}: {} lockup, {} tokens, {}x, claimable {}, claimed {}{}",
            self.id,
            self.lockup,
            format_amount(self.amount, self.decimals),
            f64::from(self.multiplier_bps) / 10_000.0,
            format_amount(self.claimable, self.decimals),
            format_amount(self.claimed, self.decimals),
            self.operator
                .as_ref()
                .map_or_else(String::new, |operator| format!(", delegated to {operator}"))
        )
    }
}

#[derive(Serialize)]
pub struct PositionList(pub Vec<PositionView>);

impl std::fmt::Display for PositionList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "no positions");
        }
        self.0
            .iter()
            .try_for_each(|position| write!(f, "{position}"))
    }
}

fn positions_of(ctx: &Context, owner: &Pubkey) -> Result<Vec<PositionV0>> {
    Ok(staking_client::positions_of_owner(&ctx.ledger, owner)?)
}

/// Seconds before an epoch boundary within which an instruction naming epochs waits for
/// the boundary to pass (it names the epochs the chain's clock gives when it lands): at most
/// this, and at most a quarter of an epoch.
const BOUNDARY_MARGIN_S: i64 = 3;

/// The chain's time, once it is not within the boundary margin of an epoch's end.
fn time_clear_of_boundary(ctx: &Context, config: &StakingConfigV0) -> Result<i64> {
    let margin = BOUNDARY_MARGIN_S.min(config.epoch_len_s / 4);
    loop {
        let now = ctx.ledger_time()?;
        if config.epoch_at(now) == config.epoch_at(now + margin) {
            return Ok(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

pub fn stake(ctx: &Context, command: StakeCommand) -> Result<()> {
    let config = ctx.staking_config()?;
    let now = time_clear_of_boundary(ctx, &config)?;
    match command {
        StakeCommand::Create {
            amount,
            lockup,
            duration,
            id,
        } => {
            let signer = ctx.signer()?;
            let token = ctx.network_token()?;
            let decimals = ctx.network_decimals()?;
            let base_units = parse_amount(&amount, decimals)?;
            let held = ctx.token_balance(&token.account_of(&signer.pubkey()));
            if held < base_units {
                bail!(
                    "you hold {} network tokens, this position needs {amount}",
                    format_amount(held, decimals)
                );
            }
            let lockup = lockup_args(lockup, duration)?;
            let existing: Vec<u64> = positions_of(ctx, &signer.pubkey())?
                .iter()
                .map(|p| p.id)
                .collect();
            let id = match id {
                Some(id) if existing.contains(&id) => {
                    bail!("position {id} exists: pick another --id")
                }
                Some(id) => id,
                None => (0..)
                    .find(|id| !existing.contains(id))
                    .context("no free position number")?,
            };
            let instruction = staking_client::create_position(
                &signer.pubkey(),
                token,
                CreatePositionArgsV0 {
                    id,
                    amount: base_units,
                    lockup,
                    activation_epoch: config.activation_epoch_at(now),
                    bonus_expiry_epoch: staking_client::bonus_expiry_epoch(&config, lockup, now),
                },
            );
            ctx.send(&[instruction], &[&signer]).map(drop)
        }
        StakeCommand::Extend {
            id,
            lockup,
            duration,
        } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            let lockup = lockup_args(lockup, Some(duration))?;
            let expiry = staking_client::bonus_expiry_epoch(&config, lockup, now);
            ctx.send(
                &[staking_client::extend_lockup(&position, lockup, expiry)],
                &[&signer],
            )
            .map(drop)
        }
        StakeCommand::StartUnlock { id } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            let expiry = match position.kind {
                LockupKind::Constant => staking_client::bonus_expiry_epoch(
                    &config,
                    LockupArgs {
                        kind: LockupKind::Cliff,
                        duration_s: position.duration_s,
                    },
                    now,
                ),
                LockupKind::Flexible => None,
                LockupKind::Cliff => bail!(
                    "position {id} is a cliff: it already counts down (it ends at {})",
                    position.end_ts
                ),
            };
            ctx.send(
                &[staking_client::start_unlock(&position, expiry)],
                &[&signer],
            )
            .map(drop)
        }
        StakeCommand::Withdraw { id } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            if position.operator.is_some() {
                bail!("position {id} is delegated: undelegate it first (`groundwork stake undelegate {id}`)");
            }
            if position.amount == 0 {
                bail!("position {id} holds nothing to withdraw");
            }
            let epoch = config.epoch_at(now);
            match position.kind {
                LockupKind::Cliff if now < position.end_ts => bail!(
                    "position {id} is locked for {} more seconds",
                    position.end_ts - now
                ),
                LockupKind::Constant => bail!(
                    "position {id} is a constant lockup: start its countdown with `groundwork stake start-unlock {id}`"
                ),
                LockupKind::Flexible => match position.withdrawable_epoch {
                    None => bail!("position {id} is flexible: start its cooldown with `groundwork stake start-unlock {id}`"),
                    Some(withdrawable) if epoch < withdrawable => {
                        bail!("position {id} can be withdrawn from epoch {withdrawable} (now {epoch})")
                    }
                    Some(_) => {}
                },
                LockupKind::Cliff => {}
            }
            let token = ctx.network_token()?;
            ctx.send(&[staking_client::withdraw(&position, token)], &[&signer])
                .map(drop)
        }
        StakeCommand::Delegate { id, operator } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            if read::<device_registry::OperatorV0>(
                &ctx.ledger,
                &groundwork_client::device_registry::operator_address(&operator),
            )?
            .is_none()
            {
                bail!("{} is not a registered operator", short(&operator));
            }
            if position.operator.is_some() {
                bail!("position {id} is already delegated");
            }
            ctx.send(
                &[staking_client::delegate(&position, &operator)],
                &[&signer],
            )
            .map(drop)
        }
        StakeCommand::Undelegate { id } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            if position.operator.is_none() {
                bail!("position {id} is not delegated");
            }
            ctx.send(&[staking_client::undelegate(&position)], &[&signer])
                .map(drop)
        }
        StakeCommand::CompleteUndelegation { id } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            let pending = position
                .pending_undelegation
                .with_context(|| format!("position {id} has no undelegation to complete: `groundwork stake undelegate {id}` first"))?;
            let epoch = config.epoch_at(now);
            if epoch < pending.completes_epoch {
                bail!(
                    "position {id}'s undelegation completes in epoch {} (now {epoch})",
                    pending.completes_epoch
                );
            }
            ctx.send(
                &[staking_client::complete_undelegation(&position)],
                &[&signer],
            )
            .map(drop)
        }
        StakeCommand::Claim { id, owner } => {
            let signer = ctx.signer()?;
            let owner = owner.unwrap_or(signer.pubkey());
            let position = position_of(ctx, &owner, id)?;
            if claimable(ctx, &position)? == 0 {
                bail!(
                    "position {id} of {} has nothing to claim yet",
                    short(&owner)
                );
            }
            let token = ctx.network_token()?;
            ctx.send(
                &[staking_client::claim_stake_rewards(&position, token)],
                &[&signer],
            )
            .map(drop)
        }
        StakeCommand::List { owner } => {
            let owner = ctx.key_or_signer(owner)?;
            let decimals = ctx.network_decimals()?;
            let views = positions_of(ctx, &owner)?
                .iter()
                .map(|position| {
                    Ok(PositionView {
                        id: position.id,
                        owner: position.owner.to_string(),
                        lockup: format!("{:?}", position.kind).to_lowercase(),
                        amount: position.amount,
                        multiplier_bps: position.multiplier_bps,
                        bonus_weight: position.bonus_weight.to_string(),
                        bonus_expiry_epoch: position.bonus_expiry_epoch,
                        end_ts: position.end_ts,
                        withdrawable_epoch: position.withdrawable_epoch,
                        operator: position.operator.map(|key| key.to_string()),
                        shares: position.shares.to_string(),
                        undelegation_completes_epoch: position
                            .pending_undelegation
                            .map(|pending| pending.completes_epoch),
                        claimable: claimable(ctx, position)?,
                        claimed: position.claimed_rewards,
                        decimals,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            ctx.print(&PositionList(views))
        }
    }
}
