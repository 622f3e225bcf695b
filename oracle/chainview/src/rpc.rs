//! The JSON-RPC reads of the chain view, each tried on every endpoint in order, every one at
//! the finalized commitment and (where the method takes it) with a minimum context slot, so
//! a lagging endpoint errs rather than answers from the past.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use anchor_lang::prelude::Pubkey;
use base64::Engine;
use serde_json::{json, Value as Json};
use solana_rpc_client::api::request::RpcRequest;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;

use crate::model::Program;
use crate::ViewError;

/// Most signatures asked for per `getSignaturesForAddress` page.
pub const SIGNATURE_PAGE: usize = 1_000;

/// A transaction's place in the chain: its slot, and the signature that names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxRef {
    pub slot: u64,
    pub signature: String,
}

/// Where the view stands: every finalized transaction of the four programs up to `slot` is
/// applied when `complete`; otherwise those before `slot` and, in `slot`, the ones listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub slot: u64,
    pub complete: bool,
    pub applied_in_slot: Vec<String>,
}

impl Position {
    pub fn complete_at(slot: u64) -> Self {
        Position {
            slot,
            complete: true,
            applied_in_slot: Vec::new(),
        }
    }

    /// True when `tx` is already applied.
    pub fn covers(&self, tx: &TxRef) -> bool {
        tx.slot < self.slot
            || (tx.slot == self.slot
                && (self.complete || self.applied_in_slot.contains(&tx.signature)))
    }

    /// Records `tx` as applied (transactions are applied in slot order).
    pub fn advance(&mut self, tx: &TxRef) {
        if tx.slot > self.slot {
            *self = Position {
                slot: tx.slot,
                complete: false,
                applied_in_slot: Vec::new(),
            };
        }
        if !self.complete {
            self.applied_in_slot.push(tx.signature.clone());
        }
    }
}

/// The endpoints, tried in order from the one that answered last (so a dead or lagging
/// endpoint costs one failed attempt, not one per read).
pub struct Endpoints {
    clients: Vec<RpcClient>,
    preferred: AtomicUsize,
    bytes_read: AtomicU64,
}

/// About how many bytes of JSON one `getProgramAccounts` entry takes besides its data, and
/// one `getSignaturesForAddress` entry.
const ACCOUNT_ENTRY_OVERHEAD: usize = 170;
const SIGNATURE_ENTRY_BYTES: usize = 190;

fn rpc_error(client: &RpcClient, error: impl std::fmt::Display) -> ViewError {
    ViewError::Rpc {
        url: client.url(),
        message: error.to_string(),
    }
}

impl Endpoints {
    pub fn new(urls: &[String]) -> Self {
        Endpoints {
            clients: urls
                .iter()
                .map(|url| {
                    RpcClient::new_with_commitment(
                        url.clone(),
                        solana_commitment_config::CommitmentConfig::finalized(),
                    )
                })
                .collect(),
            preferred: AtomicUsize::new(0),
            bytes_read: AtomicU64::new(0),
        }
    }

    /// About how many bytes the endpoints' answers held so far (JSON as sent).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }

    fn count(&self, bytes: usize) {
        self.bytes_read.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// The first answer to `read`, trying the endpoints from the preferred one on.
    async fn first_answer<'a, T, F, Fut>(&'a self, read: F) -> Result<T, ViewError>
    where
        F: Fn(&'a RpcClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, ViewError>>,
    {
        let count = self.clients.len();
        let first = self.preferred.load(Ordering::Relaxed);
        let order: Vec<(usize, &RpcClient)> = (0..count)
            .map(|step| (first + step) % count)
            .map(|index| (index, &self.clients[index]))
            .collect();
        let read = &read;
        groundwork_oracle_chain::first_answer(&order, |(index, client)| async move {
            let answer = read(client).await;
            if answer.is_ok() {
                self.preferred.store(*index, Ordering::Relaxed);
            }
            answer
        })
        .await
        .map_err(ViewError::AllEndpointsFailed)
    }

    /// The first answer to `read` that `check` accepts (a malformed answer fails over to the
    /// next endpoint); when no endpoint gives one — every endpoint serves the same data the
    /// view cannot read — the first answer at all, for the caller to skip what it cannot read.
    async fn first_sound_answer<'a, T, F, Fut>(
        &'a self,
        read: F,
        check: impl Fn(&T) -> Result<(), String>,
    ) -> Result<T, ViewError>
    where
        F: Fn(&'a RpcClient) -> Fut,
        Fut: std::future::Future<Output = Result<T, ViewError>>,
    {
        let read = &read;
        let check = &check;
        let sound = self
            .first_answer(|client| async move {
                let answer = read(client).await?;
                check(&answer).map_err(|message| rpc_error(client, message))?;
                Ok(answer)
            })
            .await;
        match sound {
            Ok(answer) => Ok(answer),
            Err(error) => {
                tracing::warn!(%error, "no endpoint answered soundly; taking the first answer and skipping what does not decode");
                self.first_answer(read).await
            }
        }
    }

    /// The finalized slot, at least `at_least`.
    pub async fn finalized_slot(&self, at_least: u64) -> Result<u64, ViewError> {
        self.first_answer(|client| async move {
            client
                .send::<u64>(
                    RpcRequest::GetSlot,
                    json!([{ "commitment": "finalized", "minContextSlot": at_least }]),
                )
                .await
                .map_err(|error| rpc_error(client, error))
        })
        .await
    }

    /// `program`'s successful transactions not covered by `since`, up to slot `until`, oldest
    /// first. (Some endpoints list confirmed signatures even when asked for finalized ones —
    /// surfpool does —, so `until`, a finalized slot, bounds the list.)
    pub async fn signatures_after(
        &self,
        program: Program,
        since: &Position,
        until: u64,
    ) -> Result<Vec<TxRef>, ViewError> {
        self.first_answer(|client| async move {
            let mut newest_first = Vec::new();
            let mut before: Option<String> = None;
            'pages: loop {
                let page = signature_page(client, program, before.as_deref(), since.slot).await?;
                self.count(page.len() * SIGNATURE_ENTRY_BYTES);
                let full = page.len() == SIGNATURE_PAGE;
                for entry in page {
                    before = Some(entry.tx.signature.clone());
                    if entry.tx.slot < since.slot {
                        break 'pages;
                    }
                    if since.covers(&entry.tx) || entry.tx.slot > until || entry.failed {
                        continue;
                    }
                    newest_first.push(entry.tx);
                }
                if !full {
                    break;
                }
            }
            newest_first.reverse();
            Ok(newest_first)
        })
        .await
    }

    /// One page of `program`'s history, newest first, older than `before` (from the newest
    /// when `None`), each with its block time.
    pub async fn history_page(
        &self,
        program: Program,
        before: Option<&str>,
    ) -> Result<Vec<HistoryEntry>, ViewError> {
        self.first_answer(|client| async move {
            let mut entries = Vec::new();
            let page = signature_page(client, program, before, 0).await?;
            self.count(page.len() * SIGNATURE_ENTRY_BYTES);
            for entry in page {
                let block_time = match entry.block_time {
                    Some(block_time) => block_time,
                    None => block_time_of(client, entry.tx.slot).await?,
                };
                entries.push(HistoryEntry {
                    tx: entry.tx,
                    failed: entry.failed,
                    block_time,
                });
            }
            Ok(entries)
        })
        .await
    }

    /// A finalized transaction (JSON encoding), or `None` when the endpoints do not serve it
    /// as finalized yet. An answer `check` refuses fails over to the next endpoint.
    pub async fn transaction(
        &self,
        tx: &TxRef,
        check: impl Fn(&Json) -> Result<(), String>,
    ) -> Result<Option<Json>, ViewError> {
        let check = |answer: &Option<Json>| match answer {
            Some(transaction) => check(transaction),
            None => Ok(()),
        };
        self.first_sound_answer(
            |client| async move {
                let transaction: Json = client
                    .send(
                        RpcRequest::GetTransaction,
                        json!([
                            tx.signature,
                            {
                                "encoding": "json",
                                "commitment": "finalized",
                                "maxSupportedTransactionVersion": 0,
                                "minContextSlot": tx.slot,
                            }
                        ]),
                    )
                    .await
                    .map_err(|error| rpc_error(client, error))?;
                self.count(serde_json::to_vec(&transaction).map_or(0, |bytes| bytes.len()));
                Ok((!transaction.is_null()).then_some(transaction))
            },
            check,
        )
        .await
    }

    /// `program`'s accounts starting with `discriminator` (and, when given, holding `byte` at
    /// `offset`), with the context slot of the answer, at least `at_least`. An answer holding
    /// an account `check` refuses fails over to the next endpoint.
    pub async fn program_accounts(
        &self,
        program: Program,
        discriminator: &[u8],
        byte_at: Option<(usize, u8)>,
        at_least: u64,
        check: impl Fn(&[u8]) -> Result<(), String>,
    ) -> Result<(u64, Accounts), ViewError> {
        let check = |(_, accounts): &(u64, Accounts)| {
            let refused = accounts
                .iter()
                .filter(|(_, data)| check(data).is_err())
                .count();
            match refused {
                0 => Ok(()),
                refused => Err(format!("{refused} accounts do not decode")),
            }
        };
        self.first_sound_answer(
            |client| async move {
                let mut filters = vec![json!({ "memcmp": {
                    "offset": 0,
                    "bytes": bs58::encode(discriminator).into_string(),
                }})];
                if let Some((offset, byte)) = byte_at {
                    filters.push(json!({ "memcmp": {
                        "offset": offset,
                        "bytes": bs58::encode([byte]).into_string(),
                    }}));
                }
                let answer: Json = client
                    .send(
                        RpcRequest::GetProgramAccounts,
                        json!([
                            program.id().to_string(),
                            {
                                "encoding": "base64",
                                "commitment": "finalized",
                                "withContext": true,
                                "minContextSlot": at_least,
                                "filters": filters,
                            }
                        ]),
                    )
                    .await
                    .map_err(|error| rpc_error(client, error))?;
                let (slot, accounts, bytes) = parse_program_accounts(&answer)
                    .map_err(|message| rpc_error(client, message))?;
                self.count(bytes);
                Ok((slot, accounts))
            },
            check,
        )
        .await
    }
}

/// Accounts as `(address, data)`.
pub type Accounts = Vec<(Pubkey, Vec<u8>)>;

/// A `getProgramAccounts` answer (`withContext`, base64): its context slot, the accounts
/// (an entry that does not parse is logged and left out), and about how many bytes of JSON it
/// held.
pub fn parse_program_accounts(answer: &Json) -> Result<(u64, Accounts, usize), String> {
    let slot = answer["context"]["slot"]
        .as_u64()
        .ok_or("getProgramAccounts answered without a context slot")?;
    let mut accounts = Vec::new();
    let mut bytes = 0;
    for entry in answer["value"].as_array().into_iter().flatten() {
        let encoded = entry["account"]["data"][0].as_str();
        bytes += ACCOUNT_ENTRY_OVERHEAD + encoded.map_or(0, str::len);
        let address = entry["pubkey"]
            .as_str()
            .and_then(|text| text.parse::<Pubkey>().ok());
        let data =
            encoded.and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok());
        match (address, data) {
            (Some(address), Some(data)) => accounts.push((address, data)),
            _ => tracing::warn!(entry = %entry, "skipping an account entry that does not parse"),
        }
    }
    Ok((slot, accounts, bytes))
}

/// A transaction in a program's history.
pub struct HistoryEntry {
    pub tx: TxRef,
    /// It failed: it changed nothing.
    pub failed: bool,
    /// The unix time of its block (the clock its events carry).
    pub block_time: i64,
}

struct SignatureEntry {
    tx: TxRef,
    failed: bool,
    block_time: Option<i64>,
}

async fn signature_page(
    client: &RpcClient,
    program: Program,
    before: Option<&str>,
    min_context_slot: u64,
) -> Result<Vec<SignatureEntry>, ViewError> {
    let mut config = json!({
        "limit": SIGNATURE_PAGE,
        "commitment": "finalized",
        "minContextSlot": min_context_slot,
    });
    if let Some(before) = before {
        config["before"] = json!(before);
    }
    let page: Vec<Json> = client
        .send(
            RpcRequest::GetSignaturesForAddress,
            json!([program.id().to_string(), config]),
        )
        .await
        .map_err(|error| rpc_error(client, error))?;
    page.into_iter()
        .map(|entry| {
            let signature = entry["signature"]
                .as_str()
                .ok_or_else(|| rpc_error(client, "a signature entry without its signature"))?;
            let slot = entry["slot"]
                .as_u64()
                .ok_or_else(|| rpc_error(client, "a signature entry without its slot"))?;
            Ok(SignatureEntry {
                tx: TxRef {
                    slot,
                    signature: signature.to_string(),
                },
                failed: !entry["err"].is_null(),
                block_time: entry["blockTime"].as_i64(),
            })
        })
        .collect()
}

async fn block_time_of(client: &RpcClient, slot: u64) -> Result<i64, ViewError> {
    client
        .send::<i64>(RpcRequest::GetBlockTime, json!([slot]))
        .await
        .map_err(|error| rpc_error(client, error))
}

/// The four programs' `emit_cpi!` event payloads in a `getTransaction` answer, in order, each
/// with the program that emitted it.
pub fn transaction_events(transaction: &Json) -> Result<Vec<(Program, Vec<u8>)>, String> {
    let mut keys: Vec<&str> = transaction["transaction"]["message"]["accountKeys"]
        .as_array()
        .ok_or("no account keys")?
        .iter()
        .filter_map(Json::as_str)
        .collect();
    for table in ["writable", "readonly"] {
        if let Some(loaded) = transaction["meta"]["loadedAddresses"][table].as_array() {
            keys.extend(loaded.iter().filter_map(Json::as_str));
        }
    }
    let programs: HashMap<String, Program> = Program::ALL
        .iter()
        .map(|program| (program.id().to_string(), *program))
        .collect();
    let tag = anchor_lang::event::EVENT_IX_TAG_LE;
    let mut events = Vec::new();
    for group in transaction["meta"]["innerInstructions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for instruction in group["instructions"].as_array().into_iter().flatten() {
            let program = instruction["programIdIndex"]
                .as_u64()
                .and_then(|index| keys.get(index as usize))
                .ok_or("an inner instruction without its program")?;
            let Some(program) = programs.get(*program) else {
                continue;
            };
            let data = bs58::decode(instruction["data"].as_str().unwrap_or_default())
                .into_vec()
                .map_err(|error| format!("inner instruction data: {error}"))?;
            if let Some(event) = data.strip_prefix(tag) {
                events.push((*program, event.to_vec()));
            }
        }
    }
    events.extend(logged_claims(transaction));
    Ok(events)
}

/// The reward program's `RewardsClaimed` events in a transaction's logs: the one event a
/// program logs with `emit!` (a claim stays cheap) rather than `emit_cpi!`. A `Program data:`
/// line belongs to the program on top of the invoke stack the log lines describe, so no other
/// program can log one in its name. Logs can be truncated: a claim missed there is made good
/// by the next one, whose event carries the running total.
fn logged_claims(transaction: &Json) -> Vec<(Program, Vec<u8>)> {
    use anchor_lang::Discriminator;
    let rewards = Program::Rewards.id().to_string();
    let discriminator = reward_epochs::events::RewardsClaimed::DISCRIMINATOR;
    let mut stack: Vec<&str> = Vec::new();
    let mut claims = Vec::new();
    for line in transaction["meta"]["logMessages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
    {
        if let Some(data) = line.strip_prefix("Program data: ") {
            if stack.last() != Some(&rewards.as_str()) {
                continue;
            }
            let Some(first) = data.split(' ').next() else {
                continue;
            };
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(first) {
                if bytes.starts_with(discriminator) {
                    claims.push((Program::Rewards, bytes));
                }
            }
        } else if let Some(rest) = line.strip_prefix("Program ") {
            let mut words = rest.split(' ');
            let (Some(program), Some(what)) = (words.next(), words.next()) else {
                continue;
            };
            // Only the runtime's own lines name a program key ("Program log: ..." and the
            // like, which a program writes, do not).
            if program.parse::<anchor_lang::prelude::Pubkey>().is_err() {
                continue;
            }
            match what {
                "invoke" => stack.push(program),
                "success" | "failed:" => {
                    stack.pop();
                }
                _ => {}
            }
        }
    }
    claims
}

/// Merges the programs' transaction lists (each oldest first, in block order within a slot)
/// into one order that keeps every list's order: a transaction that touches several programs
/// is in several lists, once in the result. Ties (transactions of different programs in one
/// slot, whose relative order no list gives) break by signature, so every view merges alike;
/// an entity belongs to one program, so its own changes always keep their block order.
pub fn merge_in_chain_order(lists: Vec<Vec<TxRef>>) -> Vec<TxRef> {
    let mut predecessors: BTreeMap<TxRef, usize> = BTreeMap::new();
    let mut successors: HashMap<TxRef, Vec<TxRef>> = HashMap::new();
    for list in &lists {
        for tx in list {
            predecessors.entry(tx.clone()).or_insert(0);
        }
        for pair in list.windows(2) {
            let next = successors.entry(pair[0].clone()).or_default();
            if !next.contains(&pair[1]) {
                next.push(pair[1].clone());
                *predecessors.get_mut(&pair[1]).expect("listed") += 1;
            }
        }
    }
    let mut ready: BTreeSet<TxRef> = predecessors
        .iter()
        .filter(|(_, count)| **count == 0)
        .map(|(tx, _)| tx.clone())
        .collect();
    let mut order = Vec::with_capacity(predecessors.len());
    while let Some(tx) = ready.pop_first() {
        for next in successors.remove(&tx).unwrap_or_default() {
            let count = predecessors.get_mut(&next).expect("listed");
            *count -= 1;
            if *count == 0 {
                ready.insert(next);
            }
        }
        order.push(tx);
    }
    // Lists that disagree (an endpoint answering two reads from different forks cannot, at
    // finalized) would leave a cycle: what is left follows in slot and signature order.
    if order.len() < predecessors.len() {
        let placed: BTreeSet<TxRef> = order.iter().cloned().collect();
        order.extend(predecessors.into_keys().filter(|tx| !placed.contains(tx)));
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx(slot: u64, signature: &str) -> TxRef {
        TxRef {
            slot,
            signature: signature.into(),
        }
    }

    #[test]
    fn merging_keeps_each_programs_block_order_and_lists_a_shared_transaction_once() {
        // In slot 5 the block order is z, a, m: the registry saw z then m, staking a then m.
        let registry = vec![tx(4, "q"), tx(5, "z"), tx(5, "m")];
        let staking = vec![tx(5, "a"), tx(5, "m"), tx(6, "b")];
        let merged = merge_in_chain_order(vec![registry, staking]);
        let names: Vec<&str> = merged.iter().map(|tx| tx.signature.as_str()).collect();
        assert_eq!(names, ["q", "a", "z", "m", "b"]);
    }

    #[test]
    fn a_claim_logged_by_the_reward_program_is_read_and_one_logged_by_another_is_not() {
        use anchor_lang::Discriminator;
        let rewards = Program::Rewards.id().to_string();
        let other = anchor_lang::prelude::Pubkey::new_from_array([7; 32]).to_string();
        let mut claim = reward_epochs::events::RewardsClaimed::DISCRIMINATOR.to_vec();
        claim.extend_from_slice(&[1; 16]);
        let data = base64::engine::general_purpose::STANDARD.encode(&claim);
        let transaction = json!({
            "transaction": { "message": { "accountKeys": [] } },
            "meta": { "innerInstructions": [], "logMessages": [
                format!("Program {rewards} invoke [1]"),
                format!("Program data: {data}"),
                format!("Program {rewards} success"),
                // Another program logs the same bytes, and tries to look like the runtime.
                format!("Program {other} invoke [1]"),
                "Program log: success".to_string(),
                format!("Program data: {data}"),
                format!("Program {other} failed: custom program error: 0x1"),
                format!("Program data: {data}"),
            ] },
        });
        let events = transaction_events(&transaction).unwrap();
        assert_eq!(events, vec![(Program::Rewards, claim)]);
    }

    #[test]
    fn a_position_covers_what_it_applied() {
        let mut position = Position::complete_at(10);
        assert!(position.covers(&tx(10, "x")));
        assert!(!position.covers(&tx(11, "x")));
        position.advance(&tx(11, "x"));
        assert!(position.covers(&tx(11, "x")));
        assert!(!position.covers(&tx(11, "y")));
        assert!(!position.complete);
    }
}
