//! `groundwork-oracle --config <file> recompute --from-epoch N`: what an operator runs after
//! the authority vetoed epoch N's root (SPEC 4.4). With the oracle stopped, it moves epoch
//! N's report and every later one aside — with their peers files and submission files — into
//! `<data_dir>/recomputed/<unix ms>/`, and records the roots it moved for epoch N as vetoed.
//! Started again with the corrected configuration (a changed parameter or denylist), the
//! oracle computes those epochs again and votes them; a recomputed root equal to a vetoed
//! one is refused, never stored or voted. No reward is lost: totals are cumulative.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use groundwork_oracle_core::files::{epoch_files, lock_directory, write_atomically, DATA_LOCK};
use groundwork_oracle_rewards::report::Reports;
use groundwork_oracle_verify::stage::{vetoed_roots, vetoed_roots_path};

/// What a recompute moved.
#[derive(Debug, PartialEq, Eq)]
pub struct Recomputed {
    /// The epochs whose reports were moved aside.
    pub epochs: Vec<u64>,
    /// Where they went.
    pub moved_to: PathBuf,
    /// The roots now refused for the first of them (hex).
    pub vetoed_roots: Vec<String>,
}

/// Moves epoch `from`'s report and every later one aside (see the module docs). Refuses
/// while an oracle runs on the data directory (whichever store it uses).
pub fn recompute_from(data_dir: &Path, from: u64, now_ms: i64) -> Result<Recomputed> {
    let Some(_data_lock) =
        lock_directory(data_dir).with_context(|| format!("locking {}", data_dir.display()))?
    else {
        bail!(
            "an oracle is running on {} (it holds {}): stop it first",
            data_dir.display(),
            data_dir.join(DATA_LOCK).display()
        );
    };
    let reports = Reports::new(data_dir.join("reports"));
    let epochs: Vec<u64> = reports
        .epochs()
        .context("listing the stored reports")?
        .into_iter()
        .filter(|epoch| *epoch >= from)
        .collect();
    if epochs.first() != Some(&from) {
        bail!("epoch {from} has no stored report: nothing to recompute");
    }
    let report = reports
        .load(from)
        .context("reading the vetoed epoch's report")?
        .expect("listed above");
    let vetoed_path = vetoed_roots_path(&reports, from);
    let mut vetoed_roots = vetoed_roots(&reports, from).context("reading the vetoed roots")?;
    let root = hex::encode(report.rewards.root);
    if !vetoed_roots.contains(&root) {
        vetoed_roots.push(root);
    }
    write_atomically(
        &vetoed_path,
        &serde_json::to_vec_pretty(&vetoed_roots).expect("roots serialise"),
    )
    .with_context(|| format!("writing {}", vetoed_path.display()))?;
    let moved_to = data_dir.join("recomputed").join(now_ms.to_string());
    let submissions = data_dir.join("submit");
    let submitted = epoch_files(&submissions, ".json").context("listing the submissions")?;
    for epoch in &epochs {
        for (dir, name) in [
            (reports.dir(), format!("{epoch}.report")),
            (reports.dir(), format!("{epoch}.peers.json")),
            (reports.dir(), format!("{epoch}.params.json")),
        ] {
            move_aside(&dir.join(&name), &moved_to.join("reports").join(&name))?;
        }
    }
    // An epoch set aside as unpublishable is tried again with its new report.
    let bundles_work = data_dir.join("bundles-work");
    for epoch in &epochs {
        let name = format!("{epoch}.unpublishable");
        move_aside(
            &bundles_work.join(&name),
            &moved_to.join("bundles-work").join(&name),
        )?;
    }
    for epoch in submitted.iter().filter(|epoch| **epoch >= from) {
        let name = format!("{epoch}.json");
        move_aside(
            &submissions.join(&name),
            &moved_to.join("submit").join(&name),
        )?;
    }
    Ok(Recomputed {
        epochs,
        moved_to,
        vetoed_roots,
    })
}

/// Renames `from` to `to` (creating `to`'s folder); nothing when `from` does not exist.
fn move_aside(from: &Path, to: &Path) -> Result<()> {
    if !from.exists() {
        return Ok(());
    }
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::rename(from, to)
        .with_context(|| format!("moving {} to {}", from.display(), to.display()))
}
