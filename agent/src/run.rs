//! The agent's loop: readings in, signed and journaled (fsync'd once per round for all of the
//! round's readings, then each writer is told its reading's seq), batches out to the oracles,
//! each message resolved by its verdict, backoff while nothing can be sent, `status.json`
//! rewritten every few seconds.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender as ReplyTo};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use groundwork_telemetry::Key;
use serde::Serialize;

use crate::keyfile::DeviceKey;
use crate::outbox::Outbox;
use crate::reading::Reading;
use crate::sender::{now_ms, Sender, Verdict};

/// What the agent is configured with.
pub struct AgentConfig {
    pub device: DeviceKey,
    /// The network id: the registry config address the oracles serve.
    pub network: Key,
    pub oracles: Vec<String>,
    pub data_dir: PathBuf,
    /// Messages per request (the oracles take at most 1,000).
    pub batch_size: usize,
    /// How old a message may be and still be taken: the oracles' `max_message_age` (SPEC
    /// 4.2's default: one slot of verified work). Older messages are dropped unsent.
    pub max_message_age: Duration,
    /// Most messages kept while no oracle takes them; beyond, the oldest are dropped.
    pub max_pending: usize,
}

/// One input event: a reading (or a line that is not one) and where to answer.
pub enum Input {
    Reading {
        reading: Reading,
        reply: Option<ReplyTo<String>>,
    },
    Bad {
        error: String,
        reply: Option<ReplyTo<String>>,
    },
    /// The input ended (standard input closed).
    Closed,
}

/// How the agent is doing, as `status.json` and the final report show it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub device: String,
    pub next_seq: u64,
    /// Readings signed and journaled.
    pub journaled: u64,
    pub accepted: u64,
    pub duplicates: u64,
    /// Messages refused for good, by the oracle's code.
    pub refused: BTreeMap<String, u64>,
    /// Batches cut short by a refusal that may pass later (sent again after a backoff).
    pub retries: u64,
    /// Messages dropped unsent: older than the oracles' age window, or beyond `max_pending`.
    pub dropped_too_old: u64,
    pub dropped_overflow: u64,
    /// Input lines that were not readings.
    pub bad_readings: u64,
    /// Messages journaled and not yet resolved.
    pub pending: usize,
    /// The oracle that answered last.
    pub oracle: Option<String>,
    pub last_error: Option<String>,
    /// The oracle's clock minus this machine's, from its last reply's `Date` (whole seconds).
    pub clock_skew_ms: Option<i64>,
    /// Bytes of a torn journal tail cut when the agent started (a power cut mid-write).
    pub torn_bytes_cut: u64,
}

/// Skew beyond which the agent warns: the oracles take messages at most 60 s ahead.
const CLOCK_WARNING_MS: i64 = 5_000;
/// Readings taken per round.
const READINGS_PER_ROUND: usize = 1_000;
/// Longest a round waits for readings when there is something to send.
const IDLE_WAIT: Duration = Duration::from_millis(100);
/// Messages are dropped this long (at most a tenth of the window) before the oracle would
/// refuse them as too old.
const AGE_MARGIN: Duration = Duration::from_secs(5);
const STATUS_EVERY: Duration = Duration::from_secs(2);

/// Exponential backoff between 1 s and 60 s.
struct Backoff(Duration);

impl Backoff {
    const FIRST: Duration = Duration::from_secs(1);
    const MOST: Duration = Duration::from_secs(60);

    fn next(&mut self) -> Duration {
        let wait = self.0;
        self.0 = (self.0 * 2).min(Self::MOST);
        wait
    }

    fn reset(&mut self) {
        self.0 = Self::FIRST;
    }
}

/// The first seq of a fresh data directory: above the last seq the oracles accepted from this
/// device (a reinstalled gateway, another client) and at least the clock in milliseconds, so
/// a data directory lost later still starts above every seq used before, while the device
/// sends fewer than 1,000 messages a second on average. With no oracle answering, the clock
/// alone (a `stale_seq` refusal later raises the seq above the oracle's).
fn fresh_seq_floor(sender: &Sender, device: &Key) -> u64 {
    let clock = u64::try_from(now_ms()).unwrap_or(0);
    match sender.last_accepted_seq(device) {
        Ok(last) => clock.max(last.map_or(0, |seq| seq + 1)),
        Err(error) => {
            eprintln!("groundwork-agent: starting from the clock's seq: {error}");
            clock
        }
    }
}

/// Holds the data directory for this process (two agents on one directory would hand out the
/// same seqs), and checks it belongs to this device and network.
fn claim_data_dir(config: &AgentConfig) -> Result<std::fs::File> {
    let dir = &config.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let lock = std::fs::File::create(dir.join("LOCK"))
        .with_context(|| format!("creating {}", dir.join("LOCK").display()))?;
    if lock.try_lock().is_err() {
        anyhow::bail!(
            "another groundwork-agent is running on {}: one agent per data directory",
            dir.display()
        );
    }
    let identity = format!("{} {}\n", config.device.key, config.network);
    let path = dir.join("identity");
    match std::fs::read_to_string(&path) {
        Ok(recorded) if recorded != identity => anyhow::bail!(
            "{} belongs to device and network {}, not {}: give each device its own --data-dir",
            dir.display(),
            recorded.trim(),
            identity.trim()
        ),
        Ok(_) => {}
        Err(_) => std::fs::write(&path, identity)
            .with_context(|| format!("writing {}", path.display()))?,
    }
    Ok(lock)
}

/// Runs until `stop` is set, or (with `exit_when_drained`) until the input closed and every
/// journaled message is resolved. Returns the final status.
pub fn run(
    config: AgentConfig,
    input: Receiver<Input>,
    stop: &AtomicBool,
    exit_when_drained: bool,
) -> Result<Status> {
    let _lock = claim_data_dir(&config)?;
    let mut sender = Sender::new(config.oracles.clone())?;
    let fresh = !config.data_dir.join("seq").exists();
    let floor = if fresh {
        fresh_seq_floor(&sender, &config.device.key)
    } else {
        0
    };
    let mut outbox = Outbox::open(
        &config.data_dir,
        config.device.seed,
        config.network,
        config.device.key,
        floor,
    )?;
    let mut status = Status {
        device: config.device.key.to_string(),
        torn_bytes_cut: outbox.torn_bytes_cut,
        ..Status::default()
    };
    let mut backoff = Backoff(Backoff::FIRST);
    let mut next_send = Instant::now();
    let mut next_status = Instant::now();
    let mut input_open = true;
    let margin = AGE_MARGIN.min(config.max_message_age / 10);
    let max_age_ms = i64::try_from(config.max_message_age.saturating_sub(margin).as_millis())
        .unwrap_or(i64::MAX);
    let batch_size = config.batch_size.clamp(1, 1_000);
    while !stop.load(Ordering::SeqCst) {
        // 1. Readings: signed, journaled, made durable together, then acknowledged.
        let now = Instant::now();
        let wait = if outbox.pending().is_empty() {
            IDLE_WAIT
        } else {
            next_send.saturating_duration_since(now).min(IDLE_WAIT)
        };
        let mut acks = Vec::new();
        if input_open {
            let mut first = Some(wait);
            for _ in 0..READINGS_PER_ROUND {
                let event = match first.take() {
                    Some(wait) => match input.recv_timeout(wait) {
                        Ok(event) => event,
                        Err(RecvTimeoutError::Timeout) => break,
                        Err(RecvTimeoutError::Disconnected) => Input::Closed,
                    },
                    None => match input.try_recv() {
                        Ok(event) => event,
                        Err(std::sync::mpsc::TryRecvError::Empty) => break,
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => Input::Closed,
                    },
                };
                match event {
                    Input::Reading { reading, reply } => {
                        let timestamp_ms = reading.timestamp_ms.unwrap_or_else(now_ms);
                        let seq = outbox.append(timestamp_ms, reading.body)?;
                        status.journaled += 1;
                        acks.push((reply, format!("{{\"seq\":{seq}}}")));
                    }
                    Input::Bad { error, reply } => {
                        status.bad_readings += 1;
                        acks.push((
                            reply,
                            serde_json::json!({ "error": "bad_reading", "message": error })
                                .to_string(),
                        ));
                    }
                    Input::Closed => {
                        input_open = false;
                        break;
                    }
                }
            }
        } else {
            std::thread::sleep(wait);
        }
        outbox.sync()?;
        for (reply, line) in acks {
            if let Some(reply) = reply {
                let _ = reply.send(line);
            }
        }
        let excess = outbox.pending().len().saturating_sub(config.max_pending);
        if excess > 0 {
            outbox.resolve_front(excess)?;
            status.dropped_overflow += excess as u64;
        }

        // 2. A batch out, when one is due.
        if !outbox.pending().is_empty() && Instant::now() >= next_send {
            status.dropped_too_old += outbox.drop_older_than(now_ms() - max_age_ms)? as u64;
            let batch: Vec<_> = outbox.pending().iter().take(batch_size).collect();
            if !batch.is_empty() {
                match sender.send(&batch) {
                    Ok(reply) => {
                        status.oracle = Some(reply.oracle.clone());
                        if let Some(skew) = reply.clock_skew_ms {
                            if skew.abs() > CLOCK_WARNING_MS
                                && status
                                    .clock_skew_ms
                                    .is_none_or(|old| (old - skew).abs() > 1_000)
                            {
                                eprintln!("groundwork-agent: this machine's clock is {} ms behind the oracle's (a positive number) or ahead (negative): messages more than 60 s ahead or older than the age window are refused; run NTP", skew);
                            }
                            status.clock_skew_ms = Some(skew);
                        }
                        let mut resolved = 0;
                        let mut retry = None;
                        let mut stale = false;
                        for verdict in reply.verdicts {
                            match verdict {
                                Verdict::Accepted => status.accepted += 1,
                                Verdict::Duplicate => status.duplicates += 1,
                                Verdict::Refused(code) => {
                                    stale |= code == "stale_seq";
                                    *status.refused.entry(code).or_default() += 1
                                }
                                Verdict::RetryLater(code) => {
                                    retry = Some(code);
                                    break;
                                }
                            }
                            resolved += 1;
                        }
                        outbox.resolve_front(resolved)?;
                        if stale {
                            // An oracle holds a later seq of this device than this directory
                            // knows: the next readings go above it.
                            if let Ok(Some(last)) = sender.last_accepted_seq(&config.device.key) {
                                outbox.raise_next_seq(last + 1);
                            }
                        }
                        match retry {
                            Some(code) => {
                                sender.prefer_next();
                                status.retries += 1;
                                status.last_error = Some(format!("{code}: will send again"));
                                next_send = Instant::now() + backoff.next();
                            }
                            None => {
                                backoff.reset();
                                next_send = Instant::now();
                            }
                        }
                    }
                    Err(unreachable) => {
                        status.last_error = Some(unreachable.to_string());
                        next_send = Instant::now() + backoff.next();
                    }
                }
            }
        }
        if Instant::now() >= next_status {
            status.pending = outbox.pending().len();
            status.next_seq = outbox.next_seq();
            write_status(&config.data_dir, &status)?;
            next_status = Instant::now() + STATUS_EVERY;
        }
        if exit_when_drained && !input_open && outbox.pending().is_empty() {
            break;
        }
    }
    outbox.sync()?;
    status.pending = outbox.pending().len();
    status.next_seq = outbox.next_seq();
    write_status(&config.data_dir, &status)?;
    Ok(status)
}

/// Replaces `status.json` (rename: a reader never sees half of one).
fn write_status(dir: &std::path::Path, status: &Status) -> Result<()> {
    let temporary = dir.join("status.json.new");
    std::fs::write(&temporary, serde_json::to_vec_pretty(status)?)?;
    std::fs::rename(&temporary, dir.join("status.json")).context("writing status.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_a_minute_and_resets() {
        let mut backoff = Backoff(Backoff::FIRST);
        let waits: Vec<u64> = (0..8).map(|_| backoff.next().as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        backoff.reset();
        assert_eq!(backoff.next().as_secs(), 1);
    }
}
