//! `groundwork simulate`: streams signed telemetry from a directory of onboarded device keys
//! (the simulated devices of [`crate::device_sim`]) to an oracle and prints its replies by
//! status; `--generate N` first writes and onboards N new device keys.

use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use groundwork_oracle::core::clock::{Clock, SystemClock};
use groundwork_telemetry::Key;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::device_sim::{post, round_with_witnesses, Behaviour, SimulatedDevice, Tally};

/// `groundwork simulate`: what to stream, where, how fast and for how long.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The oracle's base URL (its `POST /v1/telemetry` receives the messages; default: the
    /// config's `oracle`).
    #[arg(long)]
    pub oracle: Option<String>,
    /// A directory of device keypair files (Solana CLI JSON), onboarded on this network.
    #[arg(long)]
    pub device_keypairs: std::path::PathBuf,
    /// First generate this many new device keys into --device-keypairs and onboard them, the
    /// keypair (-k) as their operator, in and around --cell.
    #[arg(long, requires = "cell")]
    pub generate: Option<u32>,
    /// The device class of generated devices.
    #[arg(long, default_value_t = 0)]
    pub class: u16,
    /// Where generated devices go (hex H3 cell, resolution 8 to 15): this cell and its
    /// neighbours, one device per cell.
    #[arg(long)]
    pub cell: Option<String>,
    /// Rounds per second (each device sends a heartbeat a round; the oracle admits one
    /// message per second per device, with bursts).
    #[arg(long, default_value_t = 0.5)]
    pub rate: f64,
    /// How long to stream (humantime: 30s, 5m...).
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Send binary batches instead of JSON.
    #[arg(long)]
    pub binary: bool,
}

/// Streams telemetry from every onboarded device key in the directory and prints the
/// replies by status.
pub fn simulate(ctx: &crate::context::Context, args: SimulateArgs) -> Result<()> {
    use groundwork_client::device_registry as registry;
    use groundwork_client::ledger::read;
    if !(args.rate > 0.0 && args.rate <= 10.0) {
        anyhow::bail!("--rate must be between 0 and 10 rounds per second");
    }
    let oracle = ctx.oracle_url(args.oracle.clone())?;
    if let Some(count) = args.generate {
        let cell = crate::location::cell_of(&crate::location::LocationArgs {
            cell: args.cell.clone(),
            lat: None,
            lon: None,
            resolution: 12,
        })?;
        let made = generate_devices(ctx, &args.device_keypairs, count, args.class, cell)?;
        eprintln!(
            "onboarded {} new device(s); their keys are in {}",
            made.len(),
            args.device_keypairs.display()
        );
        // The oracle applies finalized history in order: once it knows the last one onboarded,
        // it knows them all.
        if let Some(last) = made.last() {
            wait_until_oracle_knows(&oracle, last, made.len(), ORACLE_SEES_ONBOARDING)?;
        }
    }
    let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(&args.device_keypairs)
        .with_context(|| format!("reading {}", args.device_keypairs.display()))?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "json")
        })
        .collect();
    paths.sort();
    let now_ms = SystemClock.now_ms();
    let mut devices = Vec::new();
    let mut not_onboarded = Vec::new();
    for path in &paths {
        let keypair = crate::cluster::load_keypair(path)?;
        match read::<device_registry::DeviceV0>(
            &ctx.ledger,
            &registry::device_address(&keypair.pubkey()),
        )? {
            Some(device) => devices.push(
                SimulatedDevice::new(keypair, device.location, Behaviour::Honest, now_ms)?
                    .of_operator(device.operator),
            ),
            None => not_onboarded.push(keypair.pubkey().to_string()),
        }
    }
    if !not_onboarded.is_empty() {
        eprintln!(
            "skipping {} key(s) not onboarded on this network (onboard with `groundwork device onboard`): {}",
            not_onboarded.len(),
            not_onboarded.join(", ")
        );
    }
    if devices.is_empty() {
        anyhow::bail!(
            "no onboarded device keys in {}",
            args.device_keypairs.display()
        );
    }
    // Messages of a device the oracle does not know yet are refused (unknown_device): a device
    // onboarded moments ago is known once its onboarding is finalized. The first devices are
    // checked (and waited for); a fleet's later ones were onboarded no later, in the usual case.
    for device in devices.iter().take(DEVICES_CHECKED_KNOWN) {
        // A directory may hold a device the oracle will never know (retired since): after a
        // while it streams anyway, and the replies say which devices are refused.
        if let Err(error) = wait_until_oracle_knows(
            &oracle,
            &device.keypair.pubkey(),
            devices.len(),
            EXISTING_DEVICE_WAIT,
        ) {
            eprintln!("warning: {error:#}; streaming anyway");
            break;
        }
    }
    let network = Key(registry::registry_config_address().to_bytes());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = reqwest::Client::new();
    let interval = std::time::Duration::from_secs_f64(1.0 / args.rate);
    let rounds = (args.duration.as_secs_f64() * args.rate).ceil().max(1.0) as u64;
    let progress = indicatif::ProgressBar::new(rounds);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} rounds  {msg}")
            .map_err(|error| anyhow::anyhow!("progress bar: {error}"))?,
    );
    if ctx.output != crate::output::Output::Display {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut total = Tally::default();
    for _ in 0..rounds {
        let started = std::time::Instant::now();
        let messages = round_with_witnesses(&mut devices, network, SystemClock.now_ms());
        let tally = runtime.block_on(post(&client, &oracle, &messages, args.binary))?;
        total.add(&tally);
        progress.set_message(format!(
            "accepted {}, rejected {}",
            total.accepted,
            total.rejected_total()
        ));
        progress.inc(1);
        std::thread::sleep(interval.saturating_sub(started.elapsed()));
    }
    progress.finish_and_clear();
    ctx.print(&total)?;
    if total.accepted == 0 && total.duplicates == 0 {
        anyhow::bail!(
            "{oracle} accepted none of the {} messages sent ({}): check the devices are onboarded on the network this oracle follows (`groundwork device show KEY`) and that the oracle is healthy (`groundwork oracle status`)",
            total.sent,
            total.reasons()
        );
    }
    Ok(())
}

/// Longest `simulate` waits for the oracle to know a device of an existing directory.
const EXISTING_DEVICE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Devices whose onboarding the oracle is asked about before streaming.
const DEVICES_CHECKED_KNOWN: usize = 20;

/// Longest `simulate --generate` waits for the oracle to see its new devices: the oracle
/// follows finalized blocks, about 13 s behind confirmation on a real cluster.
const ORACLE_SEES_ONBOARDING: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until the oracle at `oracle` knows `device` (one of `count` devices to stream), and
/// says so while it waits.
fn wait_until_oracle_knows(
    oracle: &str,
    device: &Pubkey,
    count: usize,
    longest: std::time::Duration,
) -> Result<()> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        let (status, reply) =
            crate::oracle_api::oracle_reply(oracle, &format!("/v1/devices/{device}"))?;
        if status == 200 && reply["onboarded"].as_bool() == Some(true) {
            if said {
                eprintln!(
                    "the oracle knows the new devices after {:.0} s",
                    started.elapsed().as_secs_f64()
                );
            }
            return Ok(());
        }
        if started.elapsed() >= longest {
            anyhow::bail!(
                "{oracle} still does not know the {count} new device(s) {} s after their onboarding (it answers {status} for {device}): is it following this cluster? `groundwork oracle status` shows its chain view",
                longest.as_secs()
            );
        }
        if !said {
            eprintln!("waiting for the oracle at {oracle} to see the {count} new device(s) (it follows finalized blocks)...");
            said = true;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

/// Writes `count` new device keypairs into `directory` and onboards them under the keypair
/// (their operator) in `class`, one per cell of the smallest disk of cells around `centre`
/// that holds them. Everything is checked before the first onboarding is sent.
fn generate_devices(
    ctx: &crate::context::Context,
    directory: &std::path::Path,
    count: u32,
    class: u16,
    centre: u64,
) -> Result<Vec<Pubkey>> {
    use groundwork_client::device_registry as registry;
    use groundwork_client::ledger::read;
    if count == 0 || count > 10_000 {
        anyhow::bail!("--generate takes 1 to 10,000 devices");
    }
    if ctx.send.dry_run || ctx.send.dump_message {
        anyhow::bail!("--generate onboards devices: it cannot run with --dry-run or --dump-transaction-message");
    }
    let operator = ctx.signer()?;
    read::<device_registry::OperatorV0>(
        &ctx.ledger,
        &registry::operator_address(&operator.pubkey()),
    )?
    .with_context(|| {
        format!(
            "keypair {} is not a registered operator: run `groundwork operator register` first",
            operator.pubkey()
        )
    })?;
    let device_class: device_registry::DeviceClassV0 =
        read(&ctx.ledger, &registry::device_class_address(class))?
            .with_context(|| format!("device class {class} does not exist"))?;
    if device_class.maker_attestation_required {
        anyhow::bail!(
            "class {class} ({}) needs a maker's co-signature for each device: onboard them with `groundwork device onboard --maker-keypair`",
            device_class.name
        );
    }
    let needed = device_class
        .onboarding_fee_credits
        .saturating_mul(u64::from(count));
    let held = crate::context::credits_of(ctx, &operator.pubkey())?;
    if held < needed {
        anyhow::bail!(
            "you hold {held} credits, onboarding {count} {} devices needs {needed}: buy with `groundwork credits buy …`",
            device_class.name
        );
    }
    let centre_cell = h3o::CellIndex::try_from(centre)
        .with_context(|| format!("{centre:#x} is not an H3 cell"))?;
    let mut cells: Vec<u64> = Vec::new();
    let mut ring = 0u32;
    while cells.len() < count as usize {
        cells = centre_cell
            .grid_disk::<Vec<_>>(ring)
            .into_iter()
            .map(u64::from)
            .collect();
        ring += 1;
    }
    cells.sort_unstable();
    let mut made = Vec::new();
    std::fs::create_dir_all(directory)
        .with_context(|| format!("creating {}", directory.display()))?;
    for (index, cell) in cells.into_iter().take(count as usize).enumerate() {
        let device = Keypair::new();
        let path = directory.join(format!("sim-device-{}.json", device.pubkey()));
        solana_keypair::write_keypair_file(&device, &path)
            .map_err(|error| anyhow::anyhow!("writing {}: {error}", path.display()))?;
        let instruction = registry::onboard_device(registry::Onboarding {
            payer: operator.pubkey(),
            operator_authority: operator.pubkey(),
            device_key: device.pubkey(),
            class_id: class,
            maker: None,
            location: cell,
        });
        crate::send::submit(&ctx.ledger, &[instruction], &[&operator, &device], ctx.send)
            .with_context(|| format!("onboarding generated device {} of {count}", index + 1))?;
        made.push(device.pubkey());
    }
    Ok(made)
}
