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
use crate::output::{format_amount, format_time, parse_amount, Effect};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Lockup {
    Flexible,
    Cliff,
    Constant,
}

#[derive(Clone, Subcommand)]
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

/// The lockup asked for, checked against the network's bounds: a flexible lockup takes no
/// duration; a cliff or constant one needs one of at least a second and at most the
/// saturation (a longer lockup earns no more bonus, so a longer one is a typo's price).
fn lockup_args(
    lockup: Lockup,
    duration: Option<std::time::Duration>,
    config: &StakingConfigV0,
) -> Result<LockupArgs> {
    let kind = match lockup {
        Lockup::Flexible => LockupKind::Flexible,
        Lockup::Cliff => LockupKind::Cliff,
        Lockup::Constant => LockupKind::Constant,
    };
    let saturation_s = config.params.saturation_s;
    let duration_s = match (kind, duration) {
        (LockupKind::Flexible, None) => 0,
        (LockupKind::Flexible, Some(_)) => bail!(
            "a flexible position has no lockup --duration: drop it, or choose --lockup cliff or constant"
        ),
        (_, Some(duration)) => {
            let seconds = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
            if seconds == 0 {
                bail!("--duration must be at least a second (e.g. 30d)");
            }
            if seconds > saturation_s {
                bail!(
                    "--duration {} is longer than the network's {} lockup that earns the full bonus: a longer lockup earns nothing more (at most --duration {}s)",
                    humantime::format_duration(duration),
                    humantime::format_duration(std::time::Duration::from_secs(saturation_s.unsigned_abs())),
                    saturation_s
                );
            }
            seconds
        }
        (_, None) => bail!("a {lockup:?} lockup needs --duration (e.g. 365d)"),
    };
    Ok(LockupArgs { kind, duration_s })
}

/// When epoch `epoch` of the network starts, as people read it.
fn epoch_start(config: &StakingConfigV0, epoch: u64) -> String {
    let start = i64::try_from(epoch)
        .ok()
        .and_then(|epoch| epoch.checked_mul(config.epoch_len_s))
        .and_then(|offset| offset.checked_add(config.genesis_ts));
    start.map_or_else(|| format!("epoch {epoch}"), format_time)
}

/// When a position's tokens can be taken back, in words.
fn unlock_words(config: &StakingConfigV0, position: &PositionV0) -> String {
    if let Some(pending) = position.pending_undelegation {
        return format!(
            "unbonding: back from the pool from epoch {} ({})",
            pending.completes_epoch,
            epoch_start(config, pending.completes_epoch)
        );
    }
    match position.kind {
        LockupKind::Cliff => format!("unlocks at {}", format_time(position.end_ts)),
        LockupKind::Constant => format!(
            "locked for {} once `stake start-unlock` starts the countdown",
            humantime::format_duration(std::time::Duration::from_secs(
                position.duration_s.unsigned_abs()
            ))
        ),
        LockupKind::Flexible => match position.withdrawable_epoch {
            Some(epoch) => format!(
                "withdrawable from epoch {epoch} ({})",
                epoch_start(config, epoch)
            ),
            None => format!(
                "withdrawable {} epochs after `stake start-unlock`",
                config.params.cooldown_epochs
            ),
        },
    }
}

fn position_of(ctx: &Context, owner: &Pubkey, id: u64) -> Result<PositionV0> {
    read(&ctx.ledger, &staking_client::position_address(owner, id))?
        .with_context(|| format!("{} has no position {id}", short(owner)))
}

/// What a position can claim now, from account data alone.
fn claimable(ctx: &Context, position: &PositionV0) -> Result<u64> {
    Ok(staking_client::claimable_now(&ctx.ledger, position)?)
}

/// The pool device rewards a delegated position can claim now.
fn pool_claimable(ctx: &Context, position: &PositionV0) -> Result<u64> {
    Ok(staking_client::pool_claimable_now(&ctx.ledger, position)?)
}

/// Where a position stands in its pool's device rewards, in words.
fn delegation_earning_words(position: &PositionV0) -> String {
    match (
        position.operator,
        position.pool_cohort_epoch,
        position.pool_exit_epoch,
    ) {
        (None, _, _) => String::new(),
        (Some(_), Some(epoch), _) => format!(
            "waits to start earning the pool's rewards (its cohort, of epoch {epoch}, starts at the sweep of a root of that epoch or later)"
        ),
        (Some(_), None, Some(epoch)) => {
            format!("earns the pool's rewards of the epochs before {epoch} (it asked to leave)")
        }
        (Some(_), None, None) if position.pool_earning => "earns the pool's rewards".to_string(),
        (Some(_), None, None) => "earns no more pool rewards (it asked to leave)".to_string(),
    }
}

#[derive(Serialize)]
pub struct PositionView {
    pub id: u64,
    pub owner: String,
    pub lockup: String,
    /// Tokens it stands for now (a delegated position's share of its pool, after slashes).
    pub amount: u64,
    /// When its tokens can be taken back, in words.
    pub unlock: String,
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
    /// Its delegation's earnings: its share of the operator pool's device rewards, claimable
    /// now and claimed so far, and where it stands.
    pub pool_claimable: u64,
    pub pool_claimed: u64,
    pub delegation_earning: String,
    /// The network token's decimals (amounts are in base units).
    pub decimals: u8,
}

impl std::fmt::Display for PositionView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "position {}: {} lockup, {} tokens, {}x, claimable {}, claimed {}{}; {}",
            self.id,
            self.lockup,
            format_amount(self.amount, self.decimals),
            multiplier_words(self.multiplier_bps),
            format_amount(self.claimable, self.decimals),
            format_amount(self.claimed, self.decimals),
            self.operator
                .as_ref()
                .map_or_else(String::new, |operator| format!(", delegated to {operator}")),
            self.unlock
        )?;
        if self.operator.is_some() || self.pool_claimed > 0 {
            writeln!(
                f,
                "  delegation earnings: claimable {}, claimed {}{}",
                format_amount(self.pool_claimable, self.decimals),
                format_amount(self.pool_claimed, self.decimals),
                if self.delegation_earning.is_empty() {
                    String::new()
                } else {
                    format!("; {}", self.delegation_earning)
                }
            )?;
        }
        Ok(())
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

/// A weight multiplier in basis points as a decimal ("1.5", "4"), exactly.
fn multiplier_words(multiplier_bps: u32) -> String {
    let text = format!("{}.{:04}", multiplier_bps / 10_000, multiplier_bps % 10_000);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn positions_of(ctx: &Context, owner: &Pubkey) -> Result<Vec<PositionV0>> {
    Ok(staking_client::positions_of_owner(&ctx.ledger, owner)?)
}

/// Seconds before an epoch boundary within which an instruction naming epochs waits for
/// the boundary to pass (it names the epochs the chain's clock gives when it lands): at most
/// this, and at most a third of an epoch, but at least a second (none for 1-s epochs, where
/// only rebuilding a refused command helps).
const BOUNDARY_MARGIN_S: i64 = 3;

/// The chain's time, once it is not within the boundary margin of an epoch's end.
fn time_clear_of_boundary(ctx: &Context, config: &StakingConfigV0) -> Result<i64> {
    let margin = BOUNDARY_MARGIN_S
        .min(config.epoch_len_s / 3)
        .max(1)
        .min(config.epoch_len_s - 1);
    loop {
        let now = ctx.ledger_time()?;
        if config.epoch_at(now) == config.epoch_at(now + margin) {
            return Ok(now);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// The staking program's refusals of an instruction naming an epoch the CLI computed from the
/// chain's clock (an activation epoch, a bonus record, a delegation cohort): after the margin,
/// one still lands after the epoch passed when the machine or the cluster is slow.
const PASSED_EPOCH_REFUSALS: [&str; 3] = ["WrongEpochStake", "WrongBonusRecord", "WrongPoolCohort"];
/// How often such a refused command is built again from the chain's new time.
const PASSED_EPOCH_RETRIES: u32 = 2;

/// Runs `command`. The single-transaction commands that name epochs (create, extend,
/// start-unlock, delegate, undelegate) are built again from the chain's new time when the
/// simulation refuses them because an epoch they named passed meanwhile: nothing was sent.
pub fn stake(ctx: &Context, command: StakeCommand) -> Result<()> {
    let names_epochs = matches!(
        command,
        StakeCommand::Create { .. }
            | StakeCommand::Extend { .. }
            | StakeCommand::StartUnlock { .. }
            | StakeCommand::Delegate { .. }
            | StakeCommand::Undelegate { .. }
    );
    let mut retries = 0;
    loop {
        match stake_once(ctx, command.clone()) {
            Err(error)
                if names_epochs
                    && retries < PASSED_EPOCH_RETRIES
                    && refused_for_a_passed_epoch(&error) =>
            {
                retries += 1;
            }
            result => return result,
        }
    }
}

/// Whether `error` is a simulation's refusal (nothing sent) for an epoch that passed.
fn refused_for_a_passed_epoch(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("nothing was sent")
        && PASSED_EPOCH_REFUSALS
            .iter()
            .any(|name| text.contains(&format!("refused it: {name} ")))
}

fn stake_once(ctx: &Context, command: StakeCommand) -> Result<()> {
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
            let base_units =
                parse_amount(&amount, decimals).with_context(|| format!("--amount {amount}"))?;
            if base_units == 0 {
                bail!("--amount {amount} is zero: a position locks at least one base unit");
            }
            let held = ctx.token_balance(&token.account_of(&signer.pubkey()));
            if held < base_units {
                bail!(
                    "you hold {} network tokens, this position needs {amount}",
                    format_amount(held, decimals)
                );
            }
            let lockup = lockup_args(lockup, duration, &config)?;
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
            let activation_epoch = config.activation_epoch_at(now);
            let instruction = staking_client::create_position(
                &signer.pubkey(),
                token,
                CreatePositionArgsV0 {
                    id,
                    amount: base_units,
                    lockup,
                    activation_epoch,
                    bonus_expiry_epoch: staking_client::bonus_expiry_epoch(&config, lockup, now),
                },
            );
            ctx.send_with_effect(&[instruction], &[&signer], |ctx| {
                let position = position_of(ctx, &signer.pubkey(), id)?;
                Ok(Effect::new(format!(
                    "position {id}: {amount} network tokens locked ({:?}, weight {}x), earning from epoch {activation_epoch} ({}); {}",
                    position.kind,
                    multiplier_words(position.multiplier_bps),
                    epoch_start(&config, activation_epoch),
                    unlock_words(&config, &position)
                ))
                .with("id", id)
                .with("amount_base_units", position.amount)
                .with("multiplier_bps", position.multiplier_bps)
                .with("activation_epoch", activation_epoch)
                .with("end_ts", position.end_ts))
            })
            .map(drop)
        }
        StakeCommand::Extend {
            id,
            lockup,
            duration,
        } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            let lockup = lockup_args(lockup, Some(duration), &config)?;
            if lockup.kind == LockupKind::Flexible {
                bail!("a lockup is extended into a cliff or a constant one: --lockup cliff or constant");
            }
            let expiry = staking_client::bonus_expiry_epoch(&config, lockup, now);
            ctx.send_with_effect(
                &[staking_client::extend_lockup(&position, lockup, expiry)],
                &[&signer],
                |ctx| {
                    let position = position_of(ctx, &signer.pubkey(), id)?;
                    Ok(Effect::new(format!(
                        "position {id}: weight {}x; {}",
                        multiplier_words(position.multiplier_bps),
                        unlock_words(&config, &position)
                    ))
                    .with("multiplier_bps", position.multiplier_bps)
                    .with("end_ts", position.end_ts))
                },
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
            ctx.send_with_effect(
                &[staking_client::start_unlock(&position, expiry)],
                &[&signer],
                |ctx| {
                    let position = position_of(ctx, &signer.pubkey(), id)?;
                    Ok(Effect::new(format!(
                        "position {id}: {}",
                        unlock_words(&config, &position)
                    ))
                    .with("end_ts", position.end_ts)
                    .with("withdrawable_epoch", position.withdrawable_epoch))
                },
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
            let decimals = ctx.network_decimals()?;
            ctx.send_with_effect(
                &[staking_client::withdraw(&position, token)],
                &[&signer],
                |ctx| {
                    let held = ctx.token_balance(&token.account_of(&signer.pubkey()));
                    Ok(Effect::new(format!(
                        "position {id}: {} network tokens back; you hold {}",
                        format_amount(position.amount, decimals),
                        format_amount(held, decimals)
                    ))
                    .with("withdrawn_base_units", position.amount)
                    .with("held_base_units", held))
                },
            )
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
            let decimals = ctx.network_decimals()?;
            let cohort = staking_client::delegation_cohort_now(&ctx.ledger, &operator)?;
            ctx.send_with_effect(
                &[staking_client::delegate(&position, &operator, cohort)],
                &[&signer],
                |ctx| {
                    let position = position_of(ctx, &signer.pubkey(), id)?;
                    let tokens = staking_client::tokens_now(&ctx.ledger, &position)?;
                    Ok(Effect::new(format!(
                        "position {id}: {} network tokens delegated to operator {operator} ({} pool shares)",
                        format_amount(tokens, decimals),
                        position.shares
                    ))
                    .with("delegated_base_units", tokens)
                    .with("shares", position.shares.to_string()))
                },
            )
            .map(drop)
        }
        StakeCommand::Undelegate { id } => {
            let signer = ctx.signer()?;
            let position = position_of(ctx, &signer.pubkey(), id)?;
            if position.operator.is_none() {
                bail!("position {id} is not delegated");
            }
            if position.pending_undelegation.is_some() {
                bail!("position {id} is already unbonding: `groundwork stake list` shows when it completes");
            }
            let undelegate = staking_client::undelegate_now(&ctx.ledger, &position)?;
            ctx.send_with_effect(&[undelegate], &[&signer], |ctx| {
                let position = position_of(ctx, &signer.pubkey(), id)?;
                Ok(Effect::new(format!(
                    "position {id}: {}; it earns nothing and stays slashable until then",
                    unlock_words(&config, &position)
                ))
                .with(
                    "undelegation_completes_epoch",
                    position
                        .pending_undelegation
                        .map(|pending| pending.completes_epoch),
                ))
            })
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
            let decimals = ctx.network_decimals()?;
            let token = ctx.network_token()?;
            // Its remaining pool rewards are paid with it: into the owner's token account.
            ctx.send_with_effect(
                &[
                    token.create_account_idempotent(&signer.pubkey(), &signer.pubkey()),
                    staking_client::complete_undelegation(&position, token),
                ],
                &[&signer],
                |ctx| {
                    let position = position_of(ctx, &signer.pubkey(), id)?;
                    Ok(Effect::new(format!(
                        "position {id}: {} network tokens back from the pool; {}",
                        format_amount(position.amount, decimals),
                        unlock_words(&config, &position)
                    ))
                    .with("amount_base_units", position.amount))
                },
            )
            .map(drop)
        }
        StakeCommand::Claim { id, owner } => {
            let signer = ctx.signer()?;
            let owner = owner.unwrap_or(signer.pubkey());
            let position = position_of(ctx, &owner, id)?;
            if claimable(ctx, &position)? == 0 && pool_claimable(ctx, &position)? == 0 {
                bail!(
                    "position {id} of {} has nothing to claim yet",
                    short(&owner)
                );
            }
            let token = ctx.network_token()?;
            let decimals = ctx.network_decimals()?;
            let before = (position.claimed_rewards, position.claimed_pool_rewards);
            ctx.send_with_effect(
                &[staking_client::claim_stake_rewards(&position, token)],
                &[&signer],
                |ctx| {
                    let after = position_of(ctx, &owner, id)?;
                    let claimed = after.claimed_rewards.saturating_sub(before.0);
                    let pool_claimed = after.claimed_pool_rewards.saturating_sub(before.1);
                    let held = ctx.token_balance(&token.account_of(&owner));
                    Ok(Effect::new(format!(
                        "position {id}: {} network tokens of staking rewards and {} of its delegation's pool rewards paid to {}; it holds {}",
                        format_amount(claimed, decimals),
                        format_amount(pool_claimed, decimals),
                        short(&owner),
                        format_amount(held, decimals)
                    ))
                    .with("claimed_base_units", claimed)
                    .with("pool_claimed_base_units", pool_claimed)
                    .with("owner_holds_base_units", held))
                },
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
                        amount: staking_client::tokens_now(&ctx.ledger, position)?,
                        unlock: unlock_words(&config, position),
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
                        pool_claimable: pool_claimable(ctx, position)?,
                        pool_claimed: position.claimed_pool_rewards,
                        delegation_earning: delegation_earning_words(position),
                        decimals,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            ctx.print(&PositionList(views))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CLI's refusal of a transaction the staking program failed with `error` in
    /// simulation, as `send::submit` words it.
    fn simulated_refusal(error: staking::errors::StakingError) -> anyhow::Error {
        let code = u32::from(error);
        let logs = vec![
            format!("Program {} invoke [1]", staking::ID),
            format!(
                "Program {} failed: custom program error: 0x{code:x}",
                staking::ID
            ),
        ];
        anyhow::anyhow!(crate::send::refusal(&"custom program error", &logs))
    }

    #[test]
    fn only_a_simulated_refusal_for_a_passed_epoch_is_built_again() {
        use staking::errors::StakingError;
        for passed in [
            StakingError::WrongEpochStake,
            StakingError::WrongBonusRecord,
            StakingError::WrongPoolCohort,
        ] {
            assert!(refused_for_a_passed_epoch(&simulated_refusal(passed)));
        }
        assert!(!refused_for_a_passed_epoch(&simulated_refusal(
            StakingError::ZeroAmount
        )));
        // Sent and failed on chain: not built again (it cost a fee, and says so).
        assert!(!refused_for_a_passed_epoch(&anyhow::anyhow!(
            "staking refused it: WrongEpochStake — the transaction failed on chain"
        )));
    }
}
