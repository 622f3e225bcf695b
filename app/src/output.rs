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
    fn amounts_are_read_in_base_units() {
        assert_eq!(parse_amount("12.5", 6).unwrap(), 12_500_000);
        assert_eq!(parse_amount("3", 6).unwrap(), 3_000_000);
        assert_eq!(parse_amount("0.000001", 6).unwrap(), 1);
        assert!(parse_amount("0.0000001", 6).is_err());
        assert!(parse_amount("twelve", 6).is_err());
        assert!(parse_amount("99999999999999999", 6).is_err());
    }
}
