//! The totals an epoch adds to and the chain's record of the epoch: the base checked against
//! what the chain paid and agreed, the votes read from the record or — once it is closed —
//! from finalized history, and the computed root against them.

use std::collections::BTreeMap;

use anchor_lang::prelude::Pubkey;
use groundwork_oracle_chain::{ActiveRoot, EpochVotes};
use groundwork_oracle_chainview::model::RootFact;
use groundwork_oracle_rewards::cumulative_tree;
use groundwork_oracle_rewards::report::EpochReport;
use groundwork_oracle_rewards::snapshot::ChainSnapshot;
use serde::Serialize;

/// The cumulative totals an epoch's report adds to: its cumulative totals less its own
/// rewards, per recipient (an error when a recipient's epoch reward exceeds its total).
pub fn base_of(report: &EpochReport) -> Result<BTreeMap<Pubkey, u64>, String> {
    let rewards = &report.rewards;
    for recipient in rewards.rewards.keys() {
        if !rewards.cumulative.contains_key(recipient) {
            return Err(format!(
                "{recipient} is paid this epoch but has no cumulative total"
            ));
        }
    }
    let mut base = BTreeMap::new();
    for (recipient, total) in &rewards.cumulative {
        let this_epoch = rewards.rewards.get(recipient).copied().unwrap_or(0);
        let before = total.checked_sub(this_epoch).ok_or_else(|| {
            format!("{recipient} is paid {this_epoch} this epoch, more than its cumulative {total}")
        })?;
        // A recipient first paid this epoch had no leaf before (trees hold no zero leaves).
        if before > 0 {
            base.insert(*recipient, before);
        }
    }
    Ok(base)
}

/// The base an epoch adds to, checked against the chain: what it sums to, the root it makes,
/// and whether the chain vouches for it.
#[derive(Clone, Debug, Serialize)]
pub struct BaseCheck {
    pub base_epoch: Option<u64>,
    pub base_total: u64,
    pub base_root: String,
    pub carried_dust_in: u64,
    /// What the chain paid to device pools before this epoch.
    pub paid_before: u64,
    pub problems: Vec<String>,
}

/// Checks `report`'s base, the way the verify stage forms it: its total plus the dust carried
/// in is what the chain paid to device pools before the epoch (`snapshot`'s close); it is the
/// previous epoch's cumulative totals, vouched for by the chain (`previous`: that epoch's
/// record, or its votes from history once the record is closed; `active`: the newest active
/// root); or, only when no root was ever agreed before the epoch, nothing (every earlier
/// pool carried as dust).
pub fn check_base(
    report: &EpochReport,
    base: &BTreeMap<Pubkey, u64>,
    snapshot: &ChainSnapshot,
    previous: Option<&EpochVotes>,
    active: Option<&ActiveRoot>,
) -> BaseCheck {
    let mut problems = Vec::new();
    let epoch = report.epoch;
    let paid_before = snapshot
        .params
        .device_pool_cumulative
        .saturating_sub(snapshot.params.device_share);
    let (base_total, base_root) = match cumulative_tree(base) {
        Ok((tree, total)) => (total, tree.root()),
        Err(error) => {
            problems.push(format!("the base's tree: {error}"));
            (0, [0; 32])
        }
    };
    let accounted = u128::from(base_total) + u128::from(report.carried_dust_in);
    if accounted != u128::from(paid_before) {
        problems.push(format!(
            "the base's total {base_total} plus the dust carried in {} is not the {paid_before} the chain paid to device pools before epoch {epoch}",
            report.carried_dust_in
        ));
    }
    let previous_epoch = epoch.checked_sub(1);
    let previous_agreed = previous.is_some_and(|votes| {
        votes.agreed.is_some()
            || votes
                .votes
                .iter()
                .any(|(_, root, total)| votes.has_quorum_for(root, *total))
    });
    match (report.base_epoch, previous_epoch) {
        (None, _) if base_total > 0 => problems.push(format!(
            "the report adds to no earlier epoch, yet its totals hold {base_total} from before"
        )),
        (None, None) => {}
        (None, Some(previous_epoch)) => {
            if paid_before > 0 {
                if let Some(active) = active.filter(|active| active.epoch < epoch) {
                    problems.push(format!(
                        "the report adds to nothing, yet epoch {}'s root was active before epoch {epoch}: the earlier totals are dropped",
                        active.epoch
                    ));
                } else if previous_agreed {
                    problems.push(format!(
                        "the report adds to nothing, yet the oracles agreed on epoch {previous_epoch}'s root: the earlier totals are dropped"
                    ));
                }
            }
        }
        (Some(base_epoch), _) if Some(base_epoch) != previous_epoch => problems.push(format!(
            "the report adds to epoch {base_epoch}'s totals, not to the previous epoch's"
        )),
        (Some(base_epoch), _) => {
            let active_match = active.is_some_and(|active| {
                active.epoch == base_epoch
                    && active.root == base_root
                    && active.cumulative_total == base_total
            });
            let voted = previous.is_some_and(|votes| {
                votes
                    .agreed
                    .is_some_and(|(root, total, _)| (root, total) == (base_root, base_total))
                    || votes.has_quorum_for(&base_root, base_total)
            });
            if !active_match && !voted {
                problems.push(match previous {
                    None => format!(
                        "the totals it adds to (root {}, total {base_total}) cannot be checked: the chain holds no record or vote of epoch {base_epoch}",
                        hex::encode(base_root)
                    ),
                    Some(_) => format!(
                        "the totals it adds to (root {}, total {base_total}) are neither epoch {base_epoch}'s active root nor agreed by a quorum of its votes on chain",
                        hex::encode(base_root)
                    ),
                });
            }
        }
    }
    BaseCheck {
        base_epoch: report.base_epoch,
        base_total,
        base_root: hex::encode(base_root),
        carried_dust_in: report.carried_dust_in,
        paid_before,
        problems,
    }
}

/// `epoch`'s votes as finalized history holds them (`facts`, in chain order: the votes after
/// the last veto, the activation), counted against the current oracle set and quorum; `None`
/// when history holds no vote of it. What stands in for the record once it is closed.
pub fn votes_from_history(
    epoch: u64,
    facts: &[RootFact],
    oracles: &[Pubkey],
    quorum: u8,
) -> Option<EpochVotes> {
    let mut votes: BTreeMap<Pubkey, ([u8; 32], u64)> = BTreeMap::new();
    let mut activated = None;
    let mut vetoes = 0u8;
    let mut seen = false;
    for fact in facts {
        match *fact {
            RootFact::Voted {
                epoch: of,
                oracle,
                root,
                cumulative_total,
            } if of == epoch => {
                seen = true;
                votes.insert(oracle, (root, cumulative_total));
            }
            RootFact::Vetoed { epoch: of } if of == epoch => {
                votes.clear();
                vetoes = vetoes.saturating_add(1);
            }
            RootFact::Activated {
                epoch: of,
                root,
                cumulative_total,
            } if of == epoch => {
                seen = true;
                activated = Some((root, cumulative_total, true));
            }
            _ => {}
        }
    }
    seen.then(|| EpochVotes {
        votes: votes
            .into_iter()
            .map(|(oracle, (root, total))| (oracle, root, total))
            .collect(),
        oracles: oracles.to_vec(),
        quorum,
        agreed: activated,
        vetoes,
        activation: None,
    })
}

/// One vote in the epoch's record on chain, and which root it matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoteFinding {
    pub oracle: String,
    pub root: String,
    pub cumulative_total: u64,
    /// "computed" (the root this check computed), "report" (the bundle's report only) or
    /// "neither".
    pub matches: &'static str,
    /// Whether the oracle is in the current oracle set.
    pub in_oracle_set: bool,
}

/// The epoch's record on chain against the computed root and the report's.
#[derive(Clone, Debug, Serialize)]
pub struct ChainFindings {
    pub votes: Vec<VoteFinding>,
    pub quorum: u8,
    /// Votes of current oracles for the computed root and total.
    pub votes_for_computed: usize,
    /// "voting", "pending" or "active" (the record's, or from history once it is closed).
    pub status: String,
    /// The root the record holds as agreed (pending or active), if any.
    pub agreed_root: Option<String>,
    /// Where the votes were read: "record" or "history" (the record was closed).
    pub source: &'static str,
    pub vetoes: u8,
    pub problems: Vec<String>,
}

/// Compares the chain's record of `epoch` (`votes`, from the record or from history; `active`:
/// the newest active root) with the computed root and total and the report's. It matches
/// only when the root the record agreed on (pending or active) is the computed one, or a
/// quorum of the current oracles voted it, and no oracle voted another.
pub fn chain_findings(
    epoch: u64,
    computed: (&[u8; 32], u64),
    reported: (&[u8; 32], u64),
    votes: Option<&EpochVotes>,
    source: &'static str,
    active: Option<&ActiveRoot>,
) -> ChainFindings {
    let mut problems = Vec::new();
    let mut findings = Vec::new();
    let (mut quorum, mut votes_for_computed, mut vetoes) = (0, 0, 0);
    let mut status = "none".to_string();
    let mut agreed_root = None;
    match votes {
        None => problems.push(format!(
            "the chain holds no record of epoch {epoch} and history no vote of it (not closed yet?)"
        )),
        Some(record) => {
            quorum = record.quorum;
            vetoes = record.vetoes;
            for (oracle, root, total) in &record.votes {
                let matches = if (root, *total) == (computed.0, computed.1) {
                    "computed"
                } else if (root, *total) == (reported.0, reported.1) {
                    "report"
                } else {
                    "neither"
                };
                let in_oracle_set = record.oracles.contains(oracle);
                if matches == "computed" && in_oracle_set {
                    votes_for_computed += 1;
                }
                findings.push(VoteFinding {
                    oracle: oracle.to_string(),
                    root: hex::encode(root),
                    cumulative_total: *total,
                    matches,
                    in_oracle_set,
                });
            }
            // A vote of a key no longer in the oracle set counts for nothing on chain: listed,
            // not a problem.
            for vote in findings
                .iter()
                .filter(|vote| vote.matches != "computed" && vote.in_oracle_set)
            {
                problems.push(format!(
                    "oracle {} voted root {} (total {}), which is not the computed root ({})",
                    vote.oracle,
                    vote.root,
                    vote.cumulative_total,
                    if vote.matches == "report" {
                        "it is the bundle's report's"
                    } else {
                        "nor the bundle's report's"
                    }
                ));
            }
            let agreed_matches = match record.agreed {
                Some((root, total, active)) => {
                    status = if active { "active" } else { "pending" }.to_string();
                    agreed_root = Some(hex::encode(root));
                    if (&root, total) != (computed.0, computed.1) {
                        problems.push(format!(
                            "the chain's {status} root of epoch {epoch} is {} (total {total}), not the computed root",
                            hex::encode(root)
                        ));
                        false
                    } else {
                        true
                    }
                }
                None => {
                    status = "voting".to_string();
                    false
                }
            };
            let quorum_met = quorum > 0 && votes_for_computed >= usize::from(quorum);
            if !agreed_matches && !quorum_met {
                problems.push(format!(
                    "the chain has not agreed on the computed root yet: {votes_for_computed} of the current oracles' votes for it, quorum {quorum}"
                ));
            }
        }
    }
    if let Some(active) = active.filter(|active| active.epoch == epoch) {
        status = "active".to_string();
        if (&active.root, active.cumulative_total) != (computed.0, computed.1) {
            problems.push(format!(
                "the chain's active root for epoch {epoch} is {} (total {}), not the computed root",
                hex::encode(active.root),
                active.cumulative_total
            ));
        }
    }
    ChainFindings {
        votes: findings,
        quorum,
        votes_for_computed,
        status,
        agreed_root,
        source,
        vetoes,
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use groundwork_oracle_rewards::report::{InputSet, REPORT_VERSION};
    use groundwork_oracle_rewards::snapshot::{EpochClose, SNAPSHOT_VERSION};
    use groundwork_oracle_rewards::EpochRewards;

    const EPOCH: u64 = 5;
    const SHARE: u64 = 1_000;

    fn key(byte: u8) -> Pubkey {
        Pubkey::new_from_array([byte; 32])
    }

    fn snapshot(paid_before: u64) -> ChainSnapshot {
        ChainSnapshot {
            version: SNAPSHOT_VERSION,
            epoch: EPOCH,
            start_ts: 0,
            end_ts: 60,
            params: EpochClose {
                epoch: EPOCH,
                closed_at: 61,
                minted: SHARE,
                device_share: SHARE,
                staker_share: 0,
                treasury_share: 0,
                device_pool_cumulative: paid_before + SHARE,
                devices_bps: 10_000,
                stakers_bps: 0,
                treasury_bps: 0,
            },
            credit_prices: Vec::new(),
            classes: Vec::new(),
            operators: Vec::new(),
            devices: Vec::new(),
        }
    }

    /// A report of EPOCH adding `paid` to `base` (recipient by recipient) on `base_epoch`.
    fn report(
        base: &[(u8, u64)],
        paid: &[(u8, u64)],
        base_epoch: Option<u64>,
        dust_in: u64,
    ) -> EpochReport {
        let mut cumulative: BTreeMap<Pubkey, u64> = base
            .iter()
            .map(|(who, amount)| (key(*who), *amount))
            .collect();
        let rewards: BTreeMap<Pubkey, u64> = paid
            .iter()
            .map(|(who, amount)| (key(*who), *amount))
            .collect();
        for (who, amount) in &rewards {
            *cumulative.entry(*who).or_default() += amount;
        }
        let (tree, total) = cumulative_tree(&cumulative).unwrap();
        EpochReport {
            version: REPORT_VERSION,
            epoch: EPOCH,
            snapshot_digest: [0; 32],
            inputs: Vec::new(),
            union: InputSet {
                messages: 0,
                conflicts: 0,
                digest: String::new(),
            },
            missing_peer_sets: 0,
            carried_dust_in: dust_in,
            base_epoch,
            rewards: EpochRewards {
                epoch: EPOCH,
                pool: SHARE + dust_in,
                coverage_pool: 0,
                data_pool: 0,
                data_to_coverage: 0,
                dust: 0,
                credit_value: None,
                unknown_device_messages: 0,
                not_onboarded_messages: 0,
                rows: Vec::new(),
                pools: Vec::new(),
                rewards,
                cumulative,
                root: tree.root(),
                cumulative_total: total,
            },
        }
    }

    fn agreed(root: [u8; 32], total: u64) -> EpochVotes {
        EpochVotes {
            votes: Vec::new(),
            oracles: vec![key(90), key(91), key(92)],
            quorum: 2,
            agreed: Some((root, total, false)),
            vetoes: 0,
            activation: None,
        }
    }

    #[test]
    fn a_recipient_first_paid_this_epoch_has_no_leaf_in_the_base() {
        let report = report(&[(1, 700)], &[(1, 100), (2, 200)], Some(EPOCH - 1), 300);
        let base = base_of(&report).unwrap();
        assert_eq!(base, BTreeMap::from([(key(1), 700)]));
        // The base is the previous epoch's tree: the chain agreed on it.
        let (tree, total) = cumulative_tree(&base).unwrap();
        let previous = agreed(tree.root(), total);
        let check = check_base(&report, &base, &snapshot(1_000), Some(&previous), None);
        assert_eq!(check.problems, Vec::<String>::new());
        assert_eq!((check.base_total, check.paid_before), (700, 1_000));
    }

    #[test]
    fn a_base_the_chain_does_not_vouch_for_is_named() {
        let honest = report(&[(1, 700)], &[(1, 100)], Some(EPOCH - 1), 300);
        let base = base_of(&honest).unwrap();
        let (tree, total) = cumulative_tree(&base).unwrap();
        let previous = agreed(tree.root(), total);
        // Another epoch's totals than the previous one's.
        let skipped = report(&[(1, 700)], &[(1, 100)], Some(EPOCH - 2), 300);
        let check = check_base(&skipped, &base, &snapshot(1_000), Some(&previous), None);
        assert!(
            check.problems[0].contains("not to the previous epoch's"),
            "{:?}",
            check.problems
        );
        // Totals moved between recipients: the sums hold, the root is not the agreed one.
        let moved = report(&[(1, 600), (3, 100)], &[(1, 100)], Some(EPOCH - 1), 300);
        let moved_base = base_of(&moved).unwrap();
        let check = check_base(&moved, &moved_base, &snapshot(1_000), Some(&previous), None);
        assert_eq!(check.problems.len(), 1, "{:?}", check.problems);
        assert!(
            check.problems[0].contains("neither"),
            "{:?}",
            check.problems
        );
        // Dust that does not account for what was paid before.
        let short = report(&[(1, 700)], &[(1, 100)], Some(EPOCH - 1), 200);
        let check = check_base(&short, &base, &snapshot(1_000), Some(&previous), None);
        assert!(
            check.problems[0].contains("is not the 1000"),
            "{:?}",
            check.problems
        );
        // The previous epoch's record is gone and history holds no vote: it cannot be checked.
        let check = check_base(&honest, &base, &snapshot(1_000), None, None);
        assert!(
            check.problems[0].contains("cannot be checked"),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn a_report_that_drops_the_earlier_totals_is_named() {
        // Everything paid before carried as dust, no base: only when no root was agreed.
        let fresh = report(&[], &[(1, 2_000)], None, 1_000);
        assert!(
            check_base(&fresh, &BTreeMap::new(), &snapshot(1_000), None, None)
                .problems
                .is_empty()
        );
        let active = ActiveRoot {
            epoch: EPOCH - 2,
            root: [1; 32],
            cumulative_total: 500,
        };
        let check = check_base(
            &fresh,
            &BTreeMap::new(),
            &snapshot(1_000),
            None,
            Some(&active),
        );
        assert!(
            check.problems[0].contains("was active before"),
            "{:?}",
            check.problems
        );
        let previous = agreed([2; 32], 1_000);
        let check = check_base(
            &fresh,
            &BTreeMap::new(),
            &snapshot(1_000),
            Some(&previous),
            None,
        );
        assert!(
            check.problems[0].contains("agreed on epoch 4's root"),
            "{:?}",
            check.problems
        );
    }

    #[test]
    fn history_stands_in_for_a_closed_record_and_a_veto_clears_votes() {
        let facts = [
            RootFact::Voted {
                epoch: EPOCH,
                oracle: key(90),
                root: [7; 32],
                cumulative_total: 9,
            },
            RootFact::Voted {
                epoch: EPOCH + 1,
                oracle: key(90),
                root: [8; 32],
                cumulative_total: 9,
            },
            RootFact::Vetoed { epoch: EPOCH },
            RootFact::Voted {
                epoch: EPOCH,
                oracle: key(91),
                root: [3; 32],
                cumulative_total: 4,
            },
            RootFact::Voted {
                epoch: EPOCH,
                oracle: key(92),
                root: [3; 32],
                cumulative_total: 4,
            },
            RootFact::Activated {
                epoch: EPOCH,
                root: [3; 32],
                cumulative_total: 4,
            },
        ];
        let oracles = [key(90), key(91), key(92)];
        let votes = votes_from_history(EPOCH, &facts, &oracles, 2).unwrap();
        assert_eq!(
            votes.votes,
            vec![(key(91), [3; 32], 4), (key(92), [3; 32], 4)]
        );
        assert_eq!(votes.vetoes, 1);
        assert_eq!(votes.agreed, Some(([3; 32], 4, true)));
        assert!(votes_from_history(EPOCH + 7, &facts, &oracles, 2).is_none());
    }

    #[test]
    fn the_chain_matches_only_with_a_quorum_or_its_agreed_root() {
        let computed = ([3; 32], 4);
        let mut record = EpochVotes {
            votes: vec![(key(90), [3; 32], 4)],
            oracles: vec![key(90), key(91), key(92)],
            quorum: 2,
            agreed: None,
            vetoes: 0,
            activation: None,
        };
        let check = |record: &EpochVotes| {
            chain_findings(
                EPOCH,
                (&computed.0, computed.1),
                (&computed.0, computed.1),
                Some(record),
                "record",
                None,
            )
        };
        let one_vote = check(&record);
        assert!(one_vote.problems[0].contains("1 of the current oracles' votes"));
        record.votes.push((key(91), [3; 32], 4));
        assert!(check(&record).problems.is_empty());
        // A third oracle voted something else: named.
        record.votes.push((key(92), [6; 32], 4));
        let split = check(&record);
        assert_eq!(split.votes[2].matches, "neither");
        assert_eq!(split.problems.len(), 1, "{:?}", split.problems);
        // The record agreed on another root (pending): named even with a quorum for ours.
        record.votes.pop();
        record.agreed = Some(([6; 32], 4, false));
        let pending = check(&record);
        assert_eq!(pending.status, "pending");
        assert!(
            pending.problems[0].contains("pending root"),
            "{:?}",
            pending.problems
        );
        // A key no longer in the oracle set voted another root: listed, counts for nothing.
        record.agreed = None;
        record.votes.push((key(77), [6; 32], 4));
        let outsider = check(&record);
        assert_eq!(outsider.votes[2].matches, "neither");
        assert!(!outsider.votes[2].in_oracle_set);
        assert!(outsider.problems.is_empty(), "{:?}", outsider.problems);
        // No record and no history.
        let none = chain_findings(
            EPOCH,
            (&computed.0, 4),
            (&computed.0, 4),
            None,
            "history",
            None,
        );
        assert!(none.problems[0].contains("no record"));
    }
}
