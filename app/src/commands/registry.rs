//! The operator's and the dApp's commands: operators, devices, credits. Every command reads
//! what it depends on first and refuses, naming the account and the fix, before anything is
//! sent.

use std::path::{Path, PathBuf};

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use device_registry::{DeviceClassV0, DeviceStatus, DeviceV0, OperatorV0};
use groundwork_client::device_registry::{self as registry, Onboarding};
use groundwork_client::ledger::read;
use groundwork_client::tokenomics as tokenomics_client;
use serde::Serialize;
use solana_keypair::{write_keypair_file, Keypair};
use solana_signer::Signer;
use tokenomics::{BurnForCreditsArgsV0, PriceSource};

use crate::cluster::load_keypair;
use crate::context::{credits_of, short, Context};
use crate::location::{cell_of, LocationArgs};
use crate::oracle_api::oracle_get;
use crate::output::{format_amount, parse_amount, Effect};

#[derive(Subcommand)]
pub enum DeviceCommand {
    /// Writes a new device keypair (Solana CLI JSON) to a file; refuses to overwrite one.
    Keygen {
        #[arg(long)]
        outfile: PathBuf,
    },
    /// Onboards a device (or every device of --from-file): the operator (--keypair) and the
    /// device key sign, and a maker co-signs when the class requires it; the onboarding fee is
    /// burned from the operator's credits.
    Onboard {
        /// The device's keypair (it signs), or its public key when it signs elsewhere.
        #[arg(
            long,
            required_unless_present = "from_file",
            conflicts_with = "from_file"
        )]
        device_keypair: Option<PathBuf>,
        /// The device class (with --from-file: for rows without a class column).
        #[arg(long, required_unless_present = "from_file")]
        class: Option<u16>,
        #[command(flatten)]
        location: LocationArgs,
        /// The attesting maker's keypair, or its public key when the maker co-signs on its own
        /// machine (--sign-only there, --signer here).
        #[arg(long)]
        maker_keypair: Option<PathBuf>,
        #[command(flatten)]
        bulk: super::bulk::BulkArgs,
    },
    /// Asserts a device's location (the fee is burned only when the cell changes), or every
    /// device's of --from-file.
    AssertLocation {
        #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
        device: Option<Pubkey>,
        #[command(flatten)]
        location: LocationArgs,
        #[command(flatten)]
        bulk: super::bulk::BulkArgs,
    },
    /// Transfers a device to another operator, who consents by co-signing.
    Transfer {
        device: Pubkey,
        /// The receiving operator's keypair (it signs), or its public key when it signs on its
        /// own machine (--sign-only there, --signer here).
        #[arg(long)]
        to_keypair: PathBuf,
    },
    /// Sends one device's rewards to a recipient (or back to the operator's with --clear), or
    /// every device's of --from-file to the recipient of its row.
    SetRecipient {
        #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
        device: Option<Pubkey>,
        #[arg(long, conflicts_with = "clear")]
        recipient: Option<Pubkey>,
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        bulk: super::bulk::BulkArgs,
    },
    /// Retires a device (its record closes; the rent returns to the operator).
    Deactivate {
        device: Pubkey,
    },
    Show {
        device: Pubkey,
    },
    /// Why a device earned what it earned: its rows of the newest verified epochs (or of
    /// --epoch N) from an oracle, in plain words (slots seen, distance to its cell, density,
    /// payments, fraud reasons).
    Report {
        device: Pubkey,
        /// The oracle's base URL (serves `GET /v1/devices/{key}/rewards`; default: the
        /// config's `oracle`).
        #[arg(long)]
        oracle: Option<String>,
        #[arg(long)]
        epoch: Option<u64>,
    },
    /// Lists an operator's devices (default: the keypair's).
    List {
        #[arg(long)]
        operator: Option<Pubkey>,
    },
}

#[derive(Subcommand)]
pub enum ClassCommand {
    /// Every device class: fees, reward weight, whether a maker must co-sign, devices.
    List,
}

/// One device class as `class list` shows it.
#[derive(Serialize)]
pub struct ClassView {
    pub class_id: u16,
    pub name: String,
    pub onboarding_fee_credits: u64,
    pub location_fee_credits: u64,
    pub reward_weight_bps: u16,
    pub maker_attestation_required: bool,
    pub devices: u64,
}

#[derive(Serialize)]
pub struct ClassList(pub Vec<ClassView>);

impl std::fmt::Display for ClassList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return writeln!(
                f,
                "no device classes yet (the authority adds them: `groundwork authority add-class`)"
            );
        }
        writeln!(
            f,
            "{:>5}  {:<24} {:>14} {:>12} {:>7}  {:<6} {:>8}",
            "class", "name", "onboarding fee", "move fee", "weight", "maker", "devices"
        )?;
        for class in &self.0 {
            writeln!(
                f,
                "{:>5}  {:<24} {:>14} {:>12} {:>6}x  {:<6} {:>8}",
                class.class_id,
                class.name,
                class.onboarding_fee_credits,
                class.location_fee_credits,
                crate::output::format_amount(u64::from(class.reward_weight_bps), 4)
                    .trim_end_matches('0')
                    .trim_end_matches('.'),
                if class.maker_attestation_required {
                    "needed"
                } else {
                    "no"
                },
                class.devices
            )?;
        }
        writeln!(
            f,
            "fees in credits; `groundwork credits buy` turns network tokens into credits"
        )
    }
}

pub fn class(ctx: &Context, command: ClassCommand) -> Result<()> {
    match command {
        ClassCommand::List => {
            let count = ctx.registry_config()?.device_class_count;
            let classes = (0..count)
                .map(|id| {
                    let class = class_of(ctx, id)?;
                    Ok(ClassView {
                        class_id: class.class_id,
                        name: class.name,
                        onboarding_fee_credits: class.onboarding_fee_credits,
                        location_fee_credits: class.location_fee_credits,
                        reward_weight_bps: class.reward_weight_bps,
                        maker_attestation_required: class.maker_attestation_required,
                        devices: class.device_count,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            ctx.print(&ClassList(classes))
        }
    }
}

#[derive(Subcommand)]
pub enum CreditsCommand {
    /// Burns network tokens for service credits at the network's price.
    Buy {
        /// Network tokens to burn (e.g. 12.5).
        #[arg(long)]
        amount: String,
        /// Refuse to buy fewer credits than quoted minus this (basis points).
        #[arg(long, default_value_t = 100)]
        slippage_bps: u16,
        /// Who receives the credits (default: the keypair).
        #[arg(long)]
        recipient: Option<Pubkey>,
        /// On a network priced from Pyth: the PriceUpdateV2 account to read the price from
        /// (default: Pyth's sponsored feed account for the network's feed, shard 0).
        #[arg(long)]
        price_update: Option<Pubkey>,
    },
    /// Credits held (default: the keypair's).
    Balance { owner: Option<Pubkey> },
    /// Pays a device for its service, burning credits.
    Pay {
        device: Pubkey,
        #[arg(long)]
        credits: u64,
    },
}

fn device_of(ctx: &Context, device: &Pubkey) -> Result<DeviceV0> {
    read(&ctx.ledger, &registry::device_address(device))?
        .with_context(|| format!("device {} is not onboarded on this network", short(device)))
}

pub(crate) fn operator_of(ctx: &Context, operator: &Pubkey) -> Result<OperatorV0> {
    read(&ctx.ledger, &registry::operator_address(operator))?.with_context(|| {
        format!(
            "{} is not a registered operator: register with `groundwork operator register`",
            short(operator)
        )
    })
}

fn class_of(ctx: &Context, class_id: u16) -> Result<DeviceClassV0> {
    read(&ctx.ledger, &registry::device_class_address(class_id))?
        .with_context(|| format!("device class {class_id} does not exist on this network"))
}

fn require_credits(ctx: &Context, payer: &Pubkey, needed: u64, what: &str) -> Result<()> {
    let held = credits_of(ctx, payer)?;
    if held < needed {
        bail!(
            "you hold {held} credits, {what} needs {needed}: buy with `groundwork credits buy --amount <tokens>`"
        );
    }
    Ok(())
}

/// With --from-file each row says where its device is: a location flag would be ignored.
fn forbid_location_with_file(location: &LocationArgs) -> Result<()> {
    if location.cell.is_some() || location.lat.is_some() || location.lon.is_some() {
        bail!("--from-file takes each device's place from its row (cell, or lat and lon): drop --cell, --lat and --lon");
    }
    Ok(())
}

fn require_operator_of(device: &DeviceV0, signer: &Pubkey) -> Result<()> {
    if device.operator != *signer {
        bail!(
            "keypair {} is not the operator of device {} (its operator is {})",
            short(signer),
            short(&device.device_key),
            short(&device.operator)
        );
    }
    Ok(())
}

fn require_active(device: &DeviceV0) -> Result<()> {
    if device.status == DeviceStatus::Suspended {
        bail!(
            "device {} is suspended ({}): only the network authority can reinstate it",
            short(&device.device_key),
            registry::suspension_reason_words(device.suspension_reason)
        );
    }
    Ok(())
}

#[derive(Serialize)]
pub struct DeviceView {
    pub device: String,
    pub operator: String,
    pub class_id: u16,
    pub status: String,
    pub location: String,
    pub reward_recipient: Option<String>,
    pub location_assertions: u32,
    pub credits_spent: u64,
    pub onboarded_at: i64,
}

impl From<&DeviceV0> for DeviceView {
    fn from(device: &DeviceV0) -> Self {
        DeviceView {
            device: device.device_key.to_string(),
            operator: device.operator.to_string(),
            class_id: device.class_id,
            status: match device.status {
                DeviceStatus::Active => "active".into(),
                DeviceStatus::Suspended => {
                    format!(
                        "suspended ({})",
                        registry::suspension_reason_words(device.suspension_reason)
                    )
                }
            },
            location: format!("{:x}", device.location),
            reward_recipient: device.reward_recipient.map(|key| key.to_string()),
            location_assertions: device.location_assertions,
            credits_spent: device.credits_spent,
            onboarded_at: device.onboarded_at,
        }
    }
}

impl std::fmt::Display for DeviceView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}  class {}  {}  cell {}  credits spent {}  operator {}",
            self.device,
            self.class_id,
            self.status,
            self.location,
            self.credits_spent,
            self.operator
        )
    }
}

#[derive(Serialize)]
pub struct DeviceList(pub Vec<DeviceView>);

impl std::fmt::Display for DeviceList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "no devices");
        }
        self.0.iter().try_for_each(|device| write!(f, "{device}"))
    }
}

#[derive(Serialize)]
pub struct CreditBalance {
    pub owner: String,
    pub credits: u64,
}

impl std::fmt::Display for CreditBalance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} credits held by {}", self.credits, self.owner)
    }
}

#[derive(Serialize)]
pub struct KeyFile {
    pub pubkey: String,
    pub path: String,
}

impl std::fmt::Display for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "wrote key {} to {}", self.pubkey, self.path)
    }
}

fn write_new_keypair(path: &Path) -> Result<Keypair> {
    if path.exists() {
        bail!("{} exists: refusing to overwrite a key", path.display());
    }
    let keypair = Keypair::new();
    write_keypair_file(&keypair, path)
        .map_err(|error| anyhow::anyhow!("writing {}: {error}", path.display()))?;
    Ok(keypair)
}

/// Writes a new keypair file at `outfile` (never over an existing file); no cluster needed.
pub fn keygen(outfile: &std::path::Path) -> Result<KeyFile> {
    let keypair = write_new_keypair(outfile)?;
    Ok(KeyFile {
        pubkey: keypair.pubkey().to_string(),
        path: outfile.display().to_string(),
    })
}

pub fn device(ctx: &Context, command: DeviceCommand) -> Result<()> {
    match command {
        DeviceCommand::Keygen { outfile } => ctx.print(&keygen(&outfile)?),
        DeviceCommand::Onboard {
            device_keypair,
            class,
            location,
            maker_keypair,
            bulk,
        } => {
            if bulk.from_file.is_some() {
                forbid_location_with_file(&location)?;
                let maker = maker_keypair
                    .map(|path| load_keypair(&path).map(Box::new))
                    .transpose()?;
                return super::bulk::run(ctx, super::bulk::Action::Onboard { class, maker }, &bulk);
            }
            let (Some(device_keypair), Some(class)) = (device_keypair, class) else {
                bail!("say which device: --device-keypair FILE and --class N (or --from-file devices.csv)");
            };
            let signer = ctx.signer()?;
            let device_key = ctx.party(&device_keypair)?;
            let cell = cell_of(&location)?;
            operator_of(ctx, &signer.pubkey())?;
            if let Some(existing) =
                read::<DeviceV0>(&ctx.ledger, &registry::device_address(&device_key.pubkey()))?
            {
                bail!(
                    "device {} is already onboarded by operator {}",
                    short(&existing.device_key),
                    short(&existing.operator)
                );
            }
            let device_class = class_of(ctx, class)?;
            let maker = maker_keypair.map(|path| ctx.party(&path)).transpose()?;
            if device_class.maker_attestation_required && maker.is_none() {
                bail!(
                    "class {class} ({}) requires an approved maker's co-signature: pass --maker-keypair",
                    device_class.name
                );
            }
            require_credits(
                ctx,
                &signer.pubkey(),
                device_class.onboarding_fee_credits,
                &format!("onboarding a {}", device_class.name),
            )?;
            let instruction = registry::onboard_device(Onboarding {
                payer: signer.pubkey(),
                operator_authority: signer.pubkey(),
                device_key: device_key.pubkey(),
                class_id: class,
                maker: maker.as_ref().map(Signer::pubkey),
                location: cell,
            });
            let mut signers: Vec<&dyn Signer> = vec![&signer, &device_key];
            if let Some(maker) = &maker {
                signers.push(maker);
            }
            let before = credits_of(ctx, &signer.pubkey())?;
            ctx.send_with_effect(&[instruction], &signers, |ctx| {
                let after = credits_of(ctx, &signer.pubkey())?;
                let fee = before.saturating_sub(after);
                Ok(Effect::new(format!(
                    "onboarded device {} ({}) in cell {cell:x}: {fee} credits burned as the fee, {after} credits left",
                    device_key.pubkey(),
                    device_class.name
                ))
                .with("device", device_key.pubkey().to_string())
                .with("cell", format!("{cell:x}"))
                .with("fee_credits", fee)
                .with("credits_left", after))
            })
            .map(drop)
        }
        DeviceCommand::AssertLocation {
            device,
            location,
            bulk,
        } => {
            if bulk.from_file.is_some() {
                forbid_location_with_file(&location)?;
                return super::bulk::run(ctx, super::bulk::Action::AssertLocation, &bulk);
            }
            let device = device.context("say which device (or --from-file devices.csv)")?;
            let signer = ctx.signer()?;
            let cell = cell_of(&location)?;
            let record = device_of(ctx, &device)?;
            require_operator_of(&record, &signer.pubkey())?;
            require_active(&record)?;
            if cell != record.location {
                let class = class_of(ctx, record.class_id)?;
                require_credits(
                    ctx,
                    &signer.pubkey(),
                    class.location_fee_credits,
                    "moving a device",
                )?;
            }
            let instruction = registry::assert_location(
                &signer.pubkey(),
                &signer.pubkey(),
                &device,
                record.class_id,
                cell,
            );
            let before = credits_of(ctx, &signer.pubkey())?;
            ctx.send_with_effect(&[instruction], &[&signer], |ctx| {
                let after = credits_of(ctx, &signer.pubkey())?;
                let fee = before.saturating_sub(after);
                Ok(Effect::new(format!(
                    "device {} now asserts cell {cell:x} (was {:x}): {fee} credits burned as the fee, {after} credits left",
                    short(&device),
                    record.location
                ))
                .with("cell", format!("{cell:x}"))
                .with("previous_cell", format!("{:x}", record.location))
                .with("fee_credits", fee)
                .with("credits_left", after))
            })
            .map(drop)
        }
        DeviceCommand::Transfer { device, to_keypair } => {
            let signer = ctx.signer()?;
            let receiver = ctx.party(&to_keypair)?;
            let record = device_of(ctx, &device)?;
            require_operator_of(&record, &signer.pubkey())?;
            require_active(&record)?;
            operator_of(ctx, &receiver.pubkey())?;
            if receiver.pubkey() == signer.pubkey() {
                bail!(
                    "device {} already belongs to {}",
                    short(&device),
                    short(&signer.pubkey())
                );
            }
            let instruction =
                registry::transfer_device(&signer.pubkey(), &receiver.pubkey(), &device);
            ctx.send_with_effect(&[instruction], &[&signer, &receiver], |_| {
                Ok(Effect::new(format!(
                    "device {} now belongs to operator {}",
                    short(&device),
                    receiver.pubkey()
                ))
                .with("operator", receiver.pubkey().to_string()))
            })
            .map(drop)
        }
        DeviceCommand::SetRecipient {
            device,
            recipient,
            clear,
            bulk,
        } => {
            if bulk.from_file.is_some() {
                if recipient.is_some() || clear {
                    bail!("--from-file takes each device's recipient from its row (`operator` for the operator's): drop --recipient and --clear");
                }
                return super::bulk::run(ctx, super::bulk::Action::SetRecipient, &bulk);
            }
            let device = device.context("say which device (or --from-file devices.csv)")?;
            let signer = ctx.signer()?;
            if recipient.is_none() && !clear {
                bail!("say who receives the device's rewards: --recipient KEY, or --clear for the operator's recipient");
            }
            let record = device_of(ctx, &device)?;
            require_operator_of(&record, &signer.pubkey())?;
            let instruction = registry::set_reward_recipient(&signer.pubkey(), &device, recipient);
            ctx.send_with_effect(&[instruction], &[&signer], |_| {
                let to = recipient.map_or("the operator's recipient".to_string(), |key| {
                    key.to_string()
                });
                Ok(Effect::new(format!(
                    "device {}'s rewards from the next verified epoch go to {to}",
                    short(&device)
                ))
                .with("recipient", recipient.map(|key| key.to_string())))
            })
            .map(drop)
        }
        DeviceCommand::Deactivate { device } => {
            let signer = ctx.signer()?;
            let record = device_of(ctx, &device)?;
            require_operator_of(&record, &signer.pubkey())?;
            require_active(&record)?;
            let instruction =
                registry::deactivate_device(&signer.pubkey(), &device, record.class_id);
            ctx.send(&[instruction], &[&signer]).map(drop)
        }
        DeviceCommand::Show { device } => ctx.print(&DeviceView::from(&device_of(ctx, &device)?)),
        DeviceCommand::Report {
            device,
            oracle,
            epoch,
        } => {
            let mut path = format!("/v1/devices/{device}/rewards");
            if let Some(epoch) = epoch {
                path.push_str(&format!("?epoch={epoch}"));
            }
            ctx.print(&DeviceReport {
                rows: oracle_get(&ctx.oracle_url(oracle)?, &path)?,
                decimals: ctx.network_decimals()?,
            })
        }
        DeviceCommand::List { operator } => {
            let key = ctx.key_or_signer(operator)?;
            let devices = list_devices(ctx, &key)?;
            ctx.print(&DeviceList(devices.iter().map(DeviceView::from).collect()))
        }
    }
}

fn list_devices(ctx: &Context, operator: &Pubkey) -> Result<Vec<DeviceV0>> {
    Ok(registry::devices_of_operator(&ctx.ledger, operator)?)
}

pub fn credits(ctx: &Context, command: CreditsCommand) -> Result<()> {
    match command {
        CreditsCommand::Buy {
            amount,
            slippage_bps,
            recipient,
            price_update,
        } => {
            let signer = ctx.signer()?;
            let token = ctx.network_token()?;
            let mint = ctx.ledger.client.get_token_supply(&token.mint)?;
            let base_units = parse_amount(&amount, mint.decimals)
                .with_context(|| format!("--amount {amount}"))?;
            if base_units == 0 {
                bail!(
                    "--amount {amount} is zero: give the network tokens to burn, e.g. --amount 10"
                );
            }
            if slippage_bps > 10_000 {
                bail!("--slippage-bps {slippage_bps} is more than 10000 (100%): e.g. --slippage-bps 100 accepts 1% fewer credits than quoted");
            }
            let held = ctx.token_balance(&token.account_of(&signer.pubkey()));
            if held < base_units {
                bail!(
                    "you hold {} network tokens, buying needs {amount}",
                    format_amount(held, mint.decimals)
                );
            }
            let config = ctx.tokenomics_config()?;
            let price_update = match config.price_source {
                PriceSource::Fixed { .. } => None,
                PriceSource::Pyth { feed_id, .. } => Some(
                    price_update
                        .unwrap_or_else(|| tokenomics_client::pyth_price_feed_address(&feed_id, 0)),
                ),
            };
            let update = price_update
                .map(|address| read_price_update(ctx, &address))
                .transpose()?;
            let quote = tokenomics_client::quote_credits(
                &config,
                update.as_ref(),
                ctx.ledger_time()?,
                base_units,
                mint.decimals,
            )
            .with_context(|| format!("quoting {amount} tokens"))?;
            let min_credits_out = min_credits_out(quote.credits, slippage_bps);
            let receiver = recipient.unwrap_or(signer.pubkey());
            let instruction = tokenomics_client::burn_for_credits(
                &signer.pubkey(),
                &receiver,
                token,
                price_update,
                BurnForCreditsArgsV0 {
                    amount: base_units,
                    min_credits_out,
                },
            );
            let before = credits_of(ctx, &receiver)?;
            ctx.send_with_effect(&[instruction], &[&signer], |ctx| {
                let after = credits_of(ctx, &receiver)?;
                let received = after.saturating_sub(before);
                let to = if receiver == signer.pubkey() {
                    String::new()
                } else {
                    format!(" for {receiver}")
                };
                Ok(Effect::new(format!(
                    "burned {amount} network tokens for {received} credits{to} ({} tokens per 1,000 credits); {after} credits held",
                    tokens_per_thousand_credits(base_units, received, mint.decimals)
                ))
                .with("tokens_burned_base_units", base_units)
                .with("credits_received", received)
                .with("credits_held", after))
            })
            .map(drop)
        }
        CreditsCommand::Balance { owner } => {
            let owner = ctx.key_or_signer(owner)?;
            ctx.print(&CreditBalance {
                owner: owner.to_string(),
                credits: credits_of(ctx, &owner)?,
            })
        }
        CreditsCommand::Pay { device, credits } => {
            let signer = ctx.signer()?;
            if credits == 0 {
                bail!("pay at least one credit");
            }
            let record = device_of(ctx, &device)?;
            require_active(&record)?;
            require_credits(ctx, &signer.pubkey(), credits, "this payment")?;
            let instruction = registry::pay_for_service(&signer.pubkey(), &device, credits);
            ctx.send_with_effect(&[instruction], &[&signer], |ctx| {
                let left = credits_of(ctx, &signer.pubkey())?;
                Ok(Effect::new(format!(
                    "paid device {} {credits} credits (burned); {left} credits left",
                    short(&device)
                ))
                .with("credits_paid", credits)
                .with("credits_left", left))
            })
            .map(drop)
        }
    }
}

/// The fewest credits a purchase quoted at `quoted` accepts with `slippage_bps` (at most
/// 10,000) of slippage, floored; exact for every u64 quote.
fn min_credits_out(quoted: u64, slippage_bps: u16) -> u64 {
    let kept = 10_000 - u128::from(slippage_bps.min(10_000));
    // quoted x kept / 10,000 <= quoted: fits a u64.
    (u128::from(quoted) * kept / 10_000) as u64
}

/// The price paid, as network tokens per 1,000 credits in decimals (6 places kept).
fn tokens_per_thousand_credits(base_units: u64, credits: u64, decimals: u8) -> String {
    if credits == 0 {
        return "no credits for".into();
    }
    // base units per 1,000 credits, in millionths of a base unit: u128 holds any u64 x 1e9.
    let micro_units = u128::from(base_units) * 1_000 * 1_000_000 / u128::from(credits);
    let scale = 10u128.pow(u32::from(decimals)) * 1_000_000;
    let whole = micro_units / scale;
    let fraction = micro_units % scale * 1_000_000 / scale;
    format!("{whole}.{fraction:06}")
}

/// A Pyth price update account, checked to belong to the Pyth receiver program.
fn read_price_update(
    ctx: &Context,
    address: &Pubkey,
) -> Result<pyth_solana_receiver_sdk::price_update::PriceUpdateV2> {
    use anchor_lang::AccountDeserialize;
    use groundwork_client::ledger::Ledger;
    let account = ctx.ledger.account(address)?.with_context(|| {
        format!("price update account {address} does not exist on this cluster; pass --price-update with a PriceUpdateV2 account of the network's feed")
    })?;
    if account.owner != pyth_solana_receiver_sdk::ID {
        bail!(
            "{address} is owned by {}, not the Pyth receiver program {}",
            account.owner,
            pyth_solana_receiver_sdk::ID
        );
    }
    pyth_solana_receiver_sdk::price_update::PriceUpdateV2::try_deserialize(
        &mut account.data.as_slice(),
    )
    .with_context(|| format!("{address} is not a Pyth PriceUpdateV2 account"))
}

/// A device's rows as `GET /v1/devices/{key}/rewards` serves them (the JSON output, amounts
/// in base units), and the network token's decimals to show them in words.
#[derive(Serialize)]
#[serde(transparent)]
struct DeviceReport {
    rows: serde_json::Value,
    #[serde(skip)]
    decimals: u8,
}

impl std::fmt::Display for DeviceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens =
            |value: &serde_json::Value| format_amount(value.as_u64().unwrap_or(0), self.decimals);
        writeln!(
            f,
            "device {}",
            self.rows["device"].as_str().unwrap_or_default()
        )?;
        for row in self.rows["epochs"].as_array().into_iter().flatten() {
            writeln!(
                f,
                "epoch {}: {} tokens — {}",
                row["epoch"],
                tokens(&row["amount"]),
                row["headline"].as_str().unwrap_or_default()
            )?;
            // The oracle's last line states the amounts in base units: said here in decimals.
            for line in row["explanation"]
                .as_str()
                .unwrap_or_default()
                .lines()
                .filter(|line| !line.starts_with("earned "))
            {
                writeln!(f, "  {line}")?;
            }
            writeln!(
                f,
                "  earned {} (coverage {}, data {}), paid to {}",
                tokens(&row["amount"]),
                tokens(&row["coverage_reward"]),
                tokens(&row["data_reward"]),
                row["recipient"].as_str().unwrap_or_default()
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_report_states_amounts_in_decimals() {
        let report = DeviceReport {
            rows: serde_json::json!({
                "device": "D",
                "epochs": [{
                    "epoch": 2,
                    "amount": 6_110_895_652u64,
                    "coverage_reward": 6_110_895_652u64,
                    "data_reward": 0,
                    "recipient": "R",
                    "headline": "earned: full coverage",
                    "explanation": "seen in 24 of 30 slots\nearned 6110895652 (coverage 6110895652, data 0), paid to R",
                }],
            }),
            decimals: 6,
        };
        let shown = report.to_string();
        assert!(
            shown.contains("epoch 2: 6110.895652 tokens — earned: full coverage"),
            "{shown}"
        );
        assert!(
            shown.contains("  earned 6110.895652 (coverage 6110.895652, data 0.000000), paid to R"),
            "{shown}"
        );
        assert!(!shown.contains("6110895652"), "{shown}");
    }

    #[test]
    fn the_slippage_floor_holds_for_every_quote() {
        assert_eq!(min_credits_out(1_000, 100), 990);
        assert_eq!(min_credits_out(999, 1), 998);
        assert_eq!(min_credits_out(5, 10_000), 0);
        // Once overflowed a u64: quote x bps.
        assert_eq!(min_credits_out(u64::MAX, 100), 18_262_276_632_972_456_098);
        assert_eq!(min_credits_out(u64::MAX, 0), u64::MAX);
    }

    #[test]
    fn the_price_reads_as_tokens_per_thousand_credits() {
        // 100 tokens (6 decimals) for 5,000,000 credits: 0.02 tokens per 1,000.
        assert_eq!(
            tokens_per_thousand_credits(100_000_000, 5_000_000, 6),
            "0.020000"
        );
        assert_eq!(tokens_per_thousand_credits(3_000_000, 1_000, 6), "3.000000");
        assert_eq!(tokens_per_thousand_credits(1, 3, 0), "333.333333");
        assert!(tokens_per_thousand_credits(u64::MAX, 1, 9).starts_with("18446744073709.551615"));
        assert_eq!(tokens_per_thousand_credits(1, 0, 6), "no credits for");
    }
}
