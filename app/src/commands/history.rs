//! `groundwork rewards history`: what a device, or every device of an operator's fleet, earned
//! in each of the newest verified epochs and why, from an oracle's reports (`POST
//! /v1/rewards/history`); a table per epoch, or every row as CSV for a spreadsheet.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::output::format_amount;

/// Devices one request names, and devices x epochs it may ask for (the oracle's bounds).
const DEVICES_PER_REQUEST: usize = 10_000;
const ROWS_PER_REQUEST: usize = 50_000;
/// Most epochs a history covers (the oracle's bound).
pub const MOST_EPOCHS: usize = 30;

/// One device in one epoch, as the oracle reports it.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct HistoryRow {
    pub epoch: u64,
    pub device: String,
    pub recipient: String,
    /// Base units of the network token.
    pub amount: u64,
    pub coverage_reward: u64,
    pub data_reward: u64,
    pub fraud: Vec<String>,
    pub reason: String,
}

/// One epoch of the history, summed.
#[derive(Serialize)]
pub struct EpochTotal {
    pub epoch: u64,
    pub devices: usize,
    pub earned_base_units: u64,
    pub rewarded: usize,
    /// Devices that earned nothing, by their one-line reason.
    pub earned_nothing: BTreeMap<String, usize>,
}

/// What `rewards history` shows.
#[derive(Serialize)]
pub struct History {
    /// The device or operator asked about.
    pub of: String,
    pub epochs: Vec<u64>,
    pub totals: Vec<EpochTotal>,
    pub rows: Vec<HistoryRow>,
    pub decimals: u8,
    #[serde(skip)]
    one_device: bool,
}

impl std::fmt::Display for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens = |units: u64| format_amount(units, self.decimals);
        if self.rows.is_empty() {
            return writeln!(
                f,
                "{}: no rows in the {} newest verified epochs (not onboarded then, or nothing verified yet)",
                self.of,
                self.epochs.len()
            );
        }
        if self.one_device {
            writeln!(f, "device {}:", self.of)?;
            for row in &self.rows {
                writeln!(
                    f,
                    "  epoch {:>6}  {:>16}  {}",
                    row.epoch,
                    tokens(row.amount),
                    row.reason
                )?;
            }
            return Ok(());
        }
        writeln!(f, "operator {}:", self.of)?;
        for total in &self.totals {
            writeln!(
                f,
                "  epoch {:>6}  {:>16} tokens  {} of {} devices earned",
                total.epoch,
                tokens(total.earned_base_units),
                total.rewarded,
                total.devices
            )?;
            for (reason, count) in &total.earned_nothing {
                writeln!(f, "                  {count} device(s): {reason}")?;
            }
        }
        writeln!(f, "every device's rows: --csv, or --output json")
    }
}

impl History {
    /// Every row as CSV, amounts in decimals and base units.
    fn to_csv(&self) -> Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record([
            "epoch",
            "device",
            "recipient",
            "amount",
            "amount_base_units",
            "coverage_base_units",
            "data_base_units",
            "fraud",
            "reason",
        ])?;
        for row in &self.rows {
            writer.write_record([
                row.epoch.to_string(),
                row.device.clone(),
                row.recipient.clone(),
                format_amount(row.amount, self.decimals),
                row.amount.to_string(),
                row.coverage_reward.to_string(),
                row.data_reward.to_string(),
                row.fraud.join(" "),
                row.reason.clone(),
            ])?;
        }
        String::from_utf8(writer.into_inner()?).context("CSV is UTF-8")
    }
}

/// Sums each epoch's rows.
fn totals(epochs: &[u64], rows: &[HistoryRow]) -> Vec<EpochTotal> {
    epochs
        .iter()
        .map(|&epoch| {
            let mut total = EpochTotal {
                epoch,
                devices: 0,
                earned_base_units: 0,
                rewarded: 0,
                earned_nothing: BTreeMap::new(),
            };
            for row in rows.iter().filter(|row| row.epoch == epoch) {
                total.devices += 1;
                total.earned_base_units = total.earned_base_units.saturating_add(row.amount);
                if row.amount > 0 {
                    total.rewarded += 1;
                } else {
                    *total.earned_nothing.entry(row.reason.clone()).or_default() += 1;
                }
            }
            total
        })
        .collect()
}

/// The history of `device`, or of every device `operator` (default: the keypair) operates
/// now, over the newest `epochs` verified epochs of the oracle at `oracle`; printed as the
/// output format says, or as CSV.
pub fn history(
    ctx: &Context,
    device: Option<Pubkey>,
    operator: Option<Pubkey>,
    epochs: usize,
    csv: bool,
    oracle: &str,
) -> Result<()> {
    if epochs == 0 || epochs > MOST_EPOCHS {
        bail!("--epochs {epochs}: use 1 to {MOST_EPOCHS} (the oracle keeps the history of every epoch; ask in spans)");
    }
    let (of, devices) = match device {
        Some(device) => (device.to_string(), vec![device]),
        None => {
            let operator = ctx.key_or_signer(operator)?;
            let devices: Vec<Pubkey> =
                groundwork_client::device_registry::devices_of_operator(&ctx.ledger, &operator)?
                    .iter()
                    .map(|record| record.device_key)
                    .collect();
            if devices.is_empty() {
                bail!("operator {operator} operates no device now (`groundwork device list --operator {operator}`)");
            }
            (operator.to_string(), devices)
        }
    };
    let mut rows = Vec::new();
    let mut epoch_list: Vec<u64> = Vec::new();
    // The first request's newest epoch pins the others', so an epoch verified meanwhile
    // does not shift the window between them.
    let mut through_epoch: Option<u64> = None;
    let per_request = DEVICES_PER_REQUEST.min(ROWS_PER_REQUEST / epochs);
    for chunk in devices.chunks(per_request) {
        let keys: Vec<String> = chunk.iter().map(ToString::to_string).collect();
        let reply = crate::oracle_api::oracle_post(
            oracle,
            "/v1/rewards/history",
            &serde_json::json!({ "devices": keys, "epochs": epochs, "through_epoch": through_epoch }),
        )?;
        let chunk_rows: Vec<HistoryRow> = serde_json::from_value(reply["rows"].clone())
            .context("reading the oracle's history rows")?;
        epoch_list = serde_json::from_value(reply["epochs"].clone())
            .context("reading the oracle's history epochs")?;
        through_epoch = through_epoch.or_else(|| epoch_list.first().copied());
        rows.extend(chunk_rows);
    }
    rows.sort_by(|a, b| b.epoch.cmp(&a.epoch).then_with(|| a.device.cmp(&b.device)));
    let history = History {
        of,
        totals: totals(&epoch_list, &rows),
        epochs: epoch_list,
        rows,
        decimals: ctx.network_decimals()?,
        one_device: device.is_some(),
    };
    if csv {
        print!("{}", history.to_csv()?);
        return Ok(());
    }
    ctx.print(&history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(epoch: u64, device: &str, amount: u64, reason: &str) -> HistoryRow {
        HistoryRow {
            epoch,
            device: device.into(),
            recipient: "R".into(),
            amount,
            coverage_reward: amount,
            data_reward: 0,
            fraud: Vec::new(),
            reason: reason.into(),
        }
    }

    #[test]
    fn epochs_sum_their_rows_and_count_why_devices_earned_nothing() {
        let rows = vec![
            row(5, "a", 10, "earned: full coverage"),
            row(5, "b", 0, "zeroed: cloned_key"),
            row(5, "c", 0, "zeroed: cloned_key"),
            row(4, "a", 7, "earned: full coverage"),
        ];
        let sums = totals(&[5, 4, 3], &rows);
        assert_eq!(
            sums.iter()
                .map(|total| (
                    total.epoch,
                    total.devices,
                    total.earned_base_units,
                    total.rewarded
                ))
                .collect::<Vec<_>>(),
            vec![(5, 3, 10, 1), (4, 1, 7, 1), (3, 0, 0, 0)]
        );
        assert_eq!(sums[0].earned_nothing["zeroed: cloned_key"], 2);
        let history = History {
            of: "op".into(),
            epochs: vec![5, 4],
            totals: sums,
            rows,
            decimals: 6,
            one_device: false,
        };
        let csv = history.to_csv().unwrap();
        assert!(csv.starts_with("epoch,device,recipient,amount,amount_base_units"));
        assert!(
            csv.contains("\n5,a,R,0.000010,10,10,0,,earned: full coverage\n"),
            "{csv}"
        );
    }
}
