//! How the CLI prints: the `--output` format (display, JSON or compact JSON) every command's
//! result goes out in, and a mint's amounts as people read and write them (decimal numbers
//! of its base units).

use anyhow::{bail, Context as _, Result};
use clap::ValueEnum;

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Display,
    Json,
    JsonCompact,
}

pub fn print<T: serde::Serialize + std::fmt::Display>(value: &T, output: Output) -> Result<()> {
    match output {
        Output::Display => print!("{value}"),
        Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Output::JsonCompact => println!("{}", serde_json::to_string(value)?),
    }
    Ok(())
}

/// What a transaction did, read back from the chain after it confirmed: a sentence for
/// people (amounts in decimals) and, for JSON, the same amounts in base units under names that
/// say so.
#[derive(Debug, serde::Serialize)]
pub struct Effect {
    pub summary: String,
    #[serde(flatten)]
    pub values: std::collections::BTreeMap<&'static str, serde_json::Value>,
}

impl Effect {
    pub fn new(summary: impl Into<String>) -> Self {
        Effect {
            summary: summary.into(),
            values: Default::default(),
        }
    }

    /// Adds a named value to the JSON form.
    pub fn with(mut self, name: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.values.insert(name, value.into());
        self
    }
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.summary)
    }
}

/// A chain time (unix seconds) as people read it: "2026-12-07 06:40:00 UTC".
pub fn format_time(unix_ts: i64) -> String {
    let Ok(seconds) = u64::try_from(unix_ts) else {
        return format!("unix time {unix_ts}");
    };
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds);
    let text = humantime::format_rfc3339_seconds(time).to_string();
    format!("{} UTC", text.trim_end_matches('Z').replace('T', " "))
}

/// `amount` base units of a mint of `decimals`, as a decimal number.
pub fn format_amount(amount: u64, decimals: u8) -> String {
    let scale = 10u64.pow(u32::from(decimals));
    format!(
        "{}.{:0width$}",
        amount / scale,
        amount % scale,
        width = usize::from(decimals)
    )
}

/// Base units of `amount` ("12.5") for a mint of `decimals`.
pub fn parse_amount(amount: &str, decimals: u8) -> Result<u64> {
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    if fraction.len() > usize::from(decimals) {
        bail!("{amount} has more than {decimals} decimals");
    }
    let whole: u64 = whole
        .parse()
        .with_context(|| format!("{amount:?} is not an amount"))?;
    let fraction_units: u64 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<width$}", width = usize::from(decimals))
            .parse()
            .with_context(|| format!("{amount:?} is not an amount"))?
    };
    whole
        .checked_mul(10u64.pow(u32::from(decimals)))
        .and_then(|units| units.checked_add(fraction_units))
        .with_context(|| format!("{amount} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_times_read_as_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_796_630_400), "2026-12-07 08:00:00 UTC");
        assert_eq!(format_time(-5), "unix time -5");
    }

    #[test]
    fn amounts_are_read_in_base_units() {
        assert_eq!(parse_amount("12.5", 6).unwrap(), 12_500_000);
        assert_eq!(parse_amount("3", 6).unwrap(), 3_000_000);
        assert_eq!(parse_amount("0.000001", 6).unwrap(), 1);
        assert!(parse_amount("0.0000001", 6).is_err());
        assert!(parse_amount("twelve", 6).is_err());
        assert!(parse_amount("99999999999999999", 6).is_err());
    }
}
