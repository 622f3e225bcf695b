//! Device rewards: what a recipient has earned (from an oracle) and been paid (from chain),
//! and the permissionless claim against the newest active root — for oneself, or for another
//! recipient as a relayer. A claim (or a pool sweep) whose proof would not fit a legacy
//! transaction goes out as a v0 transaction with an address lookup table holding its accounts.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use groundwork_client::ledger::read;
use groundwork_client::reward_epochs as rewards;
use reward_epochs::ClaimV0;
use serde::{Deserialize, Serialize};
use solana_address_lookup_table_interface::instruction::{
    close_lookup_table, create_lookup_table, deactivate_lookup_table, extend_lookup_table,
};
use solana_message::v0;
use solana_message::{AddressLookupTableAccount, VersionedMessage};
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;

use crate::context::{short, Context};
use crate::oracle_api::oracle_get;
use crate::output::{format_amount, Effect};

#[derive(Subcommand)]
pub enum RewardsCommand {
    /// What a recipient was paid, and (with --oracle) what it earned and can claim.
    Show {
        recipient: Option<Pubkey>,
        /// The oracle's base URL (serves `GET /v1/rewards/{recipient}`; default: the
        /// config's `oracle`).
        #[arg(long)]
        oracle: Option<String>,
    },
    /// Claims a recipient's rewards against the newest active root (anyone may send it).
    Claim {
        /// Who is paid (default: the keypair).
        #[arg(long)]
        recipient: Option<Pubkey>,
        /// The oracle serving the recipient's leaf and proof (default: the config's
        /// `oracle`).
        #[arg(long, conflicts_with = "proof_file")]
        oracle: Option<String>,
        /// The leaf and proof as JSON: {"cumulative_amount": n, "proof": ["<hex>", ...]}.
        #[arg(long)]
        proof_file: Option<PathBuf>,
    },
    /// What a device, or every device of an operator (default: the keypair), earned in each
    /// of the newest verified epochs and why, from an oracle's reports.
    History {
        #[arg(long, conflicts_with = "operator")]
        device: Option<Pubkey>,
        #[arg(long)]
        operator: Option<Pubkey>,
        /// The newest this many verified epochs (1 to 30).
        #[arg(long, default_value_t = 10)]
        epochs: usize,
        /// Every row as CSV (amounts in decimals and base units), for a spreadsheet.
        #[arg(long)]
        csv: bool,
        /// The oracle's base URL (default: the config's `oracle`).
        #[arg(long)]
        oracle: Option<String>,
    },
    /// Checks epoch N's root without trusting any oracle: fetches its published bundle,
    /// re-verifies every signature, rebuilds the chain snapshot from the RPC endpoint's
    /// finalized history, computes the report again and compares it with the bundle's report
    /// and the chain's votes. Exit status 0 only when everything matches.
    VerifyEpoch {
        epoch: u64,
        /// The bundle store (a directory, file://, s3://BUCKET/PREFIX or https://), or the
        /// epoch's index URL (.../epochs/N/index.json).
        #[arg(long)]
        bundle: Option<String>,
        /// An oracle that publishes the bundle, to locate it (default: the config's
        /// `oracle`, when --bundle is not given).
        #[arg(long)]
        oracle: Option<String>,
        /// The network's [verify] parameters (an oracle config, or its [verify] section): the
        /// bundle's must be these. Without it the bundle's are used as published.
        #[arg(long)]
        params: Option<PathBuf>,
    },
    /// Recomputes published epochs under changed [verify] parameters and prints who would
    /// gain or lose: totals, per operator, the devices that move most, devices newly zeroed or
    /// restored. Needs no RPC endpoint.
    Replay {
        /// A bundle store (with --epochs) or an epoch's index URL; repeat for several.
        #[arg(long = "bundle", required = true)]
        bundles: Vec<String>,
        /// The epochs to replay from a bundle store: A..B, or A,B,C.
        #[arg(long)]
        epochs: Option<String>,
        /// The changed parameters: a TOML file with a [verify] section (as in the oracle's
        /// config) or the settings alone; what it does not name keeps the bundle's value.
        #[arg(long)]
        params: PathBuf,
        /// Also write every changed device of every epoch to this CSV file.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// How many devices each list shows.
        #[arg(long, default_value_t = 10)]
        top: usize,
    },
    /// Closes the keypair's deactivated address lookup tables (left by claims too long for a
    /// legacy transaction) and returns their rent.
    CloseLookupTables,
}

/// A recipient's leaf and its proof against the newest active root.
#[derive(Debug, Deserialize)]
pub struct LeafProof {
    /// The epoch of the root the leaf is in (a proof file may leave it out).
    #[serde(default)]
    pub epoch: Option<u64>,
    pub cumulative_amount: u64,
    pub proof: Vec<String>,
}

impl LeafProof {
    pub(crate) fn hashes(&self) -> Result<Vec<[u8; 32]>> {
        self.proof
            .iter()
            .map(|hash| {
                let bytes = hex::decode(hash.trim_start_matches("0x"))
                    .with_context(|| format!("proof hash {hash:?} is not hex"))?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| anyhow::anyhow!("proof hash {hash:?} is not 32 bytes"))
            })
            .collect()
    }

    /// The proof's hashes, once they verify `recipient`'s leaf against the active root.
    pub(crate) fn verified_hashes(
        &self,
        config: &reward_epochs::RewardConfigV0,
        recipient: &Pubkey,
    ) -> Result<Vec<[u8; 32]>> {
        let proof = self.hashes()?;
        if !groundwork_merkle::verify(
            &config.active_root,
            &recipient.to_bytes(),
            self.cumulative_amount,
            &proof,
        ) {
            bail!(
                "the proof for {} does not verify against the active root (epoch {}): fetch a fresh one from the oracle",
                short(recipient),
                config.active_root_epoch.unwrap_or_default()
            );
        }
        Ok(proof)
    }
}

fn fetch_leaf(oracle: &str, recipient: &Pubkey) -> Result<LeafProof> {
    let reply = oracle_get(oracle, &format!("/v1/rewards/{recipient}"))?;
    serde_json::from_value(reply).context("reading the oracle's leaf and proof")
}

/// How often the oracle's leaf and the chain's config are read again while they name different
/// roots, and how long the CLI waits before asking an oracle that is behind again: an oracle
/// keeps a read active root for up to `groundwork_oracle_verify::api::ACTIVE_ROOT_FRESH`
/// (2 s), so right after a root activates it may still answer for the one before.
const ROOT_MISMATCH_RETRIES: u32 = 3;
const ORACLE_BEHIND_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// `recipient`'s leaf and proof, with the reward config read from chain they are to verify
/// against: from `proof_file` when given, else from the oracle (`oracle`, or the config's).
/// While the oracle answers for an older root than the config's active one, it is asked
/// again (2 s apart); when it answers for a newer one (it activated after the config was
/// read), the config is read again; after a few tries, the mismatch is an error.
pub(crate) fn leaf_and_config(
    ctx: &Context,
    oracle: Option<String>,
    proof_file: Option<PathBuf>,
    recipient: &Pubkey,
) -> Result<(LeafProof, reward_epochs::RewardConfigV0)> {
    let mut config = ctx.reward_config()?;
    if let Some(path) = proof_file {
        let leaf = serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} is not a leaf and proof", path.display()))?;
        return Ok((leaf, config));
    }
    let oracle = ctx.oracle_url(oracle)?;
    let mut retries = 0;
    loop {
        let leaf = fetch_leaf(&oracle, recipient)?;
        let (Some(answered), Some(active)) = (leaf.epoch, config.active_root_epoch) else {
            return Ok((leaf, config));
        };
        if answered == active {
            return Ok((leaf, config));
        }
        if retries == ROOT_MISMATCH_RETRIES {
            bail!(
                "{oracle} answers with epoch {answered}'s root, the chain's active root is epoch {active}'s: ask again shortly, or ask another oracle (--oracle)"
            );
        }
        retries += 1;
        if answered < active {
            std::thread::sleep(ORACLE_BEHIND_WAIT);
        } else {
            config = ctx.reward_config()?;
        }
    }
}

#[derive(Serialize)]
pub struct RewardsView {
    pub recipient: String,
    pub claimed: u64,
    pub claims: u32,
    pub active_root_epoch: Option<u64>,
    /// From the oracle, when asked: everything earned since genesis, and what is due now.
    pub cumulative_amount: Option<u64>,
    pub due: Option<u64>,
    /// The network token's decimals (amounts are in base units).
    pub decimals: u8,
}

impl std::fmt::Display for RewardsView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} was paid {} in {} claims (active root: epoch {})",
            self.recipient,
            format_amount(self.claimed, self.decimals),
            self.claims,
            self.active_root_epoch
                .map_or_else(|| "none yet".into(), |epoch| epoch.to_string())
        )?;
        if let (Some(earned), Some(due)) = (self.cumulative_amount, self.due) {
            writeln!(
                f,
                "earned {}, due {}",
                format_amount(earned, self.decimals),
                format_amount(due, self.decimals)
            )?;
        }
        Ok(())
    }
}

pub fn rewards(ctx: &Context, command: RewardsCommand) -> Result<()> {
    match command {
        RewardsCommand::History {
            device,
            operator,
            epochs,
            csv,
            oracle,
        } => {
            let oracle = ctx.oracle_url(oracle)?;
            super::history::history(ctx, device, operator, epochs, csv, &oracle)
        }
        RewardsCommand::Show { recipient, oracle } => {
            let config = ctx.reward_config()?;
            let recipient = ctx.key_or_signer(recipient)?;
            let record: Option<ClaimV0> = read(&ctx.ledger, &rewards::claim_address(&recipient))?;
            let claimed = record.as_ref().map_or(0, |record| record.claimed);
            let earned = match (oracle, &ctx.oracle) {
                (Some(oracle), _) => Some(fetch_leaf(&oracle, &recipient)?.cumulative_amount),
                // From the config: what was paid is still worth showing without it.
                (None, Some(oracle)) => match fetch_leaf(oracle, &recipient) {
                    Ok(leaf) => Some(leaf.cumulative_amount),
                    Err(error) => {
                        eprintln!("warning: earnings left out: {error:#}");
                        None
                    }
                },
                (None, None) => None,
            };
            ctx.print(&RewardsView {
                recipient: recipient.to_string(),
                claimed,
                claims: record.map_or(0, |record| record.claims),
                active_root_epoch: config.active_root_epoch,
                cumulative_amount: earned,
                due: earned.map(|earned| earned.saturating_sub(claimed)),
                decimals: ctx.network_decimals()?,
            })
        }
        RewardsCommand::Claim {
            recipient,
            oracle,
            proof_file,
        } => {
            let payer = ctx.signer()?;
            let recipient = recipient.unwrap_or(payer.pubkey());
            if ctx.reward_config()?.active_root_epoch.is_none() {
                bail!("no reward root is active yet: nothing can be claimed");
            }
            let (leaf, config) = leaf_and_config(ctx, oracle, proof_file, &recipient)?;
            let proof = leaf.verified_hashes(&config, &recipient)?;
            let record: Option<ClaimV0> = read(&ctx.ledger, &rewards::claim_address(&recipient))?;
            let claimed = record.map_or(0, |record| record.claimed);
            if leaf.cumulative_amount <= claimed {
                bail!(
                    "nothing is due: {} was already paid {} of the {} it earned",
                    short(&recipient),
                    format_amount(claimed, ctx.network_decimals()?),
                    format_amount(leaf.cumulative_amount, ctx.network_decimals()?)
                );
            }
            let token = ctx.network_token()?;
            let instruction = rewards::claim(
                &payer.pubkey(),
                &recipient,
                token,
                leaf.cumulative_amount,
                proof,
            );
            let decimals = ctx.network_decimals()?;
            let effect = |ctx: &Context| {
                let paid_in_all =
                    read::<ClaimV0>(&ctx.ledger, &rewards::claim_address(&recipient))?
                        .map_or(0, |record| record.claimed);
                let paid = paid_in_all.saturating_sub(claimed);
                let holds = ctx.token_balance(&rewards::recipient_token_account(&recipient, token));
                Ok(Effect::new(format!(
                    "paid {} network tokens to {recipient} (of {} earned in all); it holds {}",
                    format_amount(paid, decimals),
                    format_amount(leaf.cumulative_amount, decimals),
                    format_amount(holds, decimals)
                ))
                .with("claimed_base_units", paid)
                .with("cumulative_amount_base_units", leaf.cumulative_amount)
                .with("recipient_holds_base_units", holds))
            };
            let sent = submit_fitting(ctx, &payer, &[instruction], "claim")?;
            ctx.print_with_effect(&sent, effect)
        }
        RewardsCommand::CloseLookupTables => ctx.print(&close_lookup_tables(ctx)?),
        RewardsCommand::VerifyEpoch {
            epoch,
            bundle,
            oracle,
            params,
        } => super::bundle::verify_epoch(ctx, epoch, bundle, oracle, params),
        RewardsCommand::Replay {
            bundles,
            epochs,
            params,
            csv,
            top,
        } => super::bundle::replay(
            &bundles,
            epochs.as_deref(),
            &params,
            csv.as_ref(),
            top,
            ctx.output,
        ),
    }
}

/// Sends `instructions` (a claim or a pool sweep, `what`) in one transaction: a legacy one
/// when it fits a packet (or is only printed or simulated), else a v0 one whose accounts come
/// from a new address lookup table (a proof too long for a legacy transaction: trees of more
/// than 2^20 recipients for a claim, 2^12 to 2^16 for a sweep as it creates accounts and
/// takes cohorts).
pub(crate) fn submit_fitting(
    ctx: &Context,
    payer: &crate::signing::Party,
    instructions: &[Instruction],
    what: &str,
) -> Result<crate::send::Sent> {
    let legacy_bytes = groundwork_client::legacy_transaction_bytes(&payer.pubkey(), instructions);
    if legacy_bytes <= groundwork_client::PACKET_DATA_SIZE
        || ctx.send.dump_message
        || ctx.send.dry_run
    {
        crate::send::submit(&ctx.ledger, instructions, &[payer], ctx.send)
    } else {
        send_with_lookup_table(ctx, payer, instructions, what)
    }
}

/// Sends `instructions` as a v0 transaction whose accounts (but the payer) come from a new
/// address lookup table, deactivated afterwards whatever the outcome.
fn send_with_lookup_table(
    ctx: &Context,
    payer: &crate::signing::Party,
    instructions: &[Instruction],
    what: &str,
) -> Result<crate::send::Sent> {
    let client = &ctx.ledger.client;
    let slot = client.get_slot()?;
    let (create, table) = create_lookup_table(payer.pubkey(), payer.pubkey(), slot);
    let mut addresses: Vec<Pubkey> = Vec::new();
    for key in instructions.iter().flat_map(|instruction| {
        instruction
            .accounts
            .iter()
            .map(|meta| meta.pubkey)
            .chain(std::iter::once(instruction.program_id))
    }) {
        if key != payer.pubkey() && !addresses.contains(&key) {
            addresses.push(key);
        }
    }
    let extend = extend_lookup_table(
        table,
        payer.pubkey(),
        Some(payer.pubkey()),
        addresses.clone(),
    );
    crate::send::submit(&ctx.ledger, &[create, extend], &[payer], ctx.send)
        .with_context(|| format!("creating the {what}'s address lookup table"))?;
    let lookup = AddressLookupTableAccount {
        key: table,
        addresses,
    };
    // Whatever happens next (a refusal, an RPC failure, a send that failed because another
    // claim or sweep landed first), the table is deactivated: its rent comes back.
    let sent = send_through_table(ctx, payer, instructions, &lookup, what);
    deactivate_table(ctx, payer, table);
    sent
}

/// Sends `instructions` as a v0 transaction looking its accounts up in `lookup` (created
/// just before), once the table serves.
fn send_through_table(
    ctx: &Context,
    payer: &crate::signing::Party,
    instructions: &[Instruction],
    lookup: &AddressLookupTableAccount,
    what: &str,
) -> Result<crate::send::Sent> {
    let client = &ctx.ledger.client;
    // A table serves transactions from the slot after it was last extended.
    let extended_at = client.get_slot()?;
    while client.get_slot()? <= extended_at {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let compile = |unit_limit: u32, price: u64| -> Result<VersionedMessage> {
        let mut budgeted =
            groundwork_client::compute_budget_instructions(unit_limit, price).to_vec();
        budgeted.extend_from_slice(instructions);
        Ok(VersionedMessage::V0(
            v0::Message::try_compile(
                &payer.pubkey(),
                &budgeted,
                std::slice::from_ref(lookup),
                client.get_latest_blockhash()?,
            )
            .with_context(|| format!("compiling the v0 {what}"))?,
        ))
    };
    // Simulated first, as every transaction: a refused one sends nothing more.
    let unsigned = compile(1_400_000, 0)?;
    let signature_count = usize::from(unsigned.header().num_required_signatures);
    let simulation = crate::send::simulate(
        &ctx.ledger,
        &VersionedTransaction {
            signatures: vec![solana_signature::Signature::default(); signature_count],
            message: unsigned,
        },
    )?;
    if let Some(error) = simulation.err {
        bail!(
            "{}",
            crate::send::refusal(&error, &simulation.logs.unwrap_or_default())
        );
    }
    let unit_limit = crate::send::unit_limit_for(simulation.units_consumed.unwrap_or(0));
    let price = crate::send::priority_fee_for(&ctx.ledger, instructions, ctx.send.max_priority_fee);
    let transaction = VersionedTransaction::try_new(compile(unit_limit, price)?, &[payer])?;
    let signature = client
        .send_and_confirm_transaction_with_spinner(&transaction)
        .with_context(|| format!("sending the v0 {what}"))?;
    Ok(crate::send::Sent::Confirmed {
        signature: signature.to_string(),
        compute_unit_limit: unit_limit,
        priority_fee_micro_lamports: price,
    })
}

/// Deactivates a one-use lookup table (its transaction sent or given up); its rent comes
/// back with `groundwork rewards close-lookup-tables` once the deactivation is old enough. A
/// failure here is a warning, naming the table.
fn deactivate_table(ctx: &Context, payer: &crate::signing::Party, table: Pubkey) {
    let deactivate = deactivate_lookup_table(table, payer.pubkey());
    match crate::send::submit(&ctx.ledger, &[deactivate], &[payer], ctx.send) {
        Ok(_) => eprintln!(
            "lookup table {table} deactivated: run `groundwork rewards close-lookup-tables` in a few minutes to reclaim its rent"
        ),
        Err(error) => eprintln!("deactivating lookup table {table} failed ({error:#}); it stays usable and holds its rent"),
    }
}

/// Lookup tables the keypair holds authority over: closed when deactivated long enough ago,
/// listed when still cooling down; active tables are left alone.
#[derive(Debug, Serialize)]
pub struct LookupTables {
    pub closed: Vec<String>,
    pub reclaimed_lamports: u64,
    /// (table, slots until it can be closed)
    pub cooling_down: Vec<(String, u64)>,
    pub active: usize,
}

impl std::fmt::Display for LookupTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} lookup table(s) closed, {} SOL reclaimed; {} cooling down; {} active (left alone)",
            self.closed.len(),
            format_amount(self.reclaimed_lamports, 9),
            self.cooling_down.len(),
            self.active
        )?;
        for (table, slots) in &self.cooling_down {
            writeln!(f, "  {table}: closable in {slots} slots")?;
        }
        Ok(())
    }
}

/// Offset of a lookup table's authority key (after the u32 state tag, the deactivation and
/// last-extended slots, the start index, and the Option tag).
const TABLE_AUTHORITY_OFFSET: usize = 4 + 8 + 8 + 1 + 1;

/// Closes the keypair's deactivated lookup tables whose deactivation has left the slot
/// hashes window.
fn close_lookup_tables(ctx: &Context) -> Result<LookupTables> {
    use groundwork_client::ledger::{DataFilter, Ledger};
    use solana_address_lookup_table_interface::state::AddressLookupTable;
    let payer = ctx.signer()?;
    let tables = ctx.ledger.program_accounts(
        &solana_address_lookup_table_interface::program::ID,
        &[DataFilter {
            offset: TABLE_AUTHORITY_OFFSET,
            bytes: payer.pubkey().to_bytes().to_vec(),
        }],
    )?;
    let slot = ctx.ledger.client.get_slot()?;
    // A deactivated table can be closed once its deactivation slot has left the 512-entry
    // SlotHashes window.
    const SLOT_HASHES_WINDOW: u64 = 512;
    let mut result = LookupTables {
        closed: Vec::new(),
        reclaimed_lamports: 0,
        cooling_down: Vec::new(),
        active: 0,
    };
    for (address, account) in tables {
        let Ok(table) = AddressLookupTable::deserialize(&account.data) else {
            continue;
        };
        let deactivated_at = table.meta.deactivation_slot;
        if deactivated_at == u64::MAX {
            result.active += 1;
            continue;
        }
        let closable_at = deactivated_at.saturating_add(SLOT_HASHES_WINDOW + 1);
        if slot < closable_at {
            result
                .cooling_down
                .push((address.to_string(), closable_at - slot));
            continue;
        }
        let close = close_lookup_table(address, payer.pubkey(), payer.pubkey());
        crate::send::submit(&ctx.ledger, &[close], &[&payer], ctx.send)
            .with_context(|| format!("closing lookup table {address}"))?;
        result.closed.push(address.to_string());
        result.reclaimed_lamports += account.lamports;
    }
    Ok(result)
}
