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
use groundwork_oracle_bundle::check::{
    base_of, chain_findings, check_base, device_differences, epoch_differences, fetch, recompute,
    snapshot_differences, votes_from_history, BaseCheck, ChainFindings, DeviceDifference,
    FetchedBundle,
};
use groundwork_oracle_bundle::replay::{changed_params, EpochReplay, ReplayChain};
use groundwork_oracle_bundle::BundleStore;
use groundwork_oracle_chain::{Chain, RpcChain};
use groundwork_oracle_chainview::ChainView;
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

/// Checks the telemetry of `bundle` and computes the epoch with `snapshot` and `params`, with
/// a progress bar over the bytes read.
fn recompute_with_bar(
    bundle: &FetchedBundle,
    snapshot: &groundwork_oracle_rewards::snapshot::ChainSnapshot,
    params: &groundwork_oracle_rewards::VerifyParams,
    carried_dust_in: u64,
    base: &BTreeMap<anchor_lang::prelude::Pubkey, u64>,
    output: Output,
    what: &str,
) -> Result<groundwork_oracle_bundle::check::Recomputed> {
    let bar = bytes_bar(
        output,
        bundle
            .index
            .part(groundwork_oracle_bundle::PartName::Telemetry)
            .bytes,
        what,
    );
    let recomputed = recompute(
        &bundle.telemetry,
        network_key(),
        snapshot,
        params,
        carried_dust_in,
        base,
        |read| bar.set_position(read),
    );
    bar.finish_and_clear();
    Ok(recomputed?)
}

/// The key every message of this network names (the device registry's config).
fn network_key() -> Key {
    Key(groundwork_client::device_registry::registry_config_address().to_bytes())
}

/// What `verify-epoch` found.
#[derive(Serialize)]
pub struct EpochCheck {
    pub epoch: u64,
    pub ok: bool,
    /// Every problem, one line each (empty when OK).
    pub problems: Vec<String>,
    pub bundle: String,
    pub index_digest: String,
    pub telemetry_bytes: u64,
    pub records: u64,
    pub refused_records: BTreeMap<String, u64>,
    pub union_messages: u64,
    pub union_conflicts: u64,
    /// The snapshot's digest in the bundle, in the report, and as rebuilt from the chain.
    pub snapshot_bundle: String,
    pub snapshot_report: String,
    pub snapshot_chain: String,
    pub snapshot_differences: Vec<String>,
    pub base: BaseCheck,
    pub reported_root: String,
    pub reported_total: u64,
    pub computed_root: String,
    pub computed_total: u64,
    pub devices_differing: Vec<DeviceDifference>,
    pub chain: ChainFindings,
    pub rpc: String,
    /// SHA-256 of the bundle's `[verify]` parameters (canonical form): what it was computed
    /// with. `--params` pins them to the network's.
    pub params_digest: String,
    #[serde(skip)]
    pub decimals: u8,
}

impl std::fmt::Display for EpochCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.ok {
            writeln!(f, "epoch {}: OK", self.epoch)?;
        } else {
            writeln!(
                f,
                "epoch {}: DOES NOT CHECK OUT ({} problems)",
                self.epoch,
                self.problems.len()
            )?;
            for problem in &self.problems {
                writeln!(f, "  - {problem}")?;
            }
        }
        writeln!(
            f,
            "  bundle     {} (index {}, telemetry {} bytes)",
            self.bundle, self.index_digest, self.telemetry_bytes
        )?;
        let refused: u64 = self.refused_records.values().sum();
        writeln!(
            f,
            "  telemetry  {} records ({} messages, {} conflicting copies), {}",
            self.records,
            self.union_messages,
            self.union_conflicts,
            if refused == 0 {
                "every signature holds".to_string()
            } else {
                format!("{refused} refused: {:?}", self.refused_records)
            }
        )?;
        writeln!(
            f,
            "  snapshot   rebuilt from {}: {}{}",
            self.rpc,
            self.snapshot_chain,
            if self.snapshot_chain == self.snapshot_bundle
                && self.snapshot_bundle == self.snapshot_report
            {
                " = the bundle's = the report's".to_string()
            } else {
                format!(
                    " (the bundle's {}, the report's {})",
                    self.snapshot_bundle, self.snapshot_report
                )
            }
        )?;
        for line in &self.snapshot_differences {
            writeln!(f, "             {line}")?;
        }
        writeln!(
            f,
            "  base       {} (total {}) + dust {} = {} paid to device pools before",
            self.base.base_epoch.map_or_else(
                || "nothing before".into(),
                |epoch| format!("epoch {epoch}'s totals")
            ),
            format_amount(self.base.base_total, self.decimals),
            format_amount(self.base.carried_dust_in, self.decimals),
            format_amount(self.base.paid_before, self.decimals),
        )?;
        writeln!(
            f,
            "  computed   root {} total {}{}",
            self.computed_root,
            format_amount(self.computed_total, self.decimals),
            if self.computed_root == self.reported_root
                && self.computed_total == self.reported_total
            {
                " = the report's".to_string()
            } else {
                format!(
                    "; the report: root {} total {}",
                    self.reported_root,
                    format_amount(self.reported_total, self.decimals)
                )
            }
        )?;
        writeln!(
            f,
            "  chain      {} of the current oracles' votes for this root (quorum {}); {}{} (from the epoch's {})",
            self.chain.votes_for_computed,
            self.chain.quorum,
            self.chain.status,
            if self.chain.vetoes > 0 {
                format!(", {} vetoes before", self.chain.vetoes)
            } else {
                String::new()
            },
            self.chain.source
        )?;
        writeln!(
            f,
            "  params     {} ([verify], canonical)",
            self.params_digest
        )?;
        if !self.devices_differing.is_empty() {
            writeln!(
                f,
                "  devices whose rewards differ ({}, largest first):",
                self.devices_differing.len()
            )?;
            for difference in self.devices_differing.iter().take(20) {
                let amount = |value: Option<u64>| {
                    value.map_or_else(|| "none".into(), |v| format_amount(v, self.decimals))
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
            if self.devices_differing.len() > 20 {
                writeln!(
                    f,
                    "    and {} more (--output json lists every one)",
                    self.devices_differing.len() - 20
                )?;
            }
        }
        Ok(())
    }
}

/// `groundwork rewards verify-epoch`.
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
    let runtime = runtime()?;
    let work = tempfile::tempdir().context("creating a temporary folder")?;
    let bundle = fetch_bundle(&runtime, &store, epoch, work.path(), ctx.output)?;
    let params_digest = groundwork_oracle_bundle::sha256_hex(&bundle.params.canonical_bytes());
    let rpc = ctx.ledger.client.url();
    let chain = RpcChain::new(std::slice::from_ref(&rpc));

    // The epoch's chain snapshot, rebuilt from finalized history by this process alone; the
    // roots' votes and activations since the epoch's start from the same history (what
    // stands in for an epoch record closed on chain).
    let rebuilding = spinner(ctx.output, "rebuilding the chain snapshot");
    let rebuilt = runtime.block_on(async {
        let timing = chain.epoch_timing().await?;
        let mut view = ChainView::open(
            std::slice::from_ref(&rpc),
            work.path().join("chain-view"),
            timing,
            epoch,
        )?;
        view.poll().await?;
        let root_facts = view.root_facts();
        let snapshot = view.snapshot(epoch).await?;
        anyhow::Ok((snapshot, root_facts))
    });
    rebuilding.finish_and_clear();
    let (chain_snapshot, root_facts) = rebuilt.context("rebuilding the epoch's chain snapshot")?;
    let chain_snapshot = chain_snapshot.with_context(|| format!("the chain has not closed epoch {epoch} (finalized): there is no snapshot to check against yet"))?;

    let report = &bundle.report;
    let mut problems = Vec::new();
    if let Some(expected) = &expected_params {
        if *expected != bundle.params {
            problems.push(format!(
                "the bundle's [verify] parameters are not the network's (--params): the bundle's {}",
                String::from_utf8_lossy(&bundle.params.canonical_bytes())
            ));
        }
    }
    let base = base_of(report).map_err(|error| anyhow::anyhow!("the report's totals: {error}"))?;
    let reward_config = ctx.reward_config()?;
    // An epoch's record, or — once it was closed on chain — its votes from history.
    let record_or_history =
        |record: Option<groundwork_oracle_chain::EpochVotes>, of: u64| match record {
            Some(record) => (Some(record), "record"),
            None => (
                votes_from_history(
                    of,
                    &root_facts,
                    &reward_config.oracles,
                    reward_config.quorum,
                ),
                "history",
            ),
        };
    let (previous, votes, active) = runtime.block_on(async {
        let previous = match epoch.checked_sub(1) {
            Some(previous) => chain.epoch_votes(previous).await?,
            None => None,
        };
        anyhow::Ok((
            previous,
            chain.epoch_votes(epoch).await?,
            chain.active_root().await?,
        ))
    })?;
    let (previous, _) = match epoch.checked_sub(1) {
        Some(of) => record_or_history(previous, of),
        None => (None, "record"),
    };
    let (votes, votes_source) = record_or_history(votes, epoch);
    let base_check = check_base(
        report,
        &base,
        &chain_snapshot,
        previous.as_ref(),
        active.as_ref(),
    );
    problems.extend(base_check.problems.iter().cloned());

    let recomputed = recompute_with_bar(
        &bundle,
        &chain_snapshot,
        &bundle.params,
        report.carried_dust_in,
        &base,
        ctx.output,
        "checking and computing",
    )?;
    let refused: u64 = recomputed.refused.values().sum();
    if refused > 0 {
        problems.push(format!(
            "{refused} of the {} records fail a check: {:?}",
            recomputed.records, recomputed.refused
        ));
    }
    if recomputed.streamed != recomputed.announced {
        problems.push(format!(
            "the telemetry's records make manifest {} ({} messages, {} conflicts), not the {} ({} messages, {} conflicts) it announces",
            recomputed.streamed.digest,
            recomputed.streamed.messages,
            recomputed.streamed.conflicts,
            recomputed.announced.digest,
            recomputed.announced.messages,
            recomputed.announced.conflicts
        ));
    }
    let union = &report.union;
    if (union.messages, union.conflicts, &union.digest)
        != (
            recomputed.streamed.messages,
            recomputed.streamed.conflicts,
            &recomputed.streamed.digest,
        )
    {
        problems.push(format!(
            "the report was computed over union {} ({} messages, {} conflicts); the bundle's telemetry is {} ({} messages, {} conflicts)",
            union.digest,
            union.messages,
            union.conflicts,
            recomputed.streamed.digest,
            recomputed.streamed.messages,
            recomputed.streamed.conflicts
        ));
    }
    let snapshot_chain = chain_snapshot.digest_hex();
    let snapshot_report = hex::encode(report.snapshot_digest);
    let mut snapshot_lines = Vec::new();
    if snapshot_chain != bundle.snapshot_digest || snapshot_report != bundle.snapshot_digest {
        problems.push(format!(
            "the chain snapshot rebuilt from the chain ({snapshot_chain}) is not the bundle's ({}) or the report's ({snapshot_report})",
            bundle.snapshot_digest
        ));
        snapshot_lines = snapshot_differences(&bundle.snapshot, &chain_snapshot, 20);
    }
    let computed = &recomputed.rewards;
    let differing = device_differences(
        &report.rewards,
        computed,
        &chain_snapshot,
        &bundle.params,
        &bundle.params,
    );
    if computed.root != report.rewards.root
        || computed.cumulative_total != report.rewards.cumulative_total
    {
        problems.push(format!(
            "computed again, the epoch's root is {} (total {}), not the report's {} (total {}): {} devices' rewards differ",
            hex::encode(computed.root),
            computed.cumulative_total,
            hex::encode(report.rewards.root),
            report.rewards.cumulative_total,
            differing.len()
        ));
    } else if !differing.is_empty() {
        problems.push(format!(
            "the root matches but {} devices' rows differ",
            differing.len()
        ));
    }
    problems.extend(epoch_differences(&report.rewards, computed));
    let findings = chain_findings(
        epoch,
        (&computed.root, computed.cumulative_total),
        (&report.rewards.root, report.rewards.cumulative_total),
        votes.as_ref(),
        votes_source,
        active.as_ref(),
    );
    problems.extend(findings.problems.iter().cloned());
    let check = EpochCheck {
        epoch,
        ok: problems.is_empty(),
        problems,
        bundle: format!(
            "{}/{}",
            store.url(),
            groundwork_oracle_bundle::index_path(epoch)
        ),
        index_digest: bundle.index_digest.clone(),
        telemetry_bytes: bundle
            .index
            .part(groundwork_oracle_bundle::PartName::Telemetry)
            .bytes,
        records: recomputed.records,
        refused_records: recomputed.refused.clone(),
        union_messages: recomputed.streamed.messages,
        union_conflicts: recomputed.streamed.conflicts,
        snapshot_bundle: bundle.snapshot_digest.clone(),
        snapshot_report,
        snapshot_chain,
        snapshot_differences: snapshot_lines,
        base: base_check,
        reported_root: hex::encode(report.rewards.root),
        reported_total: report.rewards.cumulative_total,
        computed_root: hex::encode(computed.root),
        computed_total: computed.cumulative_total,
        devices_differing: differing,
        chain: findings,
        rpc,
        params_digest,
        decimals: ctx.network_decimals().unwrap_or(0),
    };
    ctx.print(&check)?;
    if !check.ok {
        bail!(
            "epoch {epoch} does not check out: {} problems (above)",
            check.problems.len()
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
