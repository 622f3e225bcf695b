//! The local network's oracles, run in this process: each one's configuration (the oracle's
//! local configuration — `OracleConfig::local`, shared with the oracle's tests — with its
//! peers, its vote key and verified work's slots fitted to the localnet's epochs), its start on a thread of its own (waiting until it answers), and their shared log.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::world::TELEMETRY_ROUND;

/// One of the local network's oracles: where it listens, keeps its data, its vote key and
/// the other oracles it merges telemetry with.
pub(super) struct LocalOracle {
    pub(super) port: u16,
    pub(super) data_dir: PathBuf,
    pub(super) keypair: PathBuf,
    pub(super) peers: Vec<String>,
    /// This one also activates roots once their challenge period ends.
    pub(super) activates_roots: bool,
    /// Recipients this one claims for.
    pub(super) relays_for: Vec<groundwork_telemetry::Key>,
    /// Whether it votes at all.
    pub(super) votes: bool,
    /// The folder its epoch bundles are published into (emptied at start, with its data).
    pub(super) bundles: PathBuf,
}

/// Delegated stake per device that earns the full +50% stake multiplier on the localnet:
/// the first staker's 25,000 tokens over three devices earn about +42%.
pub(super) const FULL_BONUS_STAKE_PER_DEVICE: u64 = 10_000_000_000;

/// Starts an oracle (ingest, chain view, verify with shared input, submit) beside the local
/// network (its embedded store in its data directory, epochs sealed `seal_grace` after their
/// end), and waits until it answers.
pub(super) fn start_oracle(
    rpc_url: &str,
    oracle: &LocalOracle,
    epoch_length: Duration,
    seal_grace: Duration,
    stop: Arc<AtomicBool>,
) -> Result<(String, std::thread::JoinHandle<Result<()>>)> {
    let (port, data_dir) = (oracle.port, oracle.data_dir.as_path());
    let registry = groundwork_client::device_registry::registry_config_address();
    let mut config = groundwork_oracle::config::OracleConfig::local(
        groundwork_telemetry::Key(registry.to_bytes()),
        rpc_url,
        port,
        data_dir,
    );
    config.network.device_refresh = Duration::from_secs(2);
    config.network.seal_grace = seal_grace;
    // The simulated devices send a heartbeat every telemetry round: an epoch has that many
    // slots (at most SPEC's 48), and a device needs a quarter of them (SPEC: 12 of 48).
    let rounds = (epoch_length.as_secs() / TELEMETRY_ROUND.as_secs()).clamp(1, 48);
    config.verify.slots_per_epoch = u32::try_from(rounds).unwrap_or(48);
    config.verify.min_uptime_slots = (config.verify.slots_per_epoch / 4).max(1);
    // The stake multiplier on: the first operator's delegated stake (a staker's whole
    // position, over its three devices) earns its devices up to 1.5x, and its pool the added
    // part less the operator's commission.
    config.verify.stake_multiplier = Some(groundwork_oracle_rewards::StakeMultiplier {
        max_bonus_bps: 5_000,
        full_bonus_stake_per_device: FULL_BONUS_STAKE_PER_DEVICE,
    });
    // Each device reports to one oracle: every epoch is computed over the three sets.
    config.shared_input.peers = oracle.peers.clone();
    config.shared_input.pull_every = Duration::from_secs(1);
    config.shared_input.peer_wait = epoch_length;
    config.shared_input.timeout = Duration::from_secs(10);
    // Pulls are signed with the oracle's key (also when it does not vote).
    config.shared_input.keypair = Some(oracle.keypair.clone());
    config.submit = oracle
        .votes
        .then(|| groundwork_oracle::config::SubmitConfig {
            priority_fee_floor: 0,
            priority_fee_ceiling: 100_000,
            activate_roots: oracle.activates_roots,
            relay_claims_for: oracle.relays_for.clone(),
            ..groundwork_oracle::config::SubmitConfig::with_keypair(oracle.keypair.clone())
        });
    config.publish.url = format!("file://{}", oracle.bundles.display());
    // A fresh chain: the previous run's telemetry and bundles belong to another network's
    // history.
    for dir in [data_dir, oracle.bundles.as_path()] {
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
    }
    // Its configuration as a file: what `groundwork rewards verify-epoch --params` pins a
    // bundle's [verify] parameters to, and what an oracle started by hand would read.
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let config_file = data_dir.join("oracle.toml");
    std::fs::write(&config_file, config.to_toml()?)
        .with_context(|| format!("writing {}", config_file.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let handle = std::thread::Builder::new()
        .name(format!("groundwork-localnet-oracle-{port}"))
        .spawn(move || {
            runtime.block_on(groundwork_oracle::service::serve(config, async move {
                while !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }))
        })?;
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if handle.is_finished() {
            break;
        }
        if oracle_is_healthy(port) {
            return Ok((url, handle));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if handle.is_finished() {
        return match handle.join() {
            Ok(Err(error)) => Err(error.context(format!(
                "starting the oracle on 127.0.0.1:{port} (pass --oracle-port to use another)"
            ))),
            _ => bail!("the oracle stopped while starting"),
        };
    }
    bail!("the oracle did not answer at {url} within 10 s")
}

/// A port on 127.0.0.1 nobody listens on right now.
pub(super) fn free_local_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Whether our oracle answers `GET /healthz` on `port` (and not some other server).
fn oracle_is_healthy(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.split_whitespace().nth(1) == Some("200") && reply.contains("\"devices\"")
}

/// Sends the in-process oracle's tracing (level from RUST_LOG, default info) to `log`,
/// appended across runs.
pub(super) fn log_oracle_to(log: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init()
        .map_err(|error| anyhow::anyhow!("setting up the oracle's log: {error}"))
}
