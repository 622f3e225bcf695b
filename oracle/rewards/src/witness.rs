//! Proof of coverage (SPEC 4.3 "Witness factor", "Invalid witness reports"): which witness
//! reports hold, and how many devices of other operators heard each device's beacons.
//!
//! A witness report is judged against facts its sender cannot know — whether the beacon
//! reached the epoch's input, whether its sender was active, where its sender asserted itself
//! — so a report that does not hold is dropped with its reason, never punished: a device that
//! beacons and withholds its report, or asserts a cell beside its neighbours, cannot zero the
//! devices that heard it. A valid report vouches for the beaconing device only when its
//! sender belongs to another operator and is not zeroed itself (no fraud, and a coverage score
//! of its own: a device that proves no coverage proves none for others); each witness counts
//! once per beaconing device, and a witness's reports vouch for at most `max_witnessed`
//! beaconing devices of other operators, chosen by a hash of (epoch, witness, beaconer) — an
//! order no beaconer can steer, so nobody can fill an honest witness's places with cheap
//! devices beaconing early. Everything here depends only on the set of messages, never on
//! their order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use borsh::{BorshDeserialize, BorshSerialize};
use groundwork_program_math::BPS;
use groundwork_telemetry::Key;
use h3o::Resolution;
use sha2::{Digest, Sha256};

use crate::geo::{cell_centre, distance_m, parent};
use crate::snapshot::{DeviceEntry, Standing};
use crate::{cell_at, standing_at, DeviceRow, VerifyParams};

/// `[verify.witnesses]`: the witness factor's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct WitnessParams {
    /// Off for networks whose devices do not beacon: every device's factor is then 1.0.
    pub enabled: bool,
    /// Distinct witnesses of other operators a device's beacons need for full coverage.
    pub min_witnesses: u32,
    /// The factor of a device whose beacons were not witnessed by enough of them.
    pub unverified_bps: u64,
    /// Beaconing devices one device's witness reports count toward in an epoch.
    pub max_witnessed: u32,
}

impl Default for WitnessParams {
    fn default() -> Self {
        WitnessParams {
            enabled: true,
            min_witnesses: 1,
            unverified_bps: 2_500,
            max_witnessed: 16,
        }
    }
}

/// A device's witness reports that were dropped, by reason (never a fraud: a witness cannot
/// know these facts).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DroppedReports {
    /// The beacon is not in the epoch's input (its sender withheld it, or never sent it).
    pub beacon_not_in_input: u32,
    /// Its sender was not active (suspended) when it beaconed.
    pub beaconer_not_active: u32,
    /// The two devices' asserted cells lie more than `witness_max_m` apart.
    pub too_far: u32,
    /// The two devices' asserted cells lie inside one resolution-11 cell.
    pub too_close: u32,
    /// Timestamped before the beacon it reports.
    pub before_beacon: u32,
    /// Valid, but for a beaconing device beyond the first `max_witnessed` it heard.
    pub over_max_witnessed: u32,
}

impl DroppedReports {
    pub fn total(&self) -> u32 {
        self.beacon_not_in_input
            .saturating_add(self.beaconer_not_active)
            .saturating_add(self.too_far)
            .saturating_add(self.too_close)
            .saturating_add(self.before_beacon)
            .saturating_add(self.over_max_witnessed)
    }

    /// Each non-zero reason, in plain words.
    pub fn explain(&self) -> Vec<String> {
        let reasons = [
            (
                self.beacon_not_in_input,
                "of a beacon that is not in the epoch's input (its sender did not report it)",
            ),
            (
                self.beaconer_not_active,
                "of a device that was not active when it beaconed",
            ),
            (
                self.too_far,
                "of a device asserted too far away to be heard",
            ),
            (
                self.too_close,
                "of a device asserted in the same resolution-11 cell",
            ),
            (
                self.before_beacon,
                "timestamped before the beacon it reports",
            ),
            (
                self.over_max_witnessed,
                "beyond the beaconing devices one witness may vouch for in an epoch",
            ),
        ];
        reasons
            .into_iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, reason)| format!("{count} {reason}"))
            .collect()
    }
}

/// A witness report, kept until every device's beacons are known.
pub(crate) struct WitnessClaim {
    pub witness: Key,
    pub reported_at: i64,
    pub beacon_device: Key,
    pub beacon_seq: u64,
}

/// Settles the epoch's witness reports: counts each device's dropped reports, its distinct
/// witnesses and the beaconing devices its reports vouched for, and sets every row's witness
/// factor. `rows` must carry every fraud already (a zeroed witness vouches for nobody);
/// `beacons` maps each beacon in the input to its timestamp.
pub(crate) fn settle(
    epoch: u64,
    rows: &mut BTreeMap<Key, DeviceRow>,
    devices: &BTreeMap<Key, &DeviceEntry>,
    claims: &[WitnessClaim],
    beacons: &HashMap<(Key, u64), i64>,
    params: &VerifyParams,
) {
    let witness_params = params.witnesses;
    // Valid reports per witness and beaconing device.
    let mut valid_reports: BTreeMap<Key, BTreeMap<Key, u32>> = BTreeMap::new();
    for claim in claims {
        let Some(row) = rows.get_mut(&claim.witness) else {
            continue;
        };
        match judge(claim, devices, beacons, params) {
            Ok(()) => {
                *valid_reports
                    .entry(claim.witness)
                    .or_default()
                    .entry(claim.beacon_device)
                    .or_default() += 1;
            }
            Err(reason) => {
                let dropped = &mut row.witness_reports_dropped;
                let count = match reason {
                    Drop::BeaconNotInInput => &mut dropped.beacon_not_in_input,
                    Drop::BeaconerNotActive => &mut dropped.beaconer_not_active,
                    Drop::TooFar => &mut dropped.too_far,
                    Drop::TooClose => &mut dropped.too_close,
                    Drop::BeforeBeacon => &mut dropped.before_beacon,
                };
                *count = count.saturating_add(1);
            }
        }
    }
    let mut witnesses_of: BTreeMap<Key, BTreeSet<Key>> = BTreeMap::new();
    for (witness, reports) in &valid_reports {
        let row = rows.get_mut(witness).expect("only rows' reports are kept");
        // A zeroed witness, or one without coverage of its own, vouches for nobody.
        if !row.fraud.is_empty() || row.coverage_score == 0 {
            continue;
        }
        let operator = devices.get(witness).map(|entry| entry.operator);
        // Beaconing devices of other operators, in an order no beaconer can steer.
        let mut candidates: Vec<([u8; 32], Key)> = reports
            .keys()
            .filter(|beaconer| {
                operator.is_some() && devices.get(*beaconer).map(|entry| entry.operator) != operator
            })
            .map(|beaconer| (place_order(epoch, witness, beaconer), *beaconer))
            .collect();
        candidates.sort_unstable();
        let cap = witness_params.max_witnessed as usize;
        let (counted, beyond) = candidates.split_at(candidates.len().min(cap));
        row.witness_reports_dropped.over_max_witnessed =
            beyond.iter().map(|(_, beaconer)| reports[beaconer]).sum();
        row.witnessed_devices = counted.len() as u32;
        for (_, beaconer) in counted {
            witnesses_of.entry(*beaconer).or_default().insert(*witness);
        }
    }
    for (key, row) in rows.iter_mut() {
        let witnesses = witnesses_of.get(key).map_or(0, BTreeSet::len) as u32;
        row.witnesses = witnesses;
        row.witness_factor_bps =
            if !witness_params.enabled || witnesses >= witness_params.min_witnesses {
                BPS
            } else {
                witness_params.unverified_bps
            };
    }
}

/// Where `beaconer` stands in `witness`'s places of `epoch`: SHA-256 over the three, so the
/// choice under `max_witnessed` is fixed by who they are, not by anything a beaconer signs.
fn place_order(epoch: u64, witness: &Key, beaconer: &Key) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"groundwork-witness-place");
    hasher.update(epoch.to_le_bytes());
    hasher.update(witness.0);
    hasher.update(beaconer.0);
    hasher.finalize().into()
}

/// Why a witness report does not hold.
enum Drop {
    BeaconNotInInput,
    BeaconerNotActive,
    TooFar,
    TooClose,
    BeforeBeacon,
}

/// Whether the report holds; why not otherwise. Both devices' cells are the ones asserted
/// when the beacon was sent.
fn judge(
    claim: &WitnessClaim,
    devices: &BTreeMap<Key, &DeviceEntry>,
    beacons: &HashMap<(Key, u64), i64>,
    params: &VerifyParams,
) -> Result<(), Drop> {
    let beaconed_at = *beacons
        .get(&(claim.beacon_device, claim.beacon_seq))
        .ok_or(Drop::BeaconNotInInput)?;
    if claim.reported_at < beaconed_at {
        return Err(Drop::BeforeBeacon);
    }
    // A beacon is in the input only for a device the snapshot knows.
    let beaconer = devices
        .get(&claim.beacon_device)
        .ok_or(Drop::BeaconNotInInput)?;
    if standing_at(beaconer, beaconed_at) != Standing::Active {
        return Err(Drop::BeaconerNotActive);
    }
    let witness = devices.get(&claim.witness).ok_or(Drop::BeaconNotInInput)?;
    let (Some(here), Some(there)) = (
        cell_at(witness, beaconed_at),
        cell_at(beaconer, beaconed_at),
    ) else {
        return Err(Drop::TooFar);
    };
    let here_parent = parent(here, Resolution::Eleven);
    if here == there || (here_parent.is_some() && here_parent == parent(there, Resolution::Eleven))
    {
        return Err(Drop::TooClose);
    }
    match (cell_centre(here), cell_centre(there)) {
        (Some(a), Some(b)) if distance_m(a, b) <= params.witness_max_m => Ok(()),
        _ => Err(Drop::TooFar),
    }
}
