//! Simulated devices: each signs telemetry with its own key and streams it to an oracle —
//! heartbeats around its asserted cell, data sessions, beacons and witnesses of its
//! neighbours' beacons — and a few cheaters do what SPEC 4.3 catches: one teleports between
//! its cell and a place 500 km away, one has a cloned key that reuses its sequence numbers.
//! Every reply is tallied by status and reason.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context as _, Result};
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
    /// Its operator, when known: beacons are witnessed by devices of other operators (proof
    /// of coverage counts only those).
    pub operator: Option<Pubkey>,
    next_seq: u64,
    rounds: u64,
    started_ms: i64,
    /// Beacon in the next round whatever its number (see [`SimulatedDevice::beacon_next_round`]).
    beacon_due: bool,
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
            operator: None,
            // Sequence numbers start at the clock so a restarted simulation stays increasing.
            next_seq: u64::try_from(now_ms).unwrap_or(0),
            rounds: 0,
            started_ms: now_ms,
            beacon_due: false,
        })
    }

    pub fn key(&self) -> Pubkey {
        self.keypair.pubkey()
    }

    /// The device, of `operator`.
    pub fn of_operator(mut self, operator: Pubkey) -> Self {
        self.operator = Some(operator);
        self
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

    /// Makes the next round carry a beacon whatever its number: a caller that knows where
    /// epochs start asks for one at each start, so every epoch holds beacons to witness
    /// however few rounds fit in it.
    pub fn beacon_next_round(&mut self) {
        self.beacon_due = true;
    }

    /// This round's messages: a heartbeat (every round), a data session (every third), a
    /// beacon (every fourth, or when asked for by [`SimulatedDevice::beacon_next_round`]); a
    /// cheater's extra or altered messages.
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
        if self.beacon_due || self.rounds.is_multiple_of(4) {
            self.beacon_due = false;
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
/// each beacon by a device of another operator (see [`witness_for`]).
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
        let witness = &mut devices[witness_for(devices, position)];
        messages.push(witness.witness(network, now_ms, &beacon));
    }
    messages
}

/// Who hears device `position`'s beacons: among the devices of other operators (in list
/// order), the one at `position` modulo their count — so each operator's devices are heard by
/// different devices of the others; the next device in the list when no other operator's
/// device is known. `devices` holds at least two.
pub fn witness_for(devices: &[SimulatedDevice], position: usize) -> usize {
    let operator = devices[position].operator;
    let others: Vec<usize> = devices
        .iter()
        .enumerate()
        .filter(|(_, device)| {
            operator.is_some() && device.operator.is_some() && device.operator != operator
        })
        .map(|(index, _)| index)
        .collect();
    if others.is_empty() {
        return (position + 1) % devices.len();
    }
    others[position % others.len()]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn devices_of(operators: &[u8]) -> Vec<SimulatedDevice> {
        operators
            .iter()
            .map(|operator| {
                let cell = h3o::LatLng::new(37.7749, -122.4194)
                    .unwrap()
                    .to_cell(h3o::Resolution::Twelve);
                SimulatedDevice::new(Keypair::new(), u64::from(cell), Behaviour::Honest, 0)
                    .unwrap()
                    .of_operator(Pubkey::new_from_array([*operator; 32]))
            })
            .collect()
    }

    #[test]
    fn beacons_are_witnessed_by_devices_of_other_operators() {
        // Three operators of three devices, as the localnet's world.
        let devices = devices_of(&[1, 1, 1, 2, 2, 2, 3, 3, 3]);
        let witnesses: Vec<usize> = (0..9)
            .map(|position| witness_for(&devices, position))
            .collect();
        assert_eq!(witnesses, [3, 4, 5, 6, 7, 8, 0, 1, 2]);
        for (position, witness) in witnesses.iter().enumerate() {
            assert_ne!(devices[position].operator, devices[*witness].operator);
        }
        // One operator only: the next device.
        let alone = devices_of(&[1, 1, 1]);
        assert_eq!(
            (0..3)
                .map(|position| witness_for(&alone, position))
                .collect::<Vec<_>>(),
            [1, 2, 0]
        );
    }
}
