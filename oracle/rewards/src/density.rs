//! The density cap (SPEC 4.3 "Coverage score"): in which resolution-8 cell a device counts,
//! and how a crowded cell's devices share `k` devices' worth.

use std::collections::BTreeMap;

use h3o::Resolution;

use crate::geo::parent;
use crate::snapshot::DeviceEntry;
use crate::DeviceRow;

/// The resolution-8 cell `entry`'s asserted location stood in longest during the epoch
/// (`start_ts..end_ts`), and for how many seconds; ties go to the cell it stood in first, so
/// asserting an empty cell just before the end does not escape the density cap.
pub(crate) fn density_cell_of(
    entry: &DeviceEntry,
    start_ts: i64,
    end_ts: i64,
) -> Option<(u64, u64)> {
    // (cell, seconds, first moment in it)
    let mut cells: Vec<(u64, u64, i64)> = Vec::new();
    for (index, span) in entry.locations.iter().enumerate() {
        let Some(cell) = parent(span.cell, Resolution::Eight) else {
            continue;
        };
        let from = span.from_ts.clamp(start_ts, end_ts);
        let to = entry
            .locations
            .get(index + 1)
            .map_or(end_ts, |next| next.from_ts)
            .clamp(from, end_ts);
        let seconds = u64::try_from(to - from).unwrap_or(0);
        match cells.iter_mut().find(|(known, ..)| *known == cell) {
            Some((_, total, _)) => *total = total.saturating_add(seconds),
            None => cells.push((cell, seconds, from)),
        }
    }
    cells
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)))
        .map(|(cell, seconds, _)| (cell, seconds))
}

/// In each resolution-8 cell, at most `k` earning devices earn in full; more share `k`
/// devices' worth (each score × k / n, floored).
pub(crate) fn apply_density_cap(rows: &mut [DeviceRow], k: u64) {
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for row in rows.iter() {
        if let (Some(cell), true) = (row.density_cell, row.coverage_score > 0) {
            *counts.entry(cell).or_default() += 1;
        }
    }
    for row in rows.iter_mut() {
        let Some(cell) = row.density_cell else {
            continue;
        };
        let count = counts.get(&cell).copied().unwrap_or(0);
        row.density_devices = count;
        if row.coverage_score > 0 && count > k {
            row.coverage_score = row.coverage_score * u128::from(k) / u128::from(count);
        }
    }
}
