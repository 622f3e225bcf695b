//! [`ChainView`]: the programs' finalized history followed over JSON-RPC, the current device
//! set for ingest, and the snapshot of any closed epoch as of its end.
//!
//! The view keeps a *base* — the tracked state with every event before the start of the
//! *base epoch* applied and none after — and a *journal* of every event after the base, in
//! chain order. The current state is the base with the whole journal applied; the state at an
//! epoch's start is the base with the journal's events before that time applied; the epoch's
//! own events follow in the journal. Both come from finalized history only, so a view that
//! followed the chain all along and one started later (which goes back from what it loaded by
//! undoing the events since, each carrying the values before it) hold the same base, and
//! produce the same snapshot byte for byte.

use std::collections::HashMap;
use std::path::PathBuf;

use anchor_lang::Discriminator;
use groundwork_oracle_chain::EpochTiming;
use groundwork_oracle_core::devices::DeviceInfo;
use groundwork_telemetry::Key;

use crate::files::{BaseFile, JournalRecord, ViewFiles};
use crate::model::{
    decode_event, ChainState, Decoded, Entity, EpochClose, EpochLedger, Fact, LedgerFact, Program,
    Purchase, Value,
};
use crate::rpc::{merge_in_chain_order, transaction_events, Endpoints, Position, TxRef};
use crate::snapshot::{build, ChainSnapshot};
use crate::ViewError;

/// Where a device record's key starts (discriminator, bump, status, reason, class id).
const DEVICE_KEY_OFFSET: usize = 8 + 1 + 1 + 2 + 2;

/// One event after the base.
#[derive(Clone, Debug)]
struct JournalEvent {
    tx: TxRef,
    program: Program,
    data: Vec<u8>,
    decoded: Decoded,
}

struct ViewState {
    base_epoch: u64,
    base_slot: u64,
    base: ChainState,
    base_purchase: Option<Purchase>,
    journal: Vec<JournalEvent>,
    current: ChainState,
    position: Position,
}

/// What one poll did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// The chain was loaded whole (first start, nothing persisted).
    pub full_load: bool,
    pub transactions: usize,
    pub events_applied: usize,
    /// Events or transactions that did not decode (logged, skipped).
    pub skipped: usize,
    /// The slot the view stands at after the poll.
    pub slot: u64,
    /// The endpoint's finalized slot during the poll (`finalized - slot` is the lag).
    pub finalized: u64,
    /// Each device the applied events changed, with its new state (`None`: deactivated), in
    /// order. (After a full load the whole set is in [`ChainView::devices`] instead.)
    pub changes: Vec<(Key, Option<DeviceInfo>)>,
    /// Epochs whose `close_epoch` the poll saw: their snapshots can be made.
    pub closed_epochs: Vec<u64>,
}

/// What a full load read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    pub accounts: usize,
    /// Accounts that did not decode (logged, skipped).
    pub skipped: usize,
    /// Context slots of the first and the last page.
    pub first_slot: u64,
    pub last_slot: u64,
    /// Transactions between the pages' slots, applied to make one consistent state.
    pub transactions_between_pages: usize,
}

/// The chain view (see the module documentation).
pub struct ChainView {
    endpoints: Endpoints,
    files: ViewFiles,
    timing: EpochTiming,
    first_epoch: u64,
    state: Option<ViewState>,
    /// Device accounts are loaded in 256 pages (by the first byte of their key), so no answer
    /// holds the whole network.
    paged_devices: bool,
    last_load: Option<LoadReport>,
}

impl ChainView {
    /// A view over `urls` (tried in order) persisting in `dir`, for a network with `timing`;
    /// at first start it goes back to the start of `first_epoch` (the oldest epoch it will be
    /// asked about; older ones are reached on demand). Resumes from `dir` when it holds a view.
    pub fn open(
        urls: &[String],
        dir: impl Into<PathBuf>,
        timing: EpochTiming,
        first_epoch: u64,
    ) -> Result<Self, ViewError> {
        if timing.epoch_len_s <= 0 {
            return Err(ViewError::State {
                path: String::new(),
                message: format!("epoch length {} s", timing.epoch_len_s),
            });
        }
        let files = ViewFiles { dir: dir.into() };
        let state = match files.load_base()? {
            Some(base) => Some(restore(base, files.load_journal()?, &timing)),
            None => None,
        };
        Ok(ChainView {
            endpoints: Endpoints::new(urls),
            files,
            timing,
            first_epoch,
            state,
            paged_devices: true,
            last_load: None,
        })
    }

    /// Loads device accounts in one request instead of 256 pages (small networks, tests).
    pub fn with_unpaged_devices(mut self) -> Self {
        self.paged_devices = false;
        self
    }

    /// True once the chain is loaded (or the view was resumed).
    pub fn is_loaded(&self) -> bool {
        self.state.is_some()
    }

    /// The current device set.
    pub fn devices(&self) -> HashMap<Key, DeviceInfo> {
        self.state
            .as_ref()
            .map(|state| state.current.device_infos())
            .unwrap_or_default()
    }

    /// The current tracked state.
    pub fn current(&self) -> Option<&ChainState> {
        self.state.as_ref().map(|state| &state.current)
    }

    /// Where the view stands.
    pub fn position(&self) -> Option<&Position> {
        self.state.as_ref().map(|state| &state.position)
    }

    /// The epoch whose start the base stands at.
    pub fn base_epoch(&self) -> Option<u64> {
        self.state.as_ref().map(|state| state.base_epoch)
    }

    /// Events kept after the base.
    pub fn journal_len(&self) -> usize {
        self.state.as_ref().map_or(0, |state| state.journal.len())
    }

    /// About how many bytes of JSON the endpoints sent this view since it was opened.
    pub fn bytes_read(&self) -> u64 {
        self.endpoints.bytes_read()
    }

    /// What the last full load read.
    pub fn last_load(&self) -> Option<&LoadReport> {
        self.last_load.as_ref()
    }

    fn epoch_start(&self, epoch: u64) -> Result<i64, ViewError> {
        i64::try_from(epoch)
            .ok()
            .and_then(|epoch| epoch.checked_mul(self.timing.epoch_len_s))
            .and_then(|offset| offset.checked_add(self.timing.genesis_unix_s))
            .ok_or_else(|| ViewError::State {
                path: self.files.dir.display().to_string(),
                message: format!("epoch {epoch} is out of range"),
            })
    }

    /// Brings the view up to the newest finalized transaction (the full load first when there
    /// is no view yet), persists what it applied, and reports it.
    pub async fn poll(&mut self) -> Result<PollReport, ViewError> {
        let mut report = PollReport::default();
        if self.state.is_none() {
            let start = self.epoch_start(self.first_epoch)?;
            let (mut state, load) = self.full_load().await?;
            self.go_back_to(&mut state, self.first_epoch, start, true)
                .await?;
            self.files.rewrite_journal(&journal_records(&state))?;
            self.files.save_base(&base_file(&state))?;
            tracing::info!(
                accounts = load.accounts,
                skipped = load.skipped,
                slot = state.position.slot,
                base_epoch = state.base_epoch,
                events_after_base = state.journal.len(),
                "chain view loaded"
            );
            self.last_load = Some(load);
            self.state = Some(state);
            report.full_load = true;
        }
        let state = self.state.as_mut().expect("loaded");
        let position_before = state.position.clone();
        let mut appended = Vec::new();
        // A failure after something was applied still reports (and keeps) what was applied:
        // the caller must see every change exactly once.
        let outcome = follow(&self.endpoints, state, &mut report, &mut appended).await;
        if state.position != position_before {
            appended.push(JournalRecord::position(&state.position));
        }
        self.files.append_journal(&appended)?;
        report.slot = state.position.slot;
        if let Err(error) = outcome {
            if !report.full_load && report.transactions == 0 {
                return Err(error);
            }
            tracing::warn!(%error, "chain view poll stopped early; it goes on from there next time");
        }
        Ok(report)
    }

    /// What `pick` takes from each fact of the events after the base, in chain order.
    fn journal_facts<T>(&self, pick: impl Fn(&Fact) -> Option<T>) -> Vec<T> {
        self.state
            .as_ref()
            .map(|state| {
                state
                    .journal
                    .iter()
                    .flat_map(|event| &event.decoded.facts)
                    .filter_map(pick)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Epochs closed on chain after the base (their snapshots can be made), oldest first.
    pub fn closed_epochs(&self) -> Vec<u64> {
        self.journal_facts(|fact| match fact {
            Fact::EpochClosed(close) => Some(close.epoch),
            _ => None,
        })
    }

    /// What happened to epochs' roots after the base (votes, vetoes, activations), in chain
    /// order: an epoch's votes as finalized history holds them, also once its record is
    /// closed on chain. Read it before [`ChainView::snapshot`] moves the base on.
    pub fn root_facts(&self) -> Vec<crate::model::RootFact> {
        self.journal_facts(|fact| match fact {
            Fact::Root(root) => Some(*root),
            _ => None,
        })
    }

    /// The stored snapshot of `epoch`, if it was made.
    pub fn stored_snapshot(&self, epoch: u64) -> Result<Option<ChainSnapshot>, ViewError> {
        stored_snapshot(&self.files.dir, epoch)
    }

    /// The snapshot of `epoch` as of its end: the stored one, or made now (and stored) once
    /// the view has seen the epoch closed on chain; `None` before that. Making it moves the
    /// base to the next epoch's start. An epoch older than the base is reached by going back
    /// through the chain's history.
    pub async fn snapshot(&mut self, epoch: u64) -> Result<Option<ChainSnapshot>, ViewError> {
        if let Some(stored) = self.stored_snapshot(epoch)? {
            return Ok(Some(stored));
        }
        let Some(mut state) = self.state.take() else {
            return Ok(None);
        };
        let outcome = self.make_and_store(&mut state, epoch).await;
        // Whatever failed, the view keeps a state: the one in memory when it is whole, the
        // persisted one after a failure that may have left it half changed.
        self.state = Some(match &outcome {
            Err(_) => self.reload()?,
            Ok(_) => state,
        });
        outcome
    }

    async fn make_and_store(
        &self,
        state: &mut ViewState,
        epoch: u64,
    ) -> Result<Option<ChainSnapshot>, ViewError> {
        let start = self.epoch_start(epoch)?;
        let end = self.epoch_start(epoch.saturating_add(1))?;
        if epoch < state.base_epoch {
            self.go_back_to(state, epoch, start, false).await?;
            // The journal first: a crash between the two leaves the old base with events before
            // its start at the journal's head, which loading drops (by their time and slot).
            self.files.rewrite_journal(&journal_records(state))?;
            self.files.save_base(&base_file(state))?;
        }
        let snapshot =
            make_snapshot(state, epoch, start, end).map_err(|message| ViewError::State {
                path: self.files.dir.display().to_string(),
                message,
            })?;
        let Some(snapshot) = snapshot else {
            return Ok(None);
        };
        // The ledger first, from the same journal: a crash before the snapshot is written makes
        // both again. The ledger is for people (the explorer), never an input of verified
        // work: a problem with it is logged and the snapshot made all the same.
        self.store_ledger(state, epoch, end);
        crate::files::write_atomically(&self.files.snapshot_path(epoch), &snapshot.encode())?;
        if state.base_epoch <= epoch {
            advance_base(state, epoch + 1, end);
            // The base first: a crash between the two leaves events the new base holds in the
            // journal, which loading drops (by their time and slot).
            self.files.save_base(&base_file(state))?;
            self.files.rewrite_journal(&journal_records(state))?;
        }
        Ok(Some(snapshot))
    }

    /// Writes epoch `epoch`'s ledger (best effort: a failure is logged).
    fn store_ledger(&self, state: &ViewState, epoch: u64, end: i64) {
        let previous = match epoch.checked_sub(1) {
            Some(before) => stored_ledger(&self.files.dir, before).unwrap_or_else(|error| {
                tracing::warn!(epoch, %error, "the previous epoch's ledger is unreadable: the claims total starts again from the next claim");
                None
            }),
            None => None,
        };
        let ledger = make_ledger(state, epoch, end, previous);
        if let Err(error) =
            crate::files::write_atomically(&self.files.ledger_path(epoch), &ledger.encode())
        {
            tracing::warn!(epoch, %error, "the epoch's ledger cannot be written");
        }
    }

    fn reload(&self) -> Result<ViewState, ViewError> {
        let base = self.files.load_base()?.ok_or_else(|| ViewError::State {
            path: self.files.dir.display().to_string(),
            message: "the base file disappeared".into(),
        })?;
        Ok(restore(base, self.files.load_journal()?, &self.timing))
    }

    /// Every tracked account, made one consistent state: pages are read at rising context
    /// slots, and the transactions between the first page's slot and the last one's are
    /// applied (an event sets a record to its value after, so a record read before its change
    /// is corrected and one read after it stays the same).
    async fn full_load(&self) -> Result<(ViewState, LoadReport), ViewError> {
        let mut state = ChainState::default();
        let mut load = LoadReport::default();
        let mut slot_floor = 0;
        // (program, account discriminator, a byte the account holds at an offset)
        type Page = (Program, &'static [u8], Option<(usize, u8)>);
        let mut pages: Vec<Page> = Vec::new();
        if self.paged_devices {
            for byte in 0..=u8::MAX {
                pages.push((
                    Program::Registry,
                    device_registry::DeviceV0::DISCRIMINATOR,
                    Some((DEVICE_KEY_OFFSET, byte)),
                ));
            }
        } else {
            pages.push((
                Program::Registry,
                device_registry::DeviceV0::DISCRIMINATOR,
                None,
            ));
        }
        pages.push((
            Program::Registry,
            device_registry::OperatorV0::DISCRIMINATOR,
            None,
        ));
        pages.push((
            Program::Registry,
            device_registry::DeviceClassV0::DISCRIMINATOR,
            None,
        ));
        pages.push((
            Program::Staking,
            staking::OperatorPoolV0::DISCRIMINATOR,
            None,
        ));
        pages.push((
            Program::Staking,
            staking::PoolRewardsV0::DISCRIMINATOR,
            None,
        ));
        for (index, (program, discriminator, byte_at)) in pages.into_iter().enumerate() {
            let (slot, accounts) = self
                .endpoints
                .program_accounts(program, discriminator, byte_at, slot_floor, |data| {
                    ChainState::default().load_account(data)
                })
                .await?;
            if index == 0 {
                load.first_slot = slot;
            }
            slot_floor = slot_floor.max(slot);
            load.accounts += accounts.len();
            for (address, data) in accounts {
                if let Err(reason) = state.load_account(&data) {
                    tracing::warn!(%address, %reason, "skipping an account that does not decode");
                    load.skipped += 1;
                }
            }
        }
        load.last_slot = slot_floor;
        let mut view = ViewState {
            base_epoch: 0,
            base_slot: load.last_slot,
            base: ChainState::default(),
            base_purchase: None,
            journal: Vec::new(),
            current: state,
            position: Position::complete_at(load.first_slot),
        };
        if load.last_slot > load.first_slot {
            let mut report = PollReport::default();
            let mut appended = Vec::new();
            follow_until(
                &self.endpoints,
                &mut view,
                load.last_slot,
                &mut report,
                &mut appended,
                false,
            )
            .await?;
            if view.position != Position::complete_at(load.last_slot) {
                return Err(ViewError::AllEndpointsFailed(format!(
                    "the transactions between the full load's pages (slots {}..={}) are not served yet",
                    load.first_slot, load.last_slot
                )));
            }
            load.transactions_between_pages = report.transactions;
        }
        view.journal.clear();
        view.base = view.current.clone();
        view.position = Position::complete_at(load.last_slot);
        Ok((view, load))
    }

    /// Moves the base back to the start of `epoch` (`start`): lists each program's
    /// transactions from the base back to that time, reads them, undoes their events on the
    /// base (each event carries the values before it) and puts them at the head of the
    /// journal. The last credit purchase before `start` is searched further back when the base
    /// does not know it (`purchase_unknown`) or the one it knew is undone.
    async fn go_back_to(
        &self,
        state: &mut ViewState,
        epoch: u64,
        start: i64,
        purchase_unknown: bool,
    ) -> Result<(), ViewError> {
        let mut lists = Vec::new();
        let mut need_purchase = purchase_unknown
            || state
                .base_purchase
                .is_some_and(|purchase| purchase.unix_timestamp >= start);
        let mut purchase_before = if need_purchase {
            None
        } else {
            state.base_purchase
        };
        for program in Program::ALL {
            let mut newer = Vec::new();
            let mut before: Option<String> = None;
            'pages: loop {
                let page = self
                    .endpoints
                    .history_page(program, before.as_deref())
                    .await?;
                let full = page.len() == crate::rpc::SIGNATURE_PAGE;
                for entry in page {
                    before = Some(entry.tx.signature.clone());
                    if entry.tx.slot > state.base_slot || entry.failed {
                        continue;
                    }
                    if entry.block_time >= start {
                        newer.push(entry.tx);
                        continue;
                    }
                    // Older than the new base: only the credit price search reads on.
                    if program != Program::Tokenomics || !need_purchase {
                        break 'pages;
                    }
                    let events = self.read_events(&entry.tx).await?;
                    let purchase = events.iter().rev().find_map(|event| {
                        event
                            .decoded
                            .facts
                            .iter()
                            .rev()
                            .find_map(|fact| match fact {
                                Fact::CreditsPurchased(purchase) => Some(*purchase),
                                _ => None,
                            })
                    });
                    if purchase.is_some() {
                        purchase_before = purchase;
                        need_purchase = false;
                        break 'pages;
                    }
                }
                if !full {
                    break;
                }
            }
            newer.reverse();
            lists.push(newer);
        }
        let mut events = Vec::new();
        for tx in merge_in_chain_order(lists) {
            events.extend(self.read_events(&tx).await?);
        }
        // Transactions whose events are from before `start` (a block time that disagrees with
        // the clock would put them here) belong to the base: they are neither undone nor kept.
        events.retain(|event| event.decoded.unix_timestamp >= start);
        for event in events.iter().rev() {
            state.base.undo(&event.decoded);
        }
        if let Some(first) = events.first() {
            state.base_slot = first.tx.slot.saturating_sub(1);
        }
        events.append(&mut state.journal);
        state.journal = events;
        state.base_epoch = epoch;
        state.base_purchase = purchase_before;
        Ok(())
    }

    /// The decoded events of a finalized transaction (undecodable ones logged and skipped).
    async fn read_events(&self, tx: &TxRef) -> Result<Vec<JournalEvent>, ViewError> {
        let transaction = self
            .endpoints
            .transaction(tx, check_events)
            .await?
            .ok_or_else(|| {
                ViewError::AllEndpointsFailed(format!(
                    "transaction {} (slot {}) is listed but not served",
                    tx.signature, tx.slot
                ))
            })?;
        let mut skipped = 0;
        Ok(decode_transaction(tx, &transaction, &mut skipped))
    }
}

/// The snapshot of `epoch` stored in the chain view directory `dir`, if it was made.
pub fn stored_snapshot(
    dir: &std::path::Path,
    epoch: u64,
) -> Result<Option<ChainSnapshot>, ViewError> {
    let files = ViewFiles {
        dir: dir.to_path_buf(),
    };
    read_stored(&files.snapshot_path(epoch), ChainSnapshot::decode)
}

/// The file at `path` decoded (`None`: there is none).
fn read_stored<T>(
    path: &std::path::Path,
    decode: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<Option<T>, ViewError> {
    match std::fs::read(path) {
        Ok(bytes) => decode(&bytes)
            .map(Some)
            .map_err(|message| ViewError::State {
                path: path.display().to_string(),
                message,
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(ViewError::State {
            path: path.display().to_string(),
            message: error.to_string(),
        }),
    }
}

/// Refuses a transaction whose events of the four programs do not all decode.
fn check_events(transaction: &serde_json::Value) -> Result<(), String> {
    for (program, data) in transaction_events(transaction)? {
        decode_event(program, &data)?;
    }
    Ok(())
}

/// Decodes a transaction's events; undecodable ones are logged and counted in `skipped`.
fn decode_transaction(
    tx: &TxRef,
    transaction: &serde_json::Value,
    skipped: &mut usize,
) -> Vec<JournalEvent> {
    let raw = match transaction_events(transaction) {
        Ok(raw) => raw,
        Err(reason) => {
            tracing::warn!(signature = %tx.signature, %reason, "skipping a transaction that does not decode");
            *skipped += 1;
            return Vec::new();
        }
    };
    let mut events = Vec::new();
    for (program, data) in raw {
        match decode_event(program, &data) {
            Ok(Some(decoded)) => events.push(JournalEvent {
                tx: tx.clone(),
                program,
                data,
                decoded,
            }),
            Ok(None) => {}
            Err(reason) => {
                tracing::warn!(signature = %tx.signature, ?program, %reason, "skipping an event that does not decode");
                *skipped += 1;
            }
        }
    }
    events
}

/// Applies the finalized transactions after the view's position (up to the finalized slot).
async fn follow(
    endpoints: &Endpoints,
    state: &mut ViewState,
    report: &mut PollReport,
    appended: &mut Vec<JournalRecord>,
) -> Result<(), ViewError> {
    let finalized = endpoints.finalized_slot(state.position.slot).await?;
    report.finalized = finalized;
    follow_until(endpoints, state, finalized, report, appended, true).await
}

/// Applies the finalized transactions after the view's position up to slot `until`, recording
/// them in `report` and `appended`; stops at the first one it cannot read (the error is
/// returned after the position is moved past what was applied). `check_before` warns when an
/// event's values before differ from the view's (not while the full load's pages, read at
/// different slots, are made consistent: they differ there by design).
async fn follow_until(
    endpoints: &Endpoints,
    state: &mut ViewState,
    until: u64,
    report: &mut PollReport,
    appended: &mut Vec<JournalRecord>,
    check_before: bool,
) -> Result<(), ViewError> {
    let mut lists = Vec::new();
    for program in Program::ALL {
        lists.push(
            endpoints
                .signatures_after(program, &state.position, until)
                .await?,
        );
    }
    let mut caught_up = true;
    let mut failure = None;
    for tx in merge_in_chain_order(lists) {
        let transaction = match endpoints.transaction(&tx, check_events).await {
            Ok(Some(transaction)) => transaction,
            Ok(None) => {
                // Not served as finalized yet: the next poll takes it up from here.
                caught_up = false;
                break;
            }
            Err(error) => {
                caught_up = false;
                failure = Some(error);
                break;
            }
        };
        report.transactions += 1;
        for event in decode_transaction(&tx, &transaction, &mut report.skipped) {
            let disagreements = state.current.apply(&event.decoded);
            if check_before && disagreements > 0 {
                tracing::warn!(
                    signature = %tx.signature,
                    disagreements,
                    "an event's values before differ from the view's (an event was missed?)"
                );
            }
            report.events_applied += 1;
            for write in &event.decoded.writes {
                if let Entity::Device(key) = write.entity {
                    let info = match write.after {
                        Some(Value::Device(device)) => Some(device.info()),
                        _ => None,
                    };
                    report.changes.push((Key(key.to_bytes()), info));
                }
            }
            for fact in &event.decoded.facts {
                if let Fact::EpochClosed(close) = fact {
                    report.closed_epochs.push(close.epoch);
                }
            }
            appended.push(JournalRecord::event(
                &tx,
                event.program.index(),
                &event.data,
            ));
            state.journal.push(event);
        }
        state.position.advance(&tx);
    }
    // Every transaction up to `until` is applied: the view stands there (a restart then lists
    // only what came after it).
    if caught_up && until >= state.position.slot {
        state.position = Position::complete_at(until);
    }
    match failure {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The snapshot of `epoch` (`[start, end)`) from the view, or `None` before its close was seen.
fn make_snapshot(
    state: &ViewState,
    epoch: u64,
    start: i64,
    end: i64,
) -> Result<Option<ChainSnapshot>, String> {
    let close: Option<EpochClose> = state
        .journal
        .iter()
        .flat_map(|event| &event.decoded.facts)
        .find_map(|fact| match fact {
            Fact::EpochClosed(close) if close.epoch == epoch => Some(*close),
            _ => None,
        });
    let Some(close) = close else {
        return Ok(None);
    };
    // The base is the state at the epoch's start unless events precede it in the journal
    // (the base is older): only then is it copied.
    let mut at_start = std::borrow::Cow::Borrowed(&state.base);
    let mut purchase = state.base_purchase;
    let mut window = Vec::new();
    for event in &state.journal {
        let ts = event.decoded.unix_timestamp;
        if ts < start {
            at_start.to_mut().apply(&event.decoded);
            purchase = last_purchase(&event.decoded).or(purchase);
        } else if ts < end {
            window.push(&event.decoded);
        } else {
            break;
        }
    }
    build(start, end, &at_start, purchase, window, &close).map(Some)
}

/// Epoch `epoch`'s books from the journal (its mint, the last claim before `end`), the
/// claims' total carried from `previous` (epoch `epoch - 1`'s ledger) when no claim was made.
fn make_ledger(
    state: &ViewState,
    epoch: u64,
    end: i64,
    previous: Option<EpochLedger>,
) -> EpochLedger {
    let mut ledger = EpochLedger {
        epoch,
        total_claimed: previous.and_then(|previous| previous.total_claimed),
        ..EpochLedger::default()
    };
    for event in &state.journal {
        for fact in &event.decoded.facts {
            match fact {
                Fact::Ledger(LedgerFact::Minted {
                    epoch: minted_epoch,
                    minted,
                    supply_after,
                    minted_total,
                    burned_total,
                }) if *minted_epoch == epoch => {
                    ledger.minted = Some(*minted);
                    ledger.supply_after_mint = Some(*supply_after);
                    ledger.minted_total = Some(*minted_total);
                    ledger.burned_total = Some(*burned_total);
                }
                Fact::Ledger(LedgerFact::Claimed { total_claimed })
                    if event.decoded.unix_timestamp < end =>
                {
                    ledger.total_claimed = Some(*total_claimed);
                }
                _ => {}
            }
        }
    }
    ledger
}

/// The stored ledger of `epoch` (made with its snapshot), if any.
pub fn stored_ledger(dir: &std::path::Path, epoch: u64) -> Result<Option<EpochLedger>, ViewError> {
    let files = ViewFiles {
        dir: dir.to_path_buf(),
    };
    read_stored(&files.ledger_path(epoch), EpochLedger::decode)
}

fn last_purchase(decoded: &Decoded) -> Option<Purchase> {
    decoded.facts.iter().rev().find_map(|fact| match fact {
        Fact::CreditsPurchased(purchase) => Some(*purchase),
        _ => None,
    })
}

/// Folds the journal's events before `start` (epoch `epoch`'s start) into the base.
fn advance_base(state: &mut ViewState, epoch: u64, start: i64) {
    let folded = state
        .journal
        .iter()
        .take_while(|event| event.decoded.unix_timestamp < start)
        .count();
    for event in state.journal.drain(..folded) {
        state.base.apply(&event.decoded);
        state.base_purchase = last_purchase(&event.decoded).or(state.base_purchase);
        state.base_slot = state.base_slot.max(event.tx.slot);
    }
    state.base_epoch = epoch;
}

fn base_file(state: &ViewState) -> BaseFile {
    BaseFile {
        base_epoch: state.base_epoch,
        base_slot: state.base_slot,
        base_purchase: state.base_purchase,
        state: state.base.clone(),
    }
}

fn journal_records(state: &ViewState) -> Vec<JournalRecord> {
    let mut records: Vec<JournalRecord> = state
        .journal
        .iter()
        .map(|event| JournalRecord::event(&event.tx, event.program.index(), &event.data))
        .collect();
    records.push(JournalRecord::position(&state.position));
    records
}

/// The view from its files: the base, then the journal's events (those the base already holds,
/// by their time, dropped) and its last position.
fn restore(base: BaseFile, records: Vec<JournalRecord>, timing: &EpochTiming) -> ViewState {
    let base_start = i64::try_from(base.base_epoch)
        .ok()
        .and_then(|epoch| epoch.checked_mul(timing.epoch_len_s))
        .and_then(|offset| offset.checked_add(timing.genesis_unix_s))
        .unwrap_or(i64::MAX);
    let mut state = ViewState {
        base_epoch: base.base_epoch,
        base_slot: base.base_slot,
        current: base.state.clone(),
        base: base.state,
        base_purchase: base.base_purchase,
        journal: Vec::new(),
        position: Position::complete_at(base.base_slot),
    };
    for record in records {
        match record {
            JournalRecord::Event {
                slot,
                signature,
                program,
                data,
            } => {
                let tx = TxRef { slot, signature };
                let Some(program) = Program::from_index(program) else {
                    tracing::warn!(signature = %tx.signature, "skipping a journal event of an unknown program");
                    continue;
                };
                match decode_event(program, &data) {
                    Ok(Some(decoded)) => {
                        if decoded.unix_timestamp < base_start && slot <= base.base_slot {
                            continue;
                        }
                        state.current.apply(&decoded);
                        state.journal.push(JournalEvent {
                            tx,
                            program,
                            data,
                            decoded,
                        });
                    }
                    Ok(None) => {}
                    Err(reason) => {
                        tracing::warn!(signature = %tx.signature, %reason, "skipping a journal event that does not decode");
                    }
                }
            }
            JournalRecord::Position {
                slot,
                complete,
                applied_in_slot,
            } => {
                state.position = Position {
                    slot,
                    complete,
                    applied_in_slot,
                };
            }
        }
    }
    state
}
