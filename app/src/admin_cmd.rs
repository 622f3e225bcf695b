//! The crank's and the network authority's commands. Every authority command can print the
//! unsigned transaction message instead of sending it (`--dump-transaction-message`, with
//! `--authority KEY` naming a multisig vault that holds no keypair here), to be proposed in a
//! Squads vault.

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use clap::{Subcommand, ValueEnum};
use device_registry::{DeviceClassParams, DeviceV0};
use groundwork_client::ledger::read;
use groundwork_client::{device_registry as registry, reward_epochs as rewards};
use groundwork_client::{staking as staking_client, tokenomics as tokenomics_client};
use reward_epochs::{EpochV0, RewardConfigV0, RootStatus};
use solana_signer::Signer;

use crate::context::{short, Context};
use crate::send::{message_base64, Sent};

#[derive(Subcommand)]
pub enum CrankCommand {
    /// Closes the next epoch that has ended (mint, staker funding, treasury, device pool).
    CloseEpoch,
    /// Activates an epoch's pending root once its challenge period is over.
    ActivateRoot { epoch: u64 },
    /// After a slash: brings the operator's delegators up to date so their bonuses stop
    /// counting at the pre-slash value (sync_position_v0, permissionless).
    SyncPool { operator: Pubkey },
}

/// Positions synced per transaction.
const SYNCS_PER_TRANSACTION: usize = 6;

/// Syncs every member of `operator`'s pool whose bonus a slash has lowered; returns how many.
pub fn sync_pool(
    ctx: &Context,
    payer: &solana_keypair::Keypair,
    operator: &Pubkey,
) -> Result<usize> {
    let pool: staking::OperatorPoolV0 = read(
        &ctx.ledger,
        &staking_client::operator_pool_address(operator),
    )?
    .with_context(|| format!("{} has no delegation pool", short(operator)))?;
    let stale: Vec<staking::PositionV0> = ctx
        .accounts_of_type::<staking::PositionV0>(&staking::ID, None)?
        .into_iter()
        .filter(|position| {
            position.operator == Some(*operator)
                && position.bonus_weight > 0
                && position.bonus_slash_factor > pool.slash_factor
        })
        .collect();
    for batch in stale.chunks(SYNCS_PER_TRANSACTION) {
        let instructions: Vec<_> = batch.iter().map(staking_client::sync_position).collect();
        crate::send::submit(&ctx.ledger, &instructions, &[payer], ctx.send)
            .context("syncing the pool's members")?;
    }
    Ok(stale.len())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Program {
    Tokenomics,
    DeviceRegistry,
    Staking,
    RewardEpochs,
}

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// Adds the next device class.
    AddClass {
        #[arg(long)]
        name: String,
        #[arg(long)]
        onboarding_fee_credits: u64,
        #[arg(long)]
        location_fee_credits: u64,
        #[arg(long)]
        reward_weight_bps: u16,
        #[arg(long)]
        maker_attestation_required: bool,
    },
    /// Changes a device class (options not given keep their current value).
    UpdateClass {
        class: u16,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        onboarding_fee_credits: Option<u64>,
        #[arg(long)]
        location_fee_credits: Option<u64>,
        #[arg(long)]
        reward_weight_bps: Option<u16>,
        #[arg(long)]
        maker_attestation_required: Option<bool>,
    },
    /// Sets the credit price: a fixed token price, and/or USD per credit.
    SetPricing {
        /// USD per whole network token, 8 decimals (a fixed price source).
        #[arg(long)]
        fixed_price_usd_e8: Option<u64>,
        /// USD per credit, 9 decimals.
        #[arg(long)]
        usd_per_credit_e9: Option<u64>,
    },
    /// Sets the staking parameters (options not given keep their current value).
    SetStakingParams {
        #[arg(long)]
        max_bonus_bps: Option<u32>,
        #[arg(long, value_parser = humantime::parse_duration)]
        saturation: Option<std::time::Duration>,
        #[arg(long)]
        cooldown_epochs: Option<u16>,
        #[arg(long)]
        max_slash_bps: Option<u16>,
        #[arg(long)]
        unbonding_epochs: Option<u16>,
    },
    /// Approves a hardware maker.
    ApproveMaker { maker: Pubkey },
    /// Revokes a hardware maker.
    RevokeMaker { maker: Pubkey },
    /// Suspends a device with a reason code (non-zero).
    Suspend {
        device: Pubkey,
        #[arg(long)]
        reason: u16,
    },
    /// Reinstates a suspended device.
    Reinstate { device: Pubkey },
    /// Slashes an operator's pool by `bps` (at most the per-call maximum) and burns it.
    Slash {
        operator: Pubkey,
        #[arg(long)]
        bps: u16,
        #[arg(long)]
        reason: u16,
    },
    /// Replaces the oracle set and quorum.
    SetOracles {
        #[arg(long = "oracle", required = true)]
        oracles: Vec<Pubkey>,
        #[arg(long)]
        quorum: u8,
    },
    /// Proposes a new authority for one program (it takes over by accepting).
    TransferAuthority {
        #[arg(long, value_enum)]
        program: Program,
        /// The proposed authority; omit to cancel a proposal.
        #[arg(long)]
        new_authority: Option<Pubkey>,
    },
    /// The proposed authority (--keypair) accepts.
    AcceptAuthority {
        #[arg(long, value_enum)]
        program: Program,
    },
}

pub fn crank(ctx: &Context, command: CrankCommand) -> Result<()> {
    let signer = ctx.signer()?;
    let config: RewardConfigV0 = read(&ctx.ledger, &rewards::config_address())?
        .context("rewards are not initialized on this cluster")?;
    match command {
        CrankCommand::CloseEpoch => {
            let epoch = config.next_epoch_to_close;
            let now = ctx.ledger_time()?;
            let end = config.epoch_end(epoch).context("epoch end overflows")?;
            if now < end {
                bail!(
                    "epoch {epoch} ends in {} s: nothing to close yet",
                    end - now
                );
            }
            let token = ctx.network_token()?;
            let instruction =
                rewards::close_epoch(&signer.pubkey(), token, &config.treasury, epoch);
            ctx.send(&[instruction], &[&signer]).map(drop)
        }
        CrankCommand::ActivateRoot { epoch } => {
            let record: EpochV0 = read(&ctx.ledger, &rewards::epoch_address(epoch))?
                .with_context(|| format!("epoch {epoch} is not closed"))?;
            if record.status != RootStatus::Pending {
                bail!(
                    "epoch {epoch} has no pending root (it is {:?})",
                    record.status
                );
            }
            let now = ctx.ledger_time()?;
            if now < record.activates_at {
                bail!(
                    "epoch {epoch}'s root activates in {} s",
                    record.activates_at - now
                );
            }
            ctx.send(&[rewards::activate_root(epoch)], &[&signer])
                .map(drop)
        }
        CrankCommand::SyncPool { operator } => {
            let synced = sync_pool(ctx, &signer, &operator)?;
            ctx.print(&Synced { positions: synced })
        }
    }
}

/// How many positions a sync brought up to date.
#[derive(serde::Serialize)]
pub struct Synced {
    pub positions: usize,
}

impl std::fmt::Display for Synced {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} position(s) synced", self.positions)
    }
}

/// The authority's key: `--authority` when dumping a message for a multisig, otherwise the
/// keypair's, which must be the program's authority.
fn send_as_authority(
    ctx: &Context,
    authority: Option<Pubkey>,
    expected: Pubkey,
    instruction: impl Fn(&Pubkey) -> anchor_lang::solana_program::instruction::Instruction,
) -> Result<()> {
    if ctx.send.dump_message {
        let key = match authority {
            Some(key) => key,
            None => ctx.signer()?.pubkey(),
        };
        if key != expected {
            bail!(
                "{} is not the authority ({} is)",
                short(&key),
                short(&expected)
            );
        }
        let sent = Sent::Message {
            fee_payer: key.to_string(),
            message_base64: message_base64(&[instruction(&key)], &key),
        };
        return ctx.print(&sent);
    }
    let signer = ctx.signer()?;
    if signer.pubkey() != expected {
        bail!(
            "keypair {} is not the network authority ({}); a multisig authority proposes the message printed by --dump-transaction-message --authority {expected}",
            short(&signer.pubkey()),
            short(&expected)
        );
    }
    ctx.send(&[instruction(&signer.pubkey())], &[&signer])
        .map(drop)
}

/// The authority a program's config names.
fn authority_of(ctx: &Context, program: Program) -> Result<Pubkey> {
    Ok(authorities_of(ctx, program)?.0)
}

/// The authority a program's config proposes, if a transfer is pending.
fn pending_authority_of(ctx: &Context, program: Program) -> Result<Option<Pubkey>> {
    Ok(authorities_of(ctx, program)?.1)
}

/// A program's (authority, pending authority).
fn authorities_of(ctx: &Context, program: Program) -> Result<(Pubkey, Option<Pubkey>)> {
    let missing = || format!("{program:?} is not initialized on this cluster");
    Ok(match program {
        Program::Tokenomics => {
            let config = read::<tokenomics::TokenomicsConfigV0>(
                &ctx.ledger,
                &tokenomics_client::config_address(),
            )?
            .with_context(missing)?;
            (config.authority, config.pending_authority)
        }
        Program::DeviceRegistry => {
            let config = read::<device_registry::RegistryConfigV0>(
                &ctx.ledger,
                &registry::registry_config_address(),
            )?
            .with_context(missing)?;
            (config.authority, config.pending_authority)
        }
        Program::Staking => {
            let config =
                read::<staking::StakingConfigV0>(&ctx.ledger, &staking_client::config_address())?
                    .with_context(missing)?;
            (config.authority, config.pending_authority)
        }
        Program::RewardEpochs => {
            let config = read::<RewardConfigV0>(&ctx.ledger, &rewards::config_address())?
                .with_context(missing)?;
            (config.authority, config.pending_authority)
        }
    })
}

pub fn authority(
    ctx: &Context,
    as_authority: Option<Pubkey>,
    command: AuthorityCommand,
) -> Result<()> {
    match command {
        AuthorityCommand::AddClass {
            name,
            onboarding_fee_credits,
            location_fee_credits,
            reward_weight_bps,
            maker_attestation_required,
        } => {
            let registry_config: device_registry::RegistryConfigV0 =
                read(&ctx.ledger, &registry::registry_config_address())?
                    .context("the registry is not initialized")?;
            let params = DeviceClassParams {
                name,
                onboarding_fee_credits,
                location_fee_credits,
                reward_weight_bps,
                maker_attestation_required,
            };
            let class_id = registry_config.device_class_count;
            send_as_authority(ctx, as_authority, registry_config.authority, |key| {
                registry::add_device_class(key, class_id, params.clone())
            })
        }
        AuthorityCommand::UpdateClass {
            class,
            name,
            onboarding_fee_credits,
            location_fee_credits,
            reward_weight_bps,
            maker_attestation_required,
        } => {
            let current: device_registry::DeviceClassV0 =
                read(&ctx.ledger, &registry::device_class_address(class))?
                    .with_context(|| format!("device class {class} does not exist"))?;
            let params = DeviceClassParams {
                name: name.unwrap_or(current.name),
                onboarding_fee_credits: onboarding_fee_credits
                    .unwrap_or(current.onboarding_fee_credits),
                location_fee_credits: location_fee_credits.unwrap_or(current.location_fee_credits),
                reward_weight_bps: reward_weight_bps.unwrap_or(current.reward_weight_bps),
                maker_attestation_required: maker_attestation_required
                    .unwrap_or(current.maker_attestation_required),
            };
            let expected = authority_of(ctx, Program::DeviceRegistry)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                registry::update_device_class(key, class, params.clone())
            })
        }
        AuthorityCommand::SetPricing {
            fixed_price_usd_e8,
            usd_per_credit_e9,
        } => {
            let config: tokenomics::TokenomicsConfigV0 =
                read(&ctx.ledger, &tokenomics_client::config_address())?
                    .context("tokenomics is not initialized")?;
            let args = tokenomics::UpdatePricingArgsV0 {
                price_source: match fixed_price_usd_e8 {
                    Some(price_usd_e8) => tokenomics::PriceSource::Fixed { price_usd_e8 },
                    None => config.price_source,
                },
                usd_per_credit_e9: usd_per_credit_e9.unwrap_or(config.usd_per_credit_e9),
            };
            send_as_authority(ctx, as_authority, config.authority, |key| {
                tokenomics_client::update_pricing(key, args.clone())
            })
        }
        AuthorityCommand::SetStakingParams {
            max_bonus_bps,
            saturation,
            cooldown_epochs,
            max_slash_bps,
            unbonding_epochs,
        } => {
            let config: staking::StakingConfigV0 =
                read(&ctx.ledger, &staking_client::config_address())?
                    .context("staking is not initialized")?;
            let current = config.params;
            let params = staking::StakingParams {
                max_bonus_bps: max_bonus_bps.unwrap_or(current.max_bonus_bps),
                saturation_s: match saturation {
                    Some(duration) => i64::try_from(duration.as_secs())?,
                    None => current.saturation_s,
                },
                cooldown_epochs: cooldown_epochs.unwrap_or(current.cooldown_epochs),
                max_slash_bps: max_slash_bps.unwrap_or(current.max_slash_bps),
                unbonding_epochs: unbonding_epochs.unwrap_or(current.unbonding_epochs),
            };
            if params.max_slash_bps >= 10_000 {
                bail!("--max-slash-bps must stay below 10,000: a slash never takes a whole pool");
            }
            send_as_authority(ctx, as_authority, config.authority, |key| {
                staking_client::update_staking_params(key, params)
            })
        }
        AuthorityCommand::ApproveMaker { maker } => {
            let expected = authority_of(ctx, Program::DeviceRegistry)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                registry::approve_maker(key, maker)
            })
        }
        AuthorityCommand::RevokeMaker { maker } => {
            let expected = authority_of(ctx, Program::DeviceRegistry)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                registry::revoke_maker(key, &maker)
            })
        }
        AuthorityCommand::Suspend { device, reason } => {
            if reason == 0 {
                bail!("a suspension needs a non-zero --reason code");
            }
            read::<DeviceV0>(&ctx.ledger, &registry::device_address(&device))?
                .with_context(|| format!("device {} is not onboarded", short(&device)))?;
            let expected = authority_of(ctx, Program::DeviceRegistry)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                registry::suspend_device(key, &device, reason)
            })
        }
        AuthorityCommand::Reinstate { device } => {
            let expected = authority_of(ctx, Program::DeviceRegistry)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                registry::reinstate_device(key, &device)
            })
        }
        AuthorityCommand::Slash {
            operator,
            bps,
            reason,
        } => {
            let token = ctx.network_token()?;
            let expected = authority_of(ctx, Program::Staking)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                staking_client::slash(key, &operator, token, bps, reason)
            })?;
            if ctx.send.dump_message || ctx.send.dry_run {
                eprintln!(
                    "once the slash has landed, run `groundwork crank sync-pool {operator}` so the delegators' bonuses follow it"
                );
                return Ok(());
            }
            // The delegators' bonuses follow the slash at once; the slash has landed whatever
            // happens here, so a failure is a warning with the command to finish it.
            match sync_pool(ctx, &ctx.signer()?, &operator) {
                Ok(synced) => eprintln!("{synced} delegated position(s) synced to the slash"),
                Err(error) => eprintln!(
                    "the slash landed, but syncing the delegators failed ({error:#}): run `groundwork crank sync-pool {operator}`"
                ),
            }
            Ok(())
        }
        AuthorityCommand::SetOracles { oracles, quorum } => {
            let expected = authority_of(ctx, Program::RewardEpochs)?;
            send_as_authority(ctx, as_authority, expected, |key| {
                rewards::set_oracles(key, oracles.clone(), quorum)
            })
        }
        AuthorityCommand::TransferAuthority {
            program,
            new_authority,
        } => {
            let expected = authority_of(ctx, program)?;
            send_as_authority(ctx, as_authority, expected, |key| match program {
                Program::Tokenomics => tokenomics_client::transfer_authority(key, new_authority),
                Program::DeviceRegistry => registry::transfer_authority(key, new_authority),
                Program::Staking => staking_client::transfer_authority(key, new_authority),
                Program::RewardEpochs => rewards::transfer_authority(key, new_authority),
            })
        }
        AuthorityCommand::AcceptAuthority { program } => {
            let pending = pending_authority_of(ctx, program)?
                .with_context(|| format!("no authority transfer of {program:?} is pending"))?;
            send_as_authority(ctx, as_authority, pending, |key| match program {
                Program::Tokenomics => tokenomics_client::accept_authority(key),
                Program::DeviceRegistry => registry::accept_authority(key),
                Program::Staking => staking_client::accept_authority(key),
                Program::RewardEpochs => rewards::accept_authority(key),
            })
        }
    }
}
