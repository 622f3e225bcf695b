//! Checking a root without trusting any oracle, and replaying rule changes (SPEC 4.6), from
//! the epoch bundles the oracles publish:
//!
//! - `groundwork rewards verify-epoch N --bundle URL` fetches epoch N's bundle (each part
//!   against its digest), re-verifies every signature and the manifest, rebuilds the epoch's
//!   chain snapshot itself from the RPC endpoint's finalized history (the chain view as a
//!   library, in this process), computes the report with the bundle's parameters and compares
//!   it with the report and with the chain's epoch record. OK and exit status 0 only when
//!   everything matches: a watchtower can run it every epoch.
//! - `groundwork rewards replay --bundle URL --epochs A..B --params new.toml` computes the
//!   epochs again under changed `[verify]` parameters and prints who gains and who loses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use groundwork_oracle_bundle::check::{fetch, FetchedBundle};
use groundwork_oracle_bundle::replay::{changed_params, EpochReplay, ReplayChain};
use groundwork_oracle_bundle::verify::{CheckSettings, EpochCheck, Step};
use groundwork_oracle_bundle::BundleStore;
use groundwork_telemetry::Key;
use serde::Serialize;

use crate::context::Context;
use crate::oracle_api::oracle_get;
use crate::output::{format_amount, Output};

/// A bundle root from `--bundle`, or from the oracle that publishes it: a store URL (a
/// directory, `file://`, `s3://` or `https://`), or an epoch's index URL (ending in
/// `epochs/N/index.json`), then its root and epoch.
pub fn bundle_root(
    bundle: Option<&str>,
    oracle: Option<&str>,
    epoch: u64,
) -> Result<(String, Option<u64>)> {
    if let Some(bundle) = bundle {
        return Ok(split_index_url(bundle));
    }
    let Some(oracle) = oracle else {
        bail!("name the bundle: --bundle URL (a bundle store, as the oracle's [publish] url), or --oracle URL of an oracle that publishes it");
    };
    let reply = oracle_get(oracle, &format!("/v1/epochs/{epoch}/bundle"))?;
    let store = reply["store"]
        .as_str()
        .context("the oracle's reply names no bundle store")?;
    if reply["published"] != serde_json::Value::Bool(true) {
        bail!(
            "the oracle at {oracle} has not published epoch {epoch}'s bundle yet ({} epochs wait to be published{})",
            reply["backlog_epochs"],
            if reply["computed_here"] == serde_json::Value::Bool(false) {
                "; it adopted this epoch's report from a peer, so it publishes none: ask another oracle"
            } else {
                ""
            }
        );
    }
    Ok((store.to_string(), Some(epoch)))
}

/// `URL` split into its bundle root and epoch when it names an index
/// (`ROOT/epochs/N/index.json`); otherwise the root itself.
fn split_index_url(url: &str) -> (String, Option<u64>) {
    let trimmed = url.trim_end_matches('/');
    if let Some(rest) = trimmed.strip_suffix("/index.json") {
        if let Some((root, epoch)) = rest.rsplit_once("/epochs/") {
            if let Ok(epoch) = epoch.parse() {
                return (root.to_string(), Some(epoch));
            }
        }
    }
    (trimmed.to_string(), None)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn bytes_bar(output: Output, total: u64, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:24} {bar:30} {bytes}/{total_bytes}  {bytes_per_sec}  eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(what.to_string());
    if output != Output::Display {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

fn spinner(output: Output, what: &str) -> indicatif::ProgressBar {
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(what.to_string());
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    if output != Output::Display {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    spinner
}

/// Fetches `epoch`'s bundle from `store` into `work_dir`, with a progress bar.
fn fetch_bundle(
    runtime: &tokio::runtime::Runtime,
    store: &BundleStore,
    epoch: u64,
    work_dir: &Path,
    output: Output,
) -> Result<FetchedBundle> {
    let bar = bytes_bar(output, 0, &format!("fetching epoch {epoch}"));
    let fetched = runtime.block_on(fetch(store, epoch, work_dir, |received, total| {
        bar.set_length(total);
        bar.set_position(received);
    }));
    bar.finish_and_clear();
    Ok(fetched?)
}

/// The key every message of this network names (the device registry's config).
fn network_key() -> Key {
    Key(groundwork_client::device_registry::registry_config_address().to_bytes())
}

/// What `verify-epoch` found, with the network token's decimals for the human form.
#[derive(Serialize)]
pub struct ShownCheck {
    #[serde(flatten)]
    pub check: EpochCheck,
    #[serde(skip)]
    pub decimals: u8,
}

impl std::fmt::Display for ShownCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (check, decimals) = (&self.check, self.decimals);
        if check.ok {
            writeln!(f, "epoch {}: OK", check.epoch)?;
        } else {
            writeln!(
                f,
                "epoch {}: DOES NOT CHECK OUT ({} problems)",
                check.epoch,
                check.problems.len()
            )?;
            for problem in &check.problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        writeln!(
            f,
            "  bundle     {} (index {}, telemetry {} bytes)",
            check.bundle, check.index_digest, check.telemetry_bytes
        )?;
        let refused: u64 = check.refused_records.values().sum();
        writeln!(
            f,
            "  telemetry  {} records ({} messages, {} conflicting copies), {}",
            check.records,
            check.union_messages,
            check.union_conflicts,
            if refused == 0 {
                "every signature holds".to_string()
            } else {
                format!("{refused} refused: {:?}", check.refused_records)
            }
        )?;
        writeln!(
            f,
            "  snapshot   rebuilt from {}: {}{}",
            check.rpc,
            check.snapshot_chain,
            if check.snapshot_chain == check.snapshot_bundle
                && check.snapshot_bundle == check.snapshot_report
            {
                " = the bundle's = the report's".to_string()
            } else {
                format!(
                    " (the bundle's {}, the report's {})",
                    check.snapshot_bundle, check.snapshot_report
                )
            }
        )?;
        for line in &check.snapshot_differences {
            writeln!(f, "             {line}")?;
        }
        writeln!(
            f,
            "  base       {} (total {}) + dust {} = {} paid to device pools before",
            check.base.base_epoch.map_or_else(
                || "nothing before".into(),
                |epoch| format!("epoch {epoch}'s totals")
            ),
            format_amount(check.base.base_total, decimals),
            format_amount(check.base.carried_dust_in, decimals),
            format_amount(check.base.paid_before, decimals),
        )?;
        writeln!(
            f,
            "  computed   root {} total {}{}",
            check.computed_root,
            format_amount(check.computed_total, decimals),
            if check.computed_root == check.reported_root
                && check.computed_total == check.reported_total
            {
                " = the report's".to_string()
            } else {
                format!(
                    "; the report: root {} total {}",
                    check.reported_root,
                    format_amount(check.reported_total, decimals)
                )
            }
        )?;
        writeln!(
            f,
            "  chain      {} of the current oracles' votes for this root (quorum {}); {}{} (from the epoch's {})",
            check.chain.votes_for_computed,
            check.chain.quorum,
            check.chain.status,
            if check.chain.vetoes > 0 {
                format!(", {} vetoes before", check.chain.vetoes)
            } else {
                String::new()
            },
            check.chain.source
        )?;
        writeln!(
            f,
            "  params     {} ([verify], canonical)",
            check.params_digest
        )?;
        if !check.devices_differing.is_empty() {
            writeln!(
                f,
                "  devices whose rewards differ ({}, largest first):",
                check.devices_differing.len()
            )?;
            for difference in check.devices_differing.iter().take(20) {
                let amount = |value: Option<u64>| {
                    value.map_or_else(|| "none".into(), |v| format_amount(v, decimals))
                };
                writeln!(
                    f,
                    "    {} (operator {}): reported {}, computed {}; {}",
                    difference.device,
                    difference.operator,
                    amount(difference.reported),
                    amount(difference.computed),
                    if difference.rules.is_empty() {
                        "its numbers agree; the pool's split differs".to_string()
                    } else {
                        difference.rules.join("; ")
                    }
                )?;
            }
            if check.devices_differing.len() > 20 {
                writeln!(
                    f,
                    "    and {} more (--output json lists every one)",
                    check.devices_differing.len() - 20
                )?;
            }
        }
        Ok(())
    }
}

/// `groundwork rewards verify-epoch`: [`groundwork_oracle_bundle::verify::verify_epoch`] with
/// progress bars, printed; an error (exit status 1) unless everything matches.
pub fn verify_epoch(
    ctx: &Context,
    epoch: u64,
    bundle: Option<String>,
    oracle: Option<String>,
    params: Option<PathBuf>,
) -> Result<()> {
    let expected_params = params.map(|path| read_network_params(&path)).transpose()?;
    let oracle = match (&bundle, oracle) {
        (None, flag) => Some(ctx.oracle_url(flag)?),
        (Some(_), flag) => flag,
    };
    let (root, named_epoch) = bundle_root(bundle.as_deref(), oracle.as_deref(), epoch)?;
    if let Some(named) = named_epoch.filter(|named| *named != epoch) {
        bail!("--bundle names epoch {named}'s index, not epoch {epoch}'s");
    }
    let store = BundleStore::open(&root, false)?;
    let reward_config = ctx.reward_config()?;
    let settings = CheckSettings {
        rpc_urls: vec![ctx.ledger.client.url()],
        network: network_key(),
        oracles: reward_config.oracles.clone(),
        quorum: reward_config.quorum,
        expected_params,
    };
    let runtime = runtime()?;
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let fetching = bytes_bar(ctx.output, 0, &format!("fetching epoch {epoch}"));
    let rebuilding = spinner(ctx.output, "rebuilding the chain snapshot");
    rebuilding.disable_steady_tick();
    let checking = bytes_bar(ctx.output, 0, "checking and computing");
    let bars = (fetching.clone(), rebuilding.clone(), checking.clone());
    let progress = std::sync::Arc::new(move |step: Step| match step {
        Step::Fetching { received, total } => {
            bars.0.set_length(total);
            bars.0.set_position(received);
        }
        Step::Rebuilding => {
            bars.0.finish_and_clear();
            bars.1
                .enable_steady_tick(std::time::Duration::from_millis(120));
        }
        Step::Checking { read, total } => {
            bars.1.finish_and_clear();
            bars.2.set_length(total);
            bars.2.set_position(read);
        }
    });
    let checked = runtime.block_on(groundwork_oracle_bundle::verify::verify_epoch(
        &store,
        epoch,
        work.path(),
        &settings,
        progress,
    ));
    for bar in [fetching, rebuilding, checking] {
        bar.finish_and_clear();
    }
    let shown = ShownCheck {
        check: checked?,
        decimals: ctx.network_decimals().unwrap_or(0),
    };
    ctx.print(&shown)?;
    if !shown.check.ok {
        bail!(
            "epoch {epoch} does not check out: {} problems (above)",
            shown.check.problems.len()
        );
    }
    Ok(())
}

/// The network's `[verify]` parameters from a file: an oracle config (its `[verify]`
/// section), or the section's settings alone; what it does not name takes the SPEC's value.
fn read_network_params(path: &Path) -> Result<groundwork_oracle_rewards::VerifyParams> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let document: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} does not parse", path.display()))?;
    let section = match document.get("verify") {
        Some(toml::Value::Table(verify)) => verify.clone(),
        Some(_) => bail!("{}: `verify` is not a table", path.display()),
        None => document,
    };
    toml::Value::Table(section)
        .try_into()
        .with_context(|| format!("{}: not [verify] parameters", path.display()))
}

/// What `replay` found.
#[derive(Serialize)]
pub struct ReplayView {
    /// The changes laid over each bundle's parameters (each epoch lists what it was
    /// replayed with).
    pub changes: serde_json::Value,
    pub epochs: Vec<EpochReplay>,
    /// Per operator over every replayed epoch: (paid as reported, paid replayed).
    pub operators: BTreeMap<String, (u64, u64)>,
    pub old_paid: u64,
    pub new_paid: u64,
    #[serde(skip)]
    pub top: usize,
}

impl ReplayView {
    fn changes(&self) -> impl Iterator<Item = &groundwork_oracle_bundle::replay::DeviceChange> {
        self.epochs.iter().flat_map(|epoch| &epoch.devices)
    }
}

fn signed(value: i128) -> String {
    if value > 0 {
        format!("+{value}")
    } else {
        value.to_string()
    }
}

impl std::fmt::Display for ReplayView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "replayed {} epochs (amounts in base units)",
            self.epochs.len()
        )?;
        writeln!(
            f,
            "{:>6} {:>16} {:>16} {:>14} {:>18} {:>18}",
            "epoch", "paid", "replayed", "change", "cumulative", "replayed cum."
        )?;
        for epoch in &self.epochs {
            writeln!(
                f,
                "{:>6} {:>16} {:>16} {:>14} {:>18} {:>18}",
                epoch.epoch,
                epoch.old_paid,
                epoch.new_paid,
                signed(i128::from(epoch.new_paid) - i128::from(epoch.old_paid)),
                epoch.old_cumulative_total,
                epoch.new_cumulative_total
            )?;
        }
        writeln!(
            f,
            "total: paid {}, replayed {} ({})",
            self.old_paid,
            self.new_paid,
            signed(i128::from(self.new_paid) - i128::from(self.old_paid))
        )?;
        writeln!(f, "per operator:")?;
        let mut operators: Vec<(&String, &(u64, u64))> = self.operators.iter().collect();
        operators.sort_by_key(|(_, (old, new))| i128::from(*new) - i128::from(*old));
        for (operator, (old, new)) in operators {
            writeln!(
                f,
                "  {operator:44} {old:>16} -> {new:>16} ({})",
                signed(i128::from(*new) - i128::from(*old))
            )?;
        }
        let mut changes: Vec<_> = self.changes().collect();
        changes.sort_by_key(|change| change.change());
        let show =
            |f: &mut std::fmt::Formatter<'_>,
             title: &str,
             list: &mut dyn Iterator<Item = &&groundwork_oracle_bundle::replay::DeviceChange>|
             -> std::fmt::Result {
                let list: Vec<_> = list.collect();
                if list.is_empty() {
                    return Ok(());
                }
                writeln!(f, "{title}:")?;
                for change in list {
                    writeln!(
                        f,
                        "  epoch {} {} (operator {}): {} -> {} ({}); now: {}",
                        change.epoch,
                        change.device,
                        change.operator,
                        change.old,
                        change.new,
                        signed(change.change()),
                        change.new_reason
                    )?;
                }
                Ok(())
            };
        show(
            f,
            "lose most",
            &mut changes
                .iter()
                .filter(|change| change.change() < 0)
                .take(self.top),
        )?;
        show(
            f,
            "gain most",
            &mut changes
                .iter()
                .rev()
                .filter(|change| change.change() > 0)
                .take(self.top),
        )?;
        show(
            f,
            "newly zeroed",
            &mut changes
                .iter()
                .filter(|change| change.newly_zeroed)
                .take(self.top),
        )?;
        show(
            f,
            "restored",
            &mut changes
                .iter()
                .filter(|change| change.restored)
                .take(self.top),
        )?;
        Ok(())
    }
}

/// `groundwork rewards replay`.
pub fn replay(
    bundles: &[String],
    epochs: Option<&str>,
    params_file: &Path,
    csv: Option<&PathBuf>,
    top: usize,
    output: Output,
) -> Result<()> {
    let changes = std::fs::read_to_string(params_file)
        .with_context(|| format!("reading {}", params_file.display()))?;
    let wanted = epochs.map(parse_epochs).transpose()?;
    let mut targets: Vec<(String, u64)> = Vec::new();
    for bundle in bundles {
        match split_index_url(bundle) {
            (root, Some(epoch)) => targets.push((root, epoch)),
            (root, None) => match &wanted {
                Some(epochs) => targets.extend(epochs.iter().map(|epoch| (root.clone(), *epoch))),
                None => bail!(
                    "{bundle} is a bundle store: say which epochs with --epochs A..B (or name each epoch's index URL)"
                ),
            },
        }
    }
    if targets.is_empty() {
        bail!("no epoch to replay: give --bundle URL (and --epochs)");
    }
    targets.sort();
    targets.dedup();
    if let Some(pair) = targets.windows(2).find(|pair| pair[0].1 == pair[1].1) {
        bail!(
            "epoch {} is named in two bundle stores ({} and {}): name one",
            pair[0].1,
            pair[0].0,
            pair[1].0
        );
    }
    targets.sort_by_key(|(_, epoch)| *epoch);
    let runtime = runtime()?;
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let mut chain = ReplayChain::new();
    let mut replayed = Vec::new();
    for (root, epoch) in &targets {
        let store = BundleStore::open(root, false)?;
        let bundle = fetch_bundle(&runtime, &store, *epoch, work.path(), output)?;
        let params = changed_params(&bundle.params, &changes)?;
        let bar = bytes_bar(
            output,
            bundle
                .index
                .part(groundwork_oracle_bundle::PartName::Telemetry)
                .bytes,
            &format!("replaying epoch {epoch}"),
        );
        let result = chain.replay(&bundle, network_key(), &params, |read| {
            bar.set_position(read)
        });
        bar.finish_and_clear();
        replayed.push(result?);
        let _ = std::fs::remove_file(&bundle.telemetry);
    }
    let mut operators: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for epoch in &replayed {
        for (operator, (old, new)) in &epoch.operators {
            let entry = operators.entry(operator.clone()).or_default();
            entry.0 += old;
            entry.1 += new;
        }
    }
    let view = ReplayView {
        changes: serde_json::to_value(
            toml::from_str::<toml::Table>(&changes).context("the changed parameters")?,
        )
        .context("the changed parameters")?,
        old_paid: replayed.iter().map(|epoch| epoch.old_paid).sum(),
        new_paid: replayed.iter().map(|epoch| epoch.new_paid).sum(),
        epochs: replayed,
        operators,
        top,
    };
    if let Some(path) = csv {
        write_csv(&view, path)?;
    }
    crate::output::print(&view, output)
}

/// Every changed device of every epoch as CSV.
fn write_csv(view: &ReplayView, path: &Path) -> Result<()> {
    let mut writer =
        csv::Writer::from_path(path).with_context(|| format!("creating {}", path.display()))?;
    writer.write_record([
        "epoch",
        "device",
        "operator",
        "old",
        "new",
        "change",
        "newly_zeroed",
        "restored",
        "old_reason",
        "new_reason",
    ])?;
    for change in view.changes() {
        writer.write_record([
            change.epoch.to_string(),
            change.device.clone(),
            change.operator.clone(),
            change.old.to_string(),
            change.new.to_string(),
            change.change().to_string(),
            change.newly_zeroed.to_string(),
            change.restored.to_string(),
            change.old_reason.clone(),
            change.new_reason.clone(),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// `A..B` (inclusive), `A,B,C` or `A`.
fn parse_epochs(text: &str) -> Result<Vec<u64>> {
    let parse = |part: &str| {
        part.trim()
            .parse::<u64>()
            .with_context(|| format!("--epochs: {part:?} is not an epoch number"))
    };
    if let Some((first, last)) = text.split_once("..") {
        let (first, last) = (parse(first)?, parse(last.trim_start_matches('='))?);
        if first > last || last - first >= 1_000 {
            bail!("--epochs {text}: a range of 1 to 1,000 epochs, first..last");
        }
        return Ok((first..=last).collect());
    }
    text.split(',').map(parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_urls_split_into_root_and_epoch() {
        assert_eq!(
            split_index_url("file:///srv/b/epochs/12/index.json"),
            ("file:///srv/b".to_string(), Some(12))
        );
        assert_eq!(
            split_index_url("s3://bucket/net/"),
            ("s3://bucket/net".to_string(), None)
        );
        assert_eq!(parse_epochs("3..5").unwrap(), vec![3, 4, 5]);
        assert_eq!(parse_epochs("7,9").unwrap(), vec![7, 9]);
        assert!(parse_epochs("5..3").is_err());
        assert!(parse_epochs("x").is_err());
    }
}
