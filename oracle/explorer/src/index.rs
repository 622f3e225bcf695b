//! The explorer's index: what its pages read, made once per verified epoch from the stored
//! report and the chain snapshot it was computed over — never per request.
//!
//! - [`EpochSummary`]: one verified epoch's numbers (what the chain minted and split, what
//!   credit purchases burned, the pool, what was paid, the devices by standing, each
//!   operator's totals). Kept for the newest [`SUMMARY_EPOCHS`] epochs; an epoch's summary
//!   is made again only when its report file changes (a recompute after a veto).
//! - [`Newest`]: the newest verified epoch's devices with their standing, position and
//!   operator, the clusters the map draws when zoomed out (one table per H3 resolution up
//!   to [`MAX_CLUSTER_RESOLUTION`]) and the sorted keys the search box matches.
//!
//! Positions here are for drawing only (floating-point degrees); no reward depends on them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_rewards::report::EpochReport;
use groundwork_oracle_rewards::snapshot::ChainSnapshot;
use groundwork_oracle_rewards::{DeviceRow, VerifyParams};
use h3o::{CellIndex, LatLng, Resolution};

/// Verified epochs the network page and the operator pages cover.
pub const SUMMARY_EPOCHS: usize = 24;
/// The finest H3 resolution the map aggregates devices at; closer in it draws them one by one.
pub const MAX_CLUSTER_RESOLUTION: u8 = 9;
/// Most devices one map answer draws one by one, and most clusters it draws.
pub const MAX_MAP_DEVICES: usize = 2_000;
pub const MAX_MAP_CLUSTERS: usize = 4_000;
/// Most devices listed on an operator's or a recipient's page (the totals count them all).
pub const MAX_LISTED_DEVICES: usize = 500;
/// Most keys a search answers with.
pub const MAX_SEARCH_RESULTS: usize = 20;
/// The shortest prefix a search matches keys by.
pub const MIN_SEARCH_PREFIX: usize = 3;

const FULL_BPS: u64 = 10_000;

/// What a device's newest verified epoch made of it: the map's colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Earned, its coverage proven (or witnesses not required).
    Earned,
    /// Witnesses of other operators did not prove all of its coverage: it earned less, or
    /// nothing.
    UnverifiedCoverage,
    /// Earned nothing without breaking a rule: too few slots seen, or no heartbeat near its
    /// asserted cell.
    NoCoverage,
    /// A fraud rule zeroed it (the first rule it broke).
    Zeroed(&'static str),
    /// Its class earns nothing (reward weight 0).
    NotEligible,
}

/// The standings' names, in [`Standing::slot`] order.
pub const STANDINGS: [&str; 5] = [
    "earned",
    "unverified_coverage",
    "no_coverage",
    "zeroed",
    "not_eligible",
];

impl Standing {
    /// A device unseen (too few slots) or never near its cell earns no coverage whatever its
    /// witnesses: it is "no coverage", as its row's headline says, not "unverified".
    pub fn of(row: &DeviceRow, params: &VerifyParams) -> Self {
        if let Some(fraud) = row.fraud.first() {
            Standing::Zeroed(fraud.code())
        } else if row.weight_bps == 0 {
            Standing::NotEligible
        } else if row.uptime_slots < params.min_uptime_slots || row.trust_bps == 0 {
            Standing::NoCoverage
        } else if params.witnesses.enabled && row.witness_factor_bps < FULL_BPS {
            Standing::UnverifiedCoverage
        } else if row.amount == 0 {
            Standing::NoCoverage
        } else {
            Standing::Earned
        }
    }

    /// Its place in [`STANDINGS`] and in every count array.
    pub fn slot(self) -> usize {
        match self {
            Standing::Earned => 0,
            Standing::UnverifiedCoverage => 1,
            Standing::NoCoverage => 2,
            Standing::Zeroed(_) => 3,
            Standing::NotEligible => 4,
        }
    }

    pub fn name(self) -> &'static str {
        STANDINGS[self.slot()]
    }

    /// The fraud rule that zeroed it.
    pub fn reason(self) -> Option<&'static str> {
        match self {
            Standing::Zeroed(code) => Some(code),
            _ => None,
        }
    }
}

/// Devices counted by standing, in [`STANDINGS`] order.
pub type StandingCounts = [u64; 5];

/// One operator's part of an epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorEpoch {
    pub amount: u64,
    pub devices: u64,
    pub standings: StandingCounts,
    pub zeroed_by_reason: BTreeMap<&'static str, u64>,
}

/// What the chain snapshot and the chain view's ledger say of an epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainSide {
    pub start_ts: i64,
    pub end_ts: i64,
    pub closed_at: i64,
    pub minted: u64,
    pub device_share: u64,
    pub staker_share: u64,
    pub treasury_share: u64,
    /// Network tokens burned for credits, and the credits they bought, by purchases made
    /// during the epoch.
    pub burned_for_credits: u64,
    pub credits_bought: u64,
    /// The books at its end, from finalized history (`None`: not stored, an epoch made
    /// before the chain view kept them).
    pub ledger: Option<groundwork_oracle_chainview::EpochLedger>,
}

/// One verified epoch's numbers.
#[derive(Clone, Debug)]
pub struct EpochSummary {
    pub epoch: u64,
    /// The report file it was made from (size and modification time): made again when they
    /// change.
    pub source: ReportSource,
    pub report_digest: [u8; 32],
    pub root: [u8; 32],
    pub base_epoch: Option<u64>,
    /// `None` when the snapshot is no longer stored (kept only as long as retention needs it).
    pub chain: Option<ChainSide>,
    pub pool: u64,
    pub paid: u64,
    pub dust: u64,
    pub carried_dust_in: u64,
    pub cumulative_total: u64,
    pub recipients: u64,
    pub missing_peer_sets: u32,
    pub devices: u64,
    pub standings: StandingCounts,
    pub zeroed_by_reason: BTreeMap<&'static str, u64>,
    pub operators: HashMap<Pubkey, OperatorEpoch>,
}

/// A report file as last seen: its size and modification time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportSource {
    pub size: u64,
    pub modified: Option<std::time::SystemTime>,
}

impl EpochSummary {
    /// The summary of `report`, computed over `snapshot` (when still stored).
    pub fn new(
        report: &EpochReport,
        snapshot: Option<&ChainSnapshot>,
        ledger: Option<groundwork_oracle_chainview::EpochLedger>,
        source: ReportSource,
        params: &VerifyParams,
    ) -> Self {
        let rewards = &report.rewards;
        let operator_of: HashMap<Pubkey, Pubkey> = snapshot
            .map(|snapshot| {
                snapshot
                    .devices
                    .iter()
                    .map(|device| (device.device, device.operator))
                    .collect()
            })
            .unwrap_or_default();
        let mut standings = StandingCounts::default();
        let mut zeroed_by_reason = BTreeMap::new();
        let mut operators: HashMap<Pubkey, OperatorEpoch> = HashMap::new();
        for row in &rewards.rows {
            let standing = Standing::of(row, params);
            standings[standing.slot()] += 1;
            for fraud in &row.fraud {
                *zeroed_by_reason.entry(fraud.code()).or_default() += 1;
            }
            if let Some(operator) = operator_of.get(&row.device) {
                let part = operators.entry(*operator).or_default();
                part.amount = part.amount.saturating_add(row.amount);
                part.devices += 1;
                part.standings[standing.slot()] += 1;
                for fraud in &row.fraud {
                    *part.zeroed_by_reason.entry(fraud.code()).or_default() += 1;
                }
            }
        }
        EpochSummary {
            epoch: report.epoch,
            source,
            report_digest: report.digest(),
            root: rewards.root,
            base_epoch: report.base_epoch,
            chain: snapshot.map(|snapshot| ChainSide {
                ledger,
                ..chain_side(snapshot)
            }),
            pool: rewards.pool,
            paid: rewards.pool.saturating_sub(rewards.dust),
            dust: rewards.dust,
            carried_dust_in: report.carried_dust_in,
            cumulative_total: rewards.cumulative_total,
            recipients: rewards.cumulative.len() as u64,
            missing_peer_sets: report.missing_peer_sets,
            devices: rewards.rows.len() as u64,
            standings,
            zeroed_by_reason,
            operators,
        }
    }
}

fn chain_side(snapshot: &ChainSnapshot) -> ChainSide {
    let in_epoch = snapshot
        .credit_prices
        .iter()
        .filter(|purchase| (snapshot.start_ts..snapshot.end_ts).contains(&purchase.purchased_at));
    let (burned_for_credits, credits_bought) =
        in_epoch.fold((0u64, 0u64), |(burned, bought), purchase| {
            (
                burned.saturating_add(purchase.network_tokens_burned),
                bought.saturating_add(purchase.credits_minted),
            )
        });
    ChainSide {
        start_ts: snapshot.start_ts,
        end_ts: snapshot.end_ts,
        closed_at: snapshot.params.closed_at,
        minted: snapshot.params.minted,
        device_share: snapshot.params.device_share,
        staker_share: snapshot.params.staker_share,
        treasury_share: snapshot.params.treasury_share,
        burned_for_credits,
        credits_bought,
        ledger: None,
    }
}

/// A device as the newest verified epoch left it.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceMark {
    pub key: Pubkey,
    pub operator: Pubkey,
    pub recipient: Pubkey,
    pub class_id: u16,
    /// Its asserted H3 cell at the epoch's end, and that cell's centre in degrees (`None`:
    /// no valid cell asserted).
    pub cell: Option<u64>,
    pub position: Option<(f64, f64)>,
    pub onboarded_at: i64,
    pub standing: Standing,
    pub amount: u64,
}

/// Devices of one H3 cell at a map resolution, by standing; the mean of their positions (on
/// the sphere, so a cluster across the antimeridian stays there) is where the map draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub cell: u64,
    pub devices: u64,
    pub standings: StandingCounts,
    pub lat: f64,
    pub lng: f64,
}

/// What a key is on the network (a key may be several: an operator that is its own
/// recipient).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyKind {
    Device,
    Operator,
    Recipient,
}

impl KeyKind {
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Device => "device",
            KeyKind::Operator => "operator",
            KeyKind::Recipient => "recipient",
        }
    }
}

/// An operator as the newest epoch's snapshot holds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperatorMark {
    pub reward_recipient: Option<Pubkey>,
    pub active_stake: u64,
}

/// The newest verified epoch, indexed for the map, the pages and the search box.
pub struct Newest {
    pub epoch: u64,
    /// Sorted by key.
    pub devices: Vec<DeviceMark>,
    pub by_operator: HashMap<Pubkey, Vec<usize>>,
    pub by_recipient: HashMap<Pubkey, Vec<usize>>,
    pub operators: HashMap<Pubkey, OperatorMark>,
    /// One table per resolution 0..=[`MAX_CLUSTER_RESOLUTION`], each sorted by cell.
    pub clusters: Vec<Vec<Cluster>>,
    /// Every key as base58, sorted, with what it is.
    keys: Vec<(String, KeyKind)>,
    /// The epoch's report (the device rows the pages explain).
    pub report: Arc<EpochReport>,
}

impl Newest {
    pub fn new(report: Arc<EpochReport>, snapshot: &ChainSnapshot, params: &VerifyParams) -> Self {
        let entries: HashMap<Pubkey, &groundwork_oracle_rewards::snapshot::DeviceEntry> = snapshot
            .devices
            .iter()
            .map(|entry| (entry.device, entry))
            .collect();
        let mut devices = Vec::with_capacity(report.rewards.rows.len());
        for row in &report.rewards.rows {
            let entry = entries.get(&row.device);
            let cell = entry
                .and_then(|entry| entry.locations.last())
                .map(|span| span.cell)
                .filter(|cell| CellIndex::try_from(*cell).is_ok());
            let position = cell.and_then(|cell| {
                let centre = LatLng::from(CellIndex::try_from(cell).ok()?);
                Some((centre.lat(), centre.lng()))
            });
            devices.push(DeviceMark {
                key: row.device,
                operator: entry.map(|entry| entry.operator).unwrap_or_default(),
                recipient: row.recipient,
                class_id: row.class_id,
                cell,
                position,
                onboarded_at: entry.map(|entry| entry.onboarded_at).unwrap_or_default(),
                standing: Standing::of(row, params),
                amount: row.amount,
            });
        }
        devices.sort_by_key(|device| device.key);
        let mut by_operator: HashMap<Pubkey, Vec<usize>> = HashMap::new();
        let mut by_recipient: HashMap<Pubkey, Vec<usize>> = HashMap::new();
        for (index, device) in devices.iter().enumerate() {
            by_operator.entry(device.operator).or_default().push(index);
            by_recipient
                .entry(device.recipient)
                .or_default()
                .push(index);
        }
        let operators: HashMap<Pubkey, OperatorMark> = snapshot
            .operators
            .iter()
            .map(|operator| {
                (
                    operator.operator,
                    OperatorMark {
                        reward_recipient: operator.reward_recipient,
                        active_stake: operator.active_stake,
                    },
                )
            })
            .collect();
        let clusters = (0..=MAX_CLUSTER_RESOLUTION)
            .map(|resolution| clusters_at(&devices, resolution))
            .collect();
        let mut keys: Vec<(String, KeyKind)> = devices
            .iter()
            .map(|device| (device.key.to_string(), KeyKind::Device))
            .chain(
                operators
                    .keys()
                    .chain(by_operator.keys())
                    .map(|key| (key.to_string(), KeyKind::Operator)),
            )
            .chain(
                by_recipient
                    .keys()
                    .map(|key| (key.to_string(), KeyKind::Recipient)),
            )
            .filter(|(key, _)| key != &Pubkey::default().to_string())
            .collect();
        keys.sort();
        keys.dedup();
        Newest {
            epoch: report.epoch,
            devices,
            by_operator,
            by_recipient,
            operators,
            clusters,
            keys,
            report,
        }
    }

    pub fn device(&self, key: &Pubkey) -> Option<&DeviceMark> {
        self.devices
            .binary_search_by_key(key, |device| device.key)
            .ok()
            .map(|index| &self.devices[index])
    }

    /// The devices of `indices` (at most [`MAX_LISTED_DEVICES`], the highest earners first).
    pub fn listed(&self, indices: &[usize]) -> Vec<&DeviceMark> {
        let mut listed: Vec<&DeviceMark> = indices.iter().map(|&i| &self.devices[i]).collect();
        listed.sort_by(|a, b| b.amount.cmp(&a.amount).then(a.key.cmp(&b.key)));
        listed.truncate(MAX_LISTED_DEVICES);
        listed
    }

    /// The keys `query` names: the key itself when it is one, else every key starting with it
    /// (at least [`MIN_SEARCH_PREFIX`] characters), at most [`MAX_SEARCH_RESULTS`].
    pub fn search(&self, query: &str) -> Vec<(&str, KeyKind)> {
        let query = query.trim();
        if query.len() < MIN_SEARCH_PREFIX {
            return Vec::new();
        }
        let start = self.keys.partition_point(|(key, _)| key.as_str() < query);
        self.keys[start..]
            .iter()
            .take_while(|(key, _)| key.starts_with(query))
            .take(MAX_SEARCH_RESULTS)
            .map(|(key, kind)| (key.as_str(), *kind))
            .collect()
    }

    /// What the map draws of `view`.
    pub fn map(&self, view: &MapView) -> MapAnswer<'_> {
        let visible = |device: &&DeviceMark| {
            device
                .position
                .is_some_and(|position| view.contains(position))
        };
        // Counted first: only an answer of devices one by one collects them.
        let in_view = self.devices.iter().filter(visible).count();
        if in_view <= MAX_MAP_DEVICES {
            return MapAnswer::Devices {
                in_view_total: in_view as u64,
                devices: self.devices.iter().filter(visible).collect(),
            };
        }
        let mut resolution = view.cluster_resolution();
        loop {
            let clusters: Vec<&Cluster> = self.clusters[usize::from(resolution)]
                .iter()
                .filter(|cluster| view.contains((cluster.lat, cluster.lng)))
                .collect();
            if clusters.len() <= MAX_MAP_CLUSTERS || resolution == 0 {
                let mut clusters = clusters;
                clusters.truncate(MAX_MAP_CLUSTERS);
                return MapAnswer::Clusters {
                    resolution,
                    clusters,
                    in_view_total: in_view as u64,
                };
            }
            resolution -= 1;
        }
    }
}

/// The devices grouped by their cell's parent at `resolution`.
fn clusters_at(devices: &[DeviceMark], resolution: u8) -> Vec<Cluster> {
    let Ok(resolution) = Resolution::try_from(resolution) else {
        return Vec::new();
    };
    // Each cluster's devices and the sum of their positions as unit vectors.
    let mut by_cell: HashMap<u64, (Cluster, [f64; 3])> = HashMap::new();
    for device in devices {
        let (Some(cell), Some((lat, lng))) = (device.cell, device.position) else {
            continue;
        };
        let Some(parent) = CellIndex::try_from(cell)
            .ok()
            .and_then(|cell| cell.parent(resolution))
        else {
            continue;
        };
        let (cluster, sum) = by_cell.entry(u64::from(parent)).or_insert((
            Cluster {
                cell: u64::from(parent),
                devices: 0,
                standings: StandingCounts::default(),
                lat: 0.0,
                lng: 0.0,
            },
            [0.0; 3],
        ));
        cluster.devices += 1;
        cluster.standings[device.standing.slot()] += 1;
        let (lat, lng) = (lat.to_radians(), lng.to_radians());
        sum[0] += lat.cos() * lng.cos();
        sum[1] += lat.cos() * lng.sin();
        sum[2] += lat.sin();
    }
    let mut clusters: Vec<Cluster> = by_cell
        .into_values()
        .map(|(mut cluster, [x, y, z])| {
            cluster.lat = z.atan2(x.hypot(y)).to_degrees();
            cluster.lng = y.atan2(x).to_degrees();
            cluster
        })
        .collect();
    clusters.sort_by_key(|cluster| cluster.cell);
    clusters
}

/// The part of the world a map shows: a box in degrees (west may be east of east across the
/// antimeridian) and the zoom (Web Mercator: the world is 256 × 2^zoom pixels wide).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MapView {
    pub west: f64,
    pub south: f64,
    pub east: f64,
    pub north: f64,
    pub zoom: f64,
}

impl MapView {
    /// A view, or why the numbers do not make one.
    pub fn new(west: f64, south: f64, east: f64, north: f64, zoom: f64) -> Result<Self, String> {
        let finite = [west, south, east, north, zoom]
            .iter()
            .all(|n| n.is_finite());
        if !finite {
            return Err("every bound and the zoom must be numbers".into());
        }
        if !(-90.0..=90.0).contains(&south) || !(-90.0..=90.0).contains(&north) || south > north {
            return Err(format!(
                "south ({south}) and north ({north}) must be latitudes with south <= north"
            ));
        }
        if !(-180.0..=180.0).contains(&west) || !(-180.0..=180.0).contains(&east) {
            return Err(format!(
                "west ({west}) and east ({east}) must be longitudes within ±180"
            ));
        }
        if !(0.0..=24.0).contains(&zoom) {
            return Err(format!("zoom ({zoom}) must be within 0 to 24"));
        }
        Ok(MapView {
            west,
            south,
            east,
            north,
            zoom,
        })
    }

    pub fn contains(&self, (lat, lng): (f64, f64)) -> bool {
        let in_longitude = if self.west <= self.east {
            (self.west..=self.east).contains(&lng)
        } else {
            lng >= self.west || lng <= self.east
        };
        in_longitude && (self.south..=self.north).contains(&lat)
    }

    /// The H3 resolution whose cells are a few tens of pixels wide at this zoom (a
    /// resolution's cells are about 2.6 times narrower than the one before, a zoom level's
    /// pixels 2 times).
    pub fn cluster_resolution(&self) -> u8 {
        let resolution = (self.zoom * 0.7 - 1.5).floor();
        resolution.clamp(0.0, f64::from(MAX_CLUSTER_RESOLUTION)) as u8
    }
}

/// What the map draws: devices one by one, or clusters.
pub enum MapAnswer<'a> {
    Devices {
        devices: Vec<&'a DeviceMark>,
        in_view_total: u64,
    },
    Clusters {
        resolution: u8,
        clusters: Vec<&'a Cluster>,
        in_view_total: u64,
    },
}

/// Degrees rounded to 1e-6 (about 0.1 m): what a map needs, in fewer bytes.
pub fn rounded(degrees: f64) -> f64 {
    (degrees * 1e6).round() / 1e6
}

impl MapView {
    /// Whether an H3 cell of `cell`'s resolution is drawn as its hexagon at this zoom (at least
    /// [`MIN_DRAWN_EDGE_PX`] pixels a side in the view's middle), rather than as a dot: below
    /// that its corners are not worth their bytes.
    pub fn draws_hexagon(&self, cell: u64) -> bool {
        let Ok(cell) = CellIndex::try_from(cell) else {
            return false;
        };
        let latitude = ((self.south + self.north) / 2.0).to_radians();
        let metres_per_pixel = 156_543.034 * latitude.cos() / 2f64.powf(self.zoom);
        cell.resolution().edge_length_m() / metres_per_pixel >= MIN_DRAWN_EDGE_PX
    }
}

/// The shortest on-screen side of a hexagon the map draws as one.
pub const MIN_DRAWN_EDGE_PX: f64 = 4.0;

/// The corners of H3 cell `cell` as (lat, lng) degrees, for drawing.
pub fn cell_boundary(cell: u64) -> Vec<(f64, f64)> {
    CellIndex::try_from(cell)
        .map(|cell| {
            cell.boundary()
                .iter()
                .map(|corner| (rounded(corner.lat()), rounded(corner.lng())))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_refuses_what_is_not_a_box_on_earth() {
        assert!(MapView::new(-10.0, -5.0, 10.0, 5.0, 3.0).is_ok());
        assert!(
            MapView::new(-10.0, 5.0, 10.0, -5.0, 3.0).is_err(),
            "south above north"
        );
        assert!(MapView::new(-181.0, -5.0, 10.0, 5.0, 3.0).is_err());
        assert!(MapView::new(-10.0, -91.0, 10.0, 5.0, 3.0).is_err());
        assert!(MapView::new(-10.0, -5.0, 10.0, 5.0, f64::NAN).is_err());
        assert!(MapView::new(-10.0, -5.0, 10.0, 5.0, 25.0).is_err());
        assert!(MapView::new(f64::INFINITY, -5.0, 10.0, 5.0, 3.0).is_err());
    }

    #[test]
    fn a_view_across_the_antimeridian_holds_both_sides() {
        let view = MapView::new(170.0, -10.0, -170.0, 10.0, 5.0).unwrap();
        assert!(view.contains((0.0, 175.0)));
        assert!(view.contains((0.0, -175.0)));
        assert!(!view.contains((0.0, 0.0)));
        assert!(!view.contains((20.0, 175.0)));
    }

    #[test]
    fn clusters_get_finer_as_the_map_zooms_in() {
        let resolutions: Vec<u8> = (0..=24)
            .map(|zoom| {
                MapView::new(-1.0, -1.0, 1.0, 1.0, f64::from(zoom))
                    .unwrap()
                    .cluster_resolution()
            })
            .collect();
        assert_eq!(resolutions[0], 0);
        assert!(resolutions.windows(2).all(|pair| pair[0] <= pair[1]));
        assert_eq!(*resolutions.last().unwrap(), MAX_CLUSTER_RESOLUTION);
    }
}
