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
use crate::output::{format_amount, parse_amount, Effect};

#[derive(Subcommand)]
pub enum CrankCommand {
    /// Closes the next epoch that has ended (mint, staker funding, treasury, device pool).
    CloseEpoch,
    /// Activates an epoch's pending root once its challenge period is over.
    ActivateRoot { epoch: u64 },
    /// After a slash: brings the operator's delegators up to date so their bonuses stop
    /// counting at the pre-slash value (sync_position_v0, permissionless).
    SyncPool { operator: Pubkey },
    /// Closes every settled record (epoch records older than the active root, funded staking
    /// epoch records no position refers to); the rent goes back to whoever paid it.
    CloseSettled,
    /// Sweeps an operator's delegation pool: claims its leaf in the newest active root (leaf
    /// and proof from --oracle) and takes it into the pool's per-share index, so its
    /// delegators can claim (what the relaying oracle does; anyone may).
    SweepPool {
        operator: Pubkey,
        /// An oracle of the network, for the pool's leaf and proof (default: the config's
        /// `oracle`).
        #[arg(long, conflicts_with = "proof_file")]
        oracle: Option<String>,
        /// The pool's leaf and proof as JSON: {"cumulative_amount": n, "proof": ["<hex>", ...]}.
        #[arg(long)]
        proof_file: Option<std::path::PathBuf>,
    },
}

/// Positions synced per transaction.
const SYNCS_PER_TRANSACTION: usize = 6;

/// Syncs every member of `operator`'s pool whose bonus a slash has lowered; returns how many.
pub fn sync_pool(ctx: &Context, payer: &crate::signing::Party, operator: &Pubkey) -> Result<usize> {
    let pool: staking::OperatorPoolV0 = read(
        &ctx.ledger,
        &staking_client::operator_pool_address(operator),
    )?
    .with_context(|| format!("{} has no delegation pool", short(operator)))?;
    let stale: Vec<staking::PositionV0> =
        staking_client::positions_delegated_to(&ctx.ledger, operator)?
            .into_iter()
            .filter(|position| {
                position.bonus_weight > 0 && position.bonus_slash_factor > pool.slash_factor
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
    /// Sets the credit price: the token's price source (fixed, or a Pyth feed), and/or USD per
    /// credit.
    SetPricing {
        /// USD per whole network token, 8 decimals (a fixed price source).
        #[arg(long, conflicts_with = "pyth_feed")]
        fixed_price_usd_e8: Option<u64>,
        /// A Pyth feed id (hex) to price the token from, with --max-price-age.
        #[arg(long, requires = "max_price_age")]
        pyth_feed: Option<String>,
        /// The oldest (and furthest ahead) a Pyth price may be when a purchase reads it.
        #[arg(long, value_parser = humantime::parse_duration)]
        max_price_age: Option<std::time::Duration>,
        /// USD per credit, 9 decimals.
        #[arg(long)]
        usd_per_credit_e9: Option<u64>,
    },
    /// Sets the net-emission cap and smoothing and the circuit breaker (options not given keep
    /// their current value); applies from the next epoch mint.
    SetEmissionControls {
        /// Most smoothed burn re-emitted per epoch, in network tokens.
        #[arg(long)]
        net_emissions_cap: Option<String>,
        /// Weight of the newest epoch's burn in the moving average (10,000 = no smoothing).
        #[arg(long)]
        smoothing_bps: Option<u16>,
        /// Epochs the circuit breaker's window spans.
        #[arg(long)]
        breaker_window_epochs: Option<u16>,
        /// Most network tokens minted over any breaker window.
        #[arg(long)]
        breaker_max_mint: Option<String>,
    },
    /// Appends steps to the emission schedule: each `START_EPOCH:TOKENS_PER_EPOCH`, later than
    /// the last step.
    AppendEmissionSteps {
        #[arg(long = "step", required = true, value_parser = parse_step)]
        steps: Vec<(u64, String)>,
    },
    /// Sets the emission split (future epochs), the challenge period (future pending roots)
    /// and the treasury (options not given keep their current value).
    SetRewardParams {
        #[arg(long)]
        devices_bps: Option<u16>,
        #[arg(long)]
        stakers_bps: Option<u16>,
        #[arg(long)]
        treasury_bps: Option<u16>,
        #[arg(long, value_parser = humantime::parse_duration)]
        challenge_period: Option<std::time::Duration>,
        /// A token account of the network mint.
        #[arg(long)]
        treasury: Option<Pubkey>,
    },
    /// Vetoes an epoch's root while it is voting or inside its challenge period; the oracles
    /// vote the epoch again.
    VetoRoot { epoch: u64 },
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
        /// Most commission an operator may set on its pool's device rewards (basis points).
        #[arg(long)]
        max_commission_bps: Option<u16>,
    },
    /// Approves a hardware maker.
    ApproveMaker { maker: Pubkey },
    /// Revokes a hardware maker.
    RevokeMaker { maker: Pubkey },
    /// Suspends a device with a reason code (non-zero).
    Suspend {
        device: Pubkey,
        /// Why: a name (cloned-key, location-spoofing, tampered-hardware, maker-recall,
        /// abuse, operator-request) or a non-zero code.
        #[arg(long)]
        reason: String,
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
    let config = ctx.reward_config()?;
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
        CrankCommand::CloseSettled => {
            let closed = close_settled(ctx, &signer, &config)?;
            ctx.print(&closed)
        }
        CrankCommand::SweepPool {
            operator,
            oracle,
            proof_file,
        } => {
            let pool_address = staking_client::pool_rewards_address(&operator);
            let pool: staking::PoolRewardsV0 = read(&ctx.ledger, &pool_address)?
                .with_context(|| format!("{} has no delegation pool", short(&operator)))?;
            config
                .active_root_epoch
                .context("no reward root is active yet: nothing to sweep")?;
            let (leaf, config) =
                super::rewards::leaf_and_config(ctx, oracle, proof_file, &pool_address)?;
            let root_epoch = config
                .active_root_epoch
                .context("no reward root is active yet: nothing to sweep")?;
            let proof = leaf.verified_hashes(&config, &pool_address)?;
            let claimed = read::<reward_epochs::ClaimV0>(
                &ctx.ledger,
                &rewards::claim_address(&pool_address),
            )?
            .map_or(0, |record| record.claimed);
            if leaf.cumulative_amount <= claimed {
                bail!(
                    "{}'s pool was swept up to its leaf in the active root (epoch {root_epoch}): nothing to sweep",
                    short(&operator)
                );
            }
            let token = ctx.network_token()?;
            let decimals = ctx.network_decimals()?;
            let before = pool.total_swept;
            let instructions = [
                token.create_account_idempotent(&signer.pubkey(), &operator),
                staking_client::sweep_pool_rewards(
                    &signer.pubkey(),
                    &operator,
                    &pool,
                    root_epoch,
                    token,
                    leaf.cumulative_amount,
                    proof,
                    true,
                ),
            ];
            // A proof too long for a legacy transaction goes out with a lookup table.
            let sent = super::rewards::submit_fitting(ctx, &signer, &instructions, "pool sweep")?;
            ctx.print_with_effect(&sent, |ctx| {
                let pool: staking::PoolRewardsV0 = read(&ctx.ledger, &pool_address)?
                    .context("the pool rewards account is missing after the sweep")?;
                let received = pool.total_swept.saturating_sub(before);
                Ok(Effect::new(format!(
                    "{}'s pool took in {} network tokens of the root of epoch {root_epoch}",
                    short(&operator),
                    format_amount(received, decimals)
                ))
                .with("received_base_units", received))
            })
        }
    }
}

/// Records closed per transaction.
const CLOSES_PER_TRANSACTION: usize = 8;

/// What `crank close-settled` closed (or, with --dry-run, would close).
#[derive(serde::Serialize)]
pub struct ClosedRecords {
    pub epoch_records: Vec<u64>,
    pub staking_epoch_records: Vec<u64>,
}

impl std::fmt::Display for ClosedRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} epoch record(s) and {} staking epoch record(s) closed",
            self.epoch_records.len(),
            self.staking_epoch_records.len()
        )
    }
}

/// Closes every settled reward epoch record and every funded, unreferenced staking epoch
/// record, a batch per transaction.
fn close_settled(
    ctx: &Context,
    signer: &crate::signing::Party,
    config: &RewardConfigV0,
) -> Result<ClosedRecords> {
    use groundwork_client::ledger::accounts_of_type;
    let mut epoch_records: Vec<EpochV0> =
        accounts_of_type::<EpochV0>(&ctx.ledger, &reward_epochs::ID, None)?
            .into_iter()
            .map(|(_, record)| record)
            .filter(|record| {
                config
                    .active_root_epoch
                    .is_some_and(|active| record.epoch < active)
            })
            .collect();
    epoch_records.sort_by_key(|record| record.epoch);
    let mut stake_records: Vec<staking::EpochStakeV0> =
        accounts_of_type::<staking::EpochStakeV0>(&ctx.ledger, &staking::ID, None)?
            .into_iter()
            .map(|(_, record)| record)
            .filter(|record| record.funded && record.references == 0)
            .collect();
    stake_records.sort_by_key(|record| record.epoch);
    let instructions: Vec<_> = epoch_records
        .iter()
        .map(|record| rewards::close_epoch_record(&record.rent_payer, record.epoch))
        .chain(
            stake_records
                .iter()
                .map(|record| staking_client::close_epoch_stake(record.epoch, &record.rent_payer)),
        )
        .collect();
    for batch in instructions.chunks(CLOSES_PER_TRANSACTION) {
        crate::send::submit(&ctx.ledger, batch, &[signer], ctx.send)
            .context("closing settled records")?;
    }
    Ok(ClosedRecords {
        epoch_records: epoch_records.iter().map(|record| record.epoch).collect(),
        staking_epoch_records: stake_records.iter().map(|record| record.epoch).collect(),
    })
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
        let key = ctx.key_or_signer(authority)?;
        if key != expected {
            bail!(
                "{} is not the authority ({} is)",
                short(&key),
                short(&expected)
            );
        }
        let stand_in = ctx.signer().ok().map(|signer| signer.pubkey());
        let sent = crate::send::dump_message(&ctx.ledger, &[instruction(&key)], &key, stand_in)?;
        return ctx.print(&sent);
    }
    let signer = ctx.signer()?;
    if signer.pubkey() != expected {
        bail!(
            "keypair {} is not the network authority ({}); a multisig authority proposes the message this prints: the same command with --dump-transaction-message --authority {expected} added",
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
    Ok(match program {
        Program::Tokenomics => {
            let config = ctx.tokenomics_config()?;
            (config.authority, config.pending_authority)
        }
        Program::DeviceRegistry => {
            let config = ctx.registry_config()?;
            (config.authority, config.pending_authority)
        }
        Program::Staking => {
            let config = ctx.staking_config()?;
            (config.authority, config.pending_authority)
        }
        Program::RewardEpochs => {
            let config = ctx.reward_config()?;
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
            let registry_config = ctx.registry_config()?;
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
            pyth_feed,
            max_price_age,
            usd_per_credit_e9,
        } => {
            let config = ctx.tokenomics_config()?;
            let price_source = match (fixed_price_usd_e8, pyth_feed, max_price_age) {
                (Some(price_usd_e8), _, _) => tokenomics::PriceSource::Fixed { price_usd_e8 },
                (None, Some(feed), Some(age)) => tokenomics::PriceSource::Pyth {
                    feed_id: pyth_solana_receiver_sdk::price_update::get_feed_id_from_hex(&feed)
                        .map_err(|_| {
                            anyhow::anyhow!("--pyth-feed {feed} is not 32 bytes of hex")
                        })?,
                    max_price_age_s: u32::try_from(age.as_secs())
                        .ok()
                        .filter(|seconds| *seconds > 0)
                        .context("--max-price-age must be between 1 s and 136 years")?,
                },
                (None, None, Some(age)) => {
                    match config.price_source {
                        tokenomics::PriceSource::Pyth { feed_id, .. } => {
                            tokenomics::PriceSource::Pyth {
                                feed_id,
                                max_price_age_s: u32::try_from(age.as_secs())
                                    .ok()
                                    .filter(|seconds| *seconds > 0)
                                    .context("--max-price-age must be between 1 s and 136 years")?,
                            }
                        }
                        tokenomics::PriceSource::Fixed { .. } => {
                            bail!("--max-price-age applies to a Pyth price source: give --pyth-feed too")
                        }
                    }
                }
                _ => config.price_source,
            };
            let args = tokenomics::UpdatePricingArgsV0 {
                price_source,
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
            max_commission_bps,
        } => {
            let config = ctx.staking_config()?;
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
                max_commission_bps: max_commission_bps.unwrap_or(current.max_commission_bps),
            };
            if params.max_commission_bps > 10_000 {
                bail!("--max-commission-bps must be at most 10,000 (all of the pool's rewards)");
            }
            if params.max_slash_bps >= 10_000 {
                bail!("--max-slash-bps must stay below 10,000: a slash never takes a whole pool");
            }
            send_as_authority(ctx, as_authority, config.authority, |key| {
                staking_client::update_staking_params(key, params)
            })
        }
        AuthorityCommand::SetEmissionControls {
            net_emissions_cap,
            smoothing_bps,
            breaker_window_epochs,
            breaker_max_mint,
        } => {
            let config = ctx.tokenomics_config()?;
            let decimals = ctx.network_decimals()?;
            let tokens = |amount: Option<String>, current: u64| -> Result<u64> {
                amount.map_or(Ok(current), |amount| parse_amount(&amount, decimals))
            };
            let args = tokenomics::UpdateEmissionControlsArgsV0 {
                net_emissions: tokenomics::NetEmissions {
                    cap_per_epoch: tokens(net_emissions_cap, config.net_emissions.cap_per_epoch)?,
                    smoothing_bps: smoothing_bps.unwrap_or(config.net_emissions.smoothing_bps),
                },
                circuit_breaker: tokenomics::CircuitBreaker {
                    window_epochs: breaker_window_epochs
                        .unwrap_or(config.circuit_breaker.window_epochs),
                    max_mint_per_window: tokens(
                        breaker_max_mint,
                        config.circuit_breaker.max_mint_per_window,
                    )?,
                },
            };
            if args.net_emissions.smoothing_bps == 0 || args.net_emissions.smoothing_bps > 10_000 {
                bail!("--smoothing-bps must be 1 to 10,000");
            }
            let window = usize::from(args.circuit_breaker.window_epochs);
            if window == 0 || window > tokenomics::BREAKER_RING_LEN {
                bail!(
                    "--breaker-window-epochs must be 1 to {}",
                    tokenomics::BREAKER_RING_LEN
                );
            }
            send_as_authority(ctx, as_authority, config.authority, |key| {
                tokenomics_client::update_emission_controls(key, args.clone())
            })
        }
        AuthorityCommand::AppendEmissionSteps { steps } => {
            let config = ctx.tokenomics_config()?;
            let decimals = ctx.network_decimals()?;
            let steps = steps
                .into_iter()
                .map(|(start_epoch, amount)| {
                    Ok(tokenomics::EmissionStep {
                        start_epoch,
                        tokens_per_epoch: parse_amount(&amount, decimals)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut previous = config.emission_schedule.last().map(|step| step.start_epoch);
            for step in &steps {
                if previous.is_some_and(|previous| step.start_epoch <= previous) {
                    bail!(
                        "step at epoch {} does not come after epoch {}: steps must start at strictly increasing epochs after the schedule's last",
                        step.start_epoch,
                        previous.unwrap_or_default()
                    );
                }
                previous = Some(step.start_epoch);
            }
            send_as_authority(ctx, as_authority, config.authority, |key| {
                tokenomics_client::append_emission_steps(key, steps.clone())
            })
        }
        AuthorityCommand::SetRewardParams {
            devices_bps,
            stakers_bps,
            treasury_bps,
            challenge_period,
            treasury,
        } => {
            let config = ctx.reward_config()?;
            let split = reward_epochs::EmissionSplit {
                devices_bps: devices_bps.unwrap_or(config.split.devices_bps),
                stakers_bps: stakers_bps.unwrap_or(config.split.stakers_bps),
                treasury_bps: treasury_bps.unwrap_or(config.split.treasury_bps),
            };
            let total = u32::from(split.devices_bps)
                + u32::from(split.stakers_bps)
                + u32::from(split.treasury_bps);
            if total != 10_000 {
                bail!("the split must add up to 10,000 bps; it adds up to {total}");
            }
            let challenge_period_s = match challenge_period {
                Some(duration) => i64::try_from(duration.as_secs())?,
                None => config.challenge_period_s,
            };
            let treasury = treasury.unwrap_or(config.treasury);
            let token_account =
                read::<anchor_spl::token_interface::TokenAccount>(&ctx.ledger, &treasury)
                    .ok()
                    .flatten();
            match token_account {
                Some(account) if account.mint == config.network_mint => {}
                Some(account) => bail!(
                    "treasury {treasury} holds mint {}, not the network token {}",
                    account.mint,
                    config.network_mint
                ),
                None => bail!(
                    "treasury {treasury} is not a token account; create one for the network token {} first",
                    config.network_mint
                ),
            }
            let params = reward_epochs::RewardParamsV0 {
                split,
                challenge_period_s,
            };
            send_as_authority(ctx, as_authority, config.authority, |key| {
                rewards::update_reward_params(key, &config.network_mint, &treasury, params)
            })
        }
        AuthorityCommand::VetoRoot { epoch } => {
            let config = ctx.reward_config()?;
            let record: EpochV0 =
                read(&ctx.ledger, &rewards::epoch_address(epoch))?.with_context(|| {
                    format!("epoch {epoch} is not closed: there is no root to veto")
                })?;
            match record.status {
                RootStatus::Voting => {}
                RootStatus::Pending => {
                    let now = ctx.ledger_time()?;
                    if now >= record.activates_at {
                        bail!(
                            "epoch {epoch}'s challenge period ended {} s ago; its root can no longer be vetoed",
                            now - record.activates_at
                        );
                    }
                }
                RootStatus::Active => bail!("epoch {epoch}'s root is already active"),
            }
            send_as_authority(ctx, as_authority, config.authority, |key| {
                rewards::veto_root(key, epoch)
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
            let named = || {
                registry::SUSPENSION_REASONS
                    .iter()
                    .map(|(_, name, _)| *name)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let reason = match registry::suspension_reason_code(&reason) {
                Some(0) => bail!(
                    "a suspension needs a reason other than 0 (0 means not suspended): {}",
                    named()
                ),
                Some(code) => code,
                None => bail!(
                    "--reason {reason:?} is neither a reason this CLI names ({}) nor a code (1 to 65535)",
                    named()
                ),
            };
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

/// `START_EPOCH:TOKENS_PER_EPOCH`.
fn parse_step(text: &str) -> Result<(u64, String), String> {
    let (epoch, tokens) = text
        .split_once(':')
        .ok_or_else(|| format!("{text}: expected START_EPOCH:TOKENS_PER_EPOCH"))?;
    let epoch = epoch
        .parse()
        .map_err(|_| format!("{epoch} is not an epoch number"))?;
    Ok((epoch, tokens.to_string()))
}
