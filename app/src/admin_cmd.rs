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

fn authority_of(ctx: &Context, program: Program) -> Result<Pubkey> {
    let missing = || format!("{program:?} is not initialized on this cluster");
    Ok(match program {
        Program::Tokenomics => {
            read::<tokenomics::TokenomicsConfigV0>(
                &ctx.ledger,
                &tokenomics_client::config_address(),
            )?
            .with_context(missing)?
            .authority
        }
        Program::DeviceRegistry => {
            read::<device_registry::RegistryConfigV0>(
                &ctx.ledger,
                &registry::registry_config_address(),
            )?
            .with_context(missing)?
            .authority
        }
        Program::Staking => {
            read::<staking::StakingConfigV0>(&ctx.ledger, &staking_client::config_address())?
                .with_context(missing)?
                .authority
        }
        Program::RewardEpochs => {
            read::<RewardConfigV0>(&ctx.ledger, &rewards::config_address())?
                .with_context(missing)?
                .authority
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
            })
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
            let signer = ctx.signer()?;
            let key = signer.pubkey();
            let instruction = match program {
                Program::Tokenomics => tokenomics_client::accept_authority(&key),
                Program::DeviceRegistry => registry::accept_authority(&key),
                Program::Staking => staking_client::accept_authority(&key),
                Program::RewardEpochs => rewards::accept_authority(&key),
            };
            ctx.send(&[instruction], &[&signer]).map(drop)
        }
    }
}
