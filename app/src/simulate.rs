//! Simulated devices: each signs telemetry with its own key and streams it to an oracle —
//! heartbeats around its asserted cell, data sessions, beacons and witnesses of its
//! neighbours' beacons — and a few cheaters do what SPEC 4.3 catches: one teleports between
//! its cell and a place 500 km away, one has a cloned key that reuses its sequence numbers.
//! Every reply is tallied by status and reason.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
use groundwork_oracle::core::clock::{Clock, SystemClock};
use groundwork_telemetry::{encode_binary_batch, Key, SignedTelemetry, TelemetryBody, TelemetryV1};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// How a simulated device behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Behaviour {
    Honest,
    /// Alternates heartbeats between its cell and a place 500 km away.
    Teleporter,
    /// A cloned key: a second box signs different messages under the same sequence numbers.
    Cloned,
}

/// One simulated device.
pub struct SimulatedDevice {
    pub keypair: Keypair,
    /// Centre of its asserted cell, in 1e-7 degrees.
    pub lat_e7: i32,
    pub lon_e7: i32,
    pub behaviour: Behaviour,
    next_seq: u64,
    rounds: u64,
    started_ms: i64,
}

/// Degrees in 1e-7 units.
fn e7(degrees: f64) -> i32 {
    // Latitudes and longitudes are within +-180 degrees: far inside i32 at 1e-7.
    (degrees * 1e7).round() as i32
}

/// The centre of an H3 cell, in 1e-7 degrees.
pub fn cell_centre_e7(cell: u64) -> Result<(i32, i32)> {
    let index =
        h3o::CellIndex::try_from(cell).with_context(|| format!("{cell:#x} is not an H3 cell"))?;
    let centre = h3o::LatLng::from(index);
    Ok((e7(centre.lat()), e7(centre.lng())))
}

impl SimulatedDevice {
    pub fn new(keypair: Keypair, cell: u64, behaviour: Behaviour, now_ms: i64) -> Result<Self> {
        let (lat_e7, lon_e7) = cell_centre_e7(cell)?;
        Ok(SimulatedDevice {
            keypair,
            lat_e7,
            lon_e7,
            behaviour,
            // Sequence numbers start at the clock so a restarted simulation stays increasing.
            next_seq: u64::try_from(now_ms).unwrap_or(0),
            rounds: 0,
            started_ms: now_ms,
        })
    }

    pub fn key(&self) -> Pubkey {
        self.keypair.pubkey()
    }

    fn seed(&self) -> [u8; 32] {
        *self.keypair.secret_bytes()
    }

    fn message(&mut self, network: Key, now_ms: i64, body: TelemetryBody) -> SignedTelemetry {
        // Sequence numbers follow the clock in microseconds, so another simulation of the same
        // keys (started earlier or later) never reuses one.
        let clock_seq = u64::try_from(now_ms).unwrap_or(0).saturating_mul(1_000);
        let seq = self.next_seq.max(clock_seq);
        self.next_seq = seq + 1;
        TelemetryV1 {
            network,
            device: Key(self.key().to_bytes()),
            seq,
            timestamp_ms: now_ms,
            body,
        }
        .sign(&self.seed())
    }

    /// This round's messages: a heartbeat (every round), a data session (every third), a
    /// beacon (every fourth); a cheater's extra or altered messages.
    pub fn round(&mut self, network: Key, now_ms: i64) -> Vec<SignedTelemetry> {
        self.rounds += 1;
        let uptime_s = u32::try_from((now_ms - self.started_ms) / 1_000).unwrap_or(u32::MAX);
        // Honest jitter: a few metres around the cell centre.
        let jitter = i32::try_from(self.rounds % 7).unwrap_or(0) * 30 - 90;
        let (lat_e7, lon_e7) = match self.behaviour {
            Behaviour::Teleporter if self.rounds.is_multiple_of(2) => {
                (self.lat_e7 + 45_000_000, self.lon_e7)
            }
            _ => (self.lat_e7 + jitter, self.lon_e7 - jitter),
        };
        let heartbeat = TelemetryBody::Heartbeat {
            lat_e7,
            lon_e7,
            uptime_s,
            firmware: 10_203,
        };
        let mut messages = vec![self.message(network, now_ms, heartbeat)];
        if self.behaviour == Behaviour::Cloned {
            // The clone signs a different heartbeat under the sequence just used.
            let mut copy = messages[0].message.clone();
            copy.body = TelemetryBody::Heartbeat {
                lat_e7: self.lat_e7 - 5_000,
                lon_e7: self.lon_e7 + 5_000,
                uptime_s: uptime_s / 2,
                firmware: 10_203,
            };
            messages.push(copy.sign(&self.seed()));
        }
        if self.rounds.is_multiple_of(3) {
            let session = TelemetryBody::DataSession {
                payer: Key([0; 32]),
                bytes_up: 4_096 * self.rounds,
                bytes_down: 65_536 * self.rounds,
                session_id: self.rounds,
            };
            messages.push(self.message(network, now_ms, session));
        }
        if self.rounds.is_multiple_of(4) {
            let mut nonce = [0u8; 16];
            nonce[..8].copy_from_slice(&self.rounds.to_le_bytes());
            let beacon = TelemetryBody::Beacon {
                frequency_hz: 868_100_000,
                nonce,
            };
            messages.push(self.message(network, now_ms, beacon));
        }
        messages
    }

    /// A witness of `beacon` (another device's beacon message).
    pub fn witness(
        &mut self,
        network: Key,
        now_ms: i64,
        beacon: &SignedTelemetry,
    ) -> SignedTelemetry {
        let body = TelemetryBody::Witness {
            beacon_device: beacon.message.device,
            beacon_seq: beacon.message.seq,
            rssi_dbm: -92,
            snr_db_e1: 55,
            frequency_hz: 868_100_000,
        };
        self.message(network, now_ms, body)
    }
}

/// One round of every device's messages (see [`SimulatedDevice::round`]), plus a witness of
/// each beacon by the next device in the list (a beacon heard by its neighbour).
pub fn round_with_witnesses(
    devices: &mut [SimulatedDevice],
    network: Key,
    now_ms: i64,
) -> Vec<SignedTelemetry> {
    let mut messages: Vec<SignedTelemetry> = devices
        .iter_mut()
        .flat_map(|device| device.round(network, now_ms))
        .collect();
    let count = devices.len();
    if count < 2 {
        return messages;
    }
    let beacons: Vec<(usize, SignedTelemetry)> = messages
        .iter()
        .filter(|message| matches!(message.message.body, TelemetryBody::Beacon { .. }))
        .filter_map(|beacon| {
            let position = devices
                .iter()
                .position(|device| device.key().to_bytes() == beacon.message.device.0)?;
            Some((position, beacon.clone()))
        })
        .collect();
    for (position, beacon) in beacons {
        let witness = &mut devices[(position + 1) % count];
        messages.push(witness.witness(network, now_ms, &beacon));
    }
    messages
}

/// Replies to simulated telemetry, by status and reason.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Tally {
    pub sent: u64,
    pub accepted: u64,
    pub duplicates: u64,
    /// Rejections by error code.
    pub rejected: BTreeMap<String, u64>,
    /// Devices with at least one accepted message.
    #[serde(skip)]
    pub heard: std::collections::BTreeSet<[u8; 32]>,
}

impl Tally {
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    pub fn devices_heard(&self) -> u64 {
        self.heard.len() as u64
    }

    pub fn add(&mut self, other: &Tally) {
        self.heard.extend(other.heard.iter().copied());
        self.sent += other.sent;
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        for (code, count) in &other.rejected {
            *self.rejected.entry(code.clone()).or_default() += count;
        }
    }

    /// "code: n, code: n" of the rejections.
    pub fn reasons(&self) -> String {
        if self.rejected.is_empty() {
            return "-".into();
        }
        self.rejected
            .iter()
            .map(|(code, count)| format!("{code}: {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} devices heard; sent {}, accepted {}, duplicates {}, rejected {} ({})",
            self.devices_heard(),
            self.sent,
            self.accepted,
            self.duplicates,
            self.rejected_total(),
            self.reasons()
        )
    }
}

/// Most messages per request: 1,000 in the binary form (SPEC 4.1); 500 in JSON, whose 1,000
/// heartbeats would exceed the 256 KiB body limit.
const MAX_BINARY_BATCH: usize = 1_000;
const MAX_JSON_BATCH: usize = 500;

/// Posts `messages` to the oracle at `oracle_url` in batches (JSON, or the binary form) and
/// tallies the replies. A message refused as a whole request counts under the request's code.
pub async fn post(
    client: &reqwest::Client,
    oracle_url: &str,
    messages: &[SignedTelemetry],
    binary: bool,
) -> Result<Tally> {
    let mut tally = Tally::default();
    let url = format!("{}/v1/telemetry", oracle_url.trim_end_matches('/'));
    let batch_size = if binary {
        MAX_BINARY_BATCH
    } else {
        MAX_JSON_BATCH
    };
    for batch in messages.chunks(batch_size) {
        let request = if binary {
            client
                .post(&url)
                .header(
                    "content-type",
                    "application/vnd.groundwork.telemetry-v1+borsh",
                )
                .body(encode_binary_batch(batch))
        } else {
            let body = format!(
                "[{}]",
                batch
                    .iter()
                    .map(SignedTelemetry::to_json)
                    .collect::<Vec<_>>()
                    .join(",")
            );
            client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
        };
        let reply = request
            .send()
            .await
            .with_context(|| format!("posting telemetry to {url}"))?;
        let status = reply.status();
        let body: serde_json::Value = reply
            .json()
            .await
            .with_context(|| format!("reading the reply of {url}"))?;
        tally.sent += batch.len() as u64;
        match body["results"].as_array() {
            Some(results) => {
                for (message, result) in batch.iter().zip(results) {
                    match result["status"].as_str() {
                        Some("accepted") => {
                            tally.accepted += 1;
                            tally.heard.insert(message.message.device.0);
                        }
                        Some("duplicate") => tally.duplicates += 1,
                        _ => {
                            let code = result["error"].as_str().unwrap_or("unknown").to_string();
                            *tally.rejected.entry(code).or_default() += 1;
                        }
                    }
                }
            }
            None => {
                let code = body["error"]
                    .as_str()
                    .map_or_else(|| format!("http_{}", status.as_u16()), str::to_string);
                *tally.rejected.entry(code).or_default() += batch.len() as u64;
            }
        }
    }
    Ok(tally)
}

/// `groundwork simulate`: what to stream, where, how fast and for how long.
#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The oracle's base URL (its `POST /v1/telemetry` receives the messages).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub oracle: String,
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
    if let Some(count) = args.generate {
        let cell = crate::registry_cmd::cell_of(&crate::registry_cmd::LocationArgs {
            cell: args.cell.clone(),
            lat: None,
            lon: None,
            resolution: 12,
        })?;
        let made = generate_devices(ctx, &args.device_keypairs, count, args.class, cell)?;
        eprintln!(
            "onboarded {made} new device(s); their keys are in {}",
            args.device_keypairs.display()
        );
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
            Some(device) => devices.push(SimulatedDevice::new(
                keypair,
                device.location,
                Behaviour::Honest,
                now_ms,
            )?),
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
    if ctx.output != crate::Output::Display {
        progress.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut total = Tally::default();
    for _ in 0..rounds {
        let started = std::time::Instant::now();
        let messages = round_with_witnesses(&mut devices, network, SystemClock.now_ms());
        let tally = runtime.block_on(post(&client, &args.oracle, &messages, args.binary))?;
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
    ctx.print(&total)
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
) -> Result<u32> {
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
    let held = crate::registry_cmd::credits_of(ctx, &operator.pubkey())?;
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
    }
    Ok(count)
}
