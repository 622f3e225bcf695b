//! The relayer's address lookup table: one per oracle key, created the first time a relayed
//! claim or pool sweep does not fit a legacy transaction (a proof of more than 20 hashes for
//! a claim, 12 to 16 for a sweep as it creates accounts and takes cohorts: trees of more than
//! 2^20 or 2^12 recipients), and kept. It holds the network's fixed accounts
//! ([`fixed_relay_accounts`]), so such a transaction goes out as v0 with those accounts looked
//! up: 6 more hashes fit in a claim (2^26 recipients), 7 in a sweep (2^19 at its heaviest).
//!
//! Its address is kept in a file (written whole, atomically) before the transaction creating
//! it is sent: a restart uses the same table, and a creation that never landed is seen as such
//! once the slot it named has left the window a creation may land in, and only then replaced.
//! The relayer never deactivates its table: its rent (about 0.0035 SOL) is paid once. A table
//! that is gone, deactivated by hand or recorded on a chain since reset is replaced; a full
//! one (256 addresses: only repeated extensions could fill it) is left for its operator to
//! close, and the relay says so.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use groundwork_client::tokenomics::NetworkToken;
use serde::{Deserialize, Serialize};
use solana_address_lookup_table_interface::instruction::{
    create_lookup_table, extend_lookup_table,
};
use solana_address_lookup_table_interface::state::{AddressLookupTable, LOOKUP_TABLE_META_SIZE};
use solana_message::{v0, AddressLookupTableAccount, VersionedMessage};
use solana_signer::Signer;

use crate::{state, Relayed, SubmitError, Submitter};

/// Slots after the slot a creation names within which the creation may still land: the
/// named slot must be among SlotHashes' 512 newest entries when it executes, and the
/// transaction's blockhash lives about 150 blocks; the smaller bound applies, so their sum is
/// a safe margin. Past it, a table that is not there never will be.
const CREATION_LANDS_WITHIN_SLOTS: u64 = 512 + 150;

/// The most addresses one table holds.
const TABLE_CAPACITY: usize = 256;

/// The accounts every relayed claim or pool sweep of the network names, whoever it pays:
/// the ones the table holds.
pub fn fixed_relay_accounts(token: NetworkToken) -> Vec<Pubkey> {
    use groundwork_client::{reward_epochs as rewards, staking};
    vec![
        rewards::PROGRAM_ID,
        rewards::config_address(),
        rewards::epoch_minter_address(),
        rewards::reward_vault_address(),
        staking::config_address(),
        staking::event_authority(),
        token.mint,
        token.token_program,
        anchor_spl::associated_token::ID,
        anchor_lang::system_program::ID,
    ]
}

/// The table this relayer created (its address, and the slot its creation named).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct TableRecord {
    address: String,
    recent_slot: u64,
}

/// Where the relayer's table stands for a transaction that needs it.
pub(crate) enum TableState {
    /// Usable now.
    Ready(AddressLookupTableAccount),
    /// Created or extended lately, or its creation sent: usable in a later round. What it
    /// waits for, in words.
    Preparing(String),
    /// It cannot be made ready now (creating or extending it would take the key below its
    /// reserve, or it is full), in words; nothing was sent.
    Unaffordable(String),
}

/// Slots after the one an extension was sent at within which it may still land (its
/// blockhash lives about 150 blocks).
const EXTENSION_LANDS_WITHIN_SLOTS: u64 = 200;

/// The relayer's table record, in a file next to the submissions, and the extension sent
/// lately (in memory: after a restart an extension may be sent again, at worst paying for a
/// few addresses twice).
pub(crate) struct TableFile {
    path: std::path::PathBuf,
    extension_sent_at: std::sync::Mutex<Option<u64>>,
}

impl TableFile {
    pub(crate) fn new(path: std::path::PathBuf) -> Self {
        TableFile {
            path,
            extension_sent_at: std::sync::Mutex::new(None),
        }
    }

    fn extension_sent(&self, slot: u64) {
        *self.extension_sent_at.lock().expect("table lock") = Some(slot);
    }

    fn extension_landed(&self) {
        *self.extension_sent_at.lock().expect("table lock") = None;
    }

    /// Whether an extension sent lately may still land at `slot` or later.
    fn extension_may_land(&self, slot: u64) -> bool {
        self.extension_sent_at
            .lock()
            .expect("table lock")
            .is_some_and(|sent| slot <= sent.saturating_add(EXTENSION_LANDS_WITHIN_SLOTS))
    }

    fn read(&self) -> Result<Option<TableRecord>, SubmitError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|source| {
                SubmitError::File(state::StateFileError::Parse {
                    path: self.path.display().to_string(),
                    source,
                })
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(SubmitError::File(state::StateFileError::Io {
                path: self.path.display().to_string(),
                source,
            })),
        }
    }

    /// Forgets the record (durable on return).
    fn clear(&self) -> Result<(), SubmitError> {
        let removed = match std::fs::remove_file(&self.path) {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Ok(()) => groundwork_oracle_core::files::sync_dir(
                self.path.parent().unwrap_or(std::path::Path::new(".")),
            ),
            Err(error) => Err(error),
        };
        removed.map_err(|source| {
            SubmitError::File(state::StateFileError::Io {
                path: self.path.display().to_string(),
                source,
            })
        })
    }

    /// Durable on return.
    fn write(&self, record: &TableRecord) -> Result<(), SubmitError> {
        let json = serde_json::to_vec_pretty(record).expect("a table record serialises");
        groundwork_oracle_core::files::write_atomically(&self.path, &json).map_err(|source| {
            SubmitError::File(state::StateFileError::Io {
                path: self.path.display().to_string(),
                source,
            })
        })
    }
}

/// The rent of a table holding `addresses` addresses.
fn table_rent(addresses: usize) -> u64 {
    anchor_lang::solana_program::rent::Rent::default()
        .minimum_balance(LOOKUP_TABLE_META_SIZE + 32 * addresses)
}

/// The wire size of a v0 transaction paid and signed by `payer` alone, carrying the
/// compute-budget instructions and `instructions`, with the accounts `table` holds looked up.
pub(crate) fn v0_transaction_bytes(
    payer: &Pubkey,
    instructions: &[Instruction],
    table: &AddressLookupTableAccount,
) -> Result<usize, SubmitError> {
    let mut budgeted = groundwork_client::compute_budget_instructions(0, 0).to_vec();
    budgeted.extend_from_slice(instructions);
    let message = v0::Message::try_compile(
        payer,
        &budgeted,
        std::slice::from_ref(table),
        solana_message::Hash::default(),
    )
    .map_err(|error| SubmitError::Rpc(format!("compiling a v0 message: {error}")))?;
    // The signature's count (one byte), the signature, the message with its version prefix.
    Ok(1 + 64 + VersionedMessage::V0(message).serialize().len())
}

impl Submitter {
    /// The relayer's table holding `wanted`, ready for a v0 transaction now — or what it waits
    /// for, after sending whatever brings it closer (its creation, or an extension with the
    /// accounts it lacks), within the key's reserve.
    pub(crate) async fn relay_table(&self, wanted: &[Pubkey]) -> Result<TableState, SubmitError> {
        let oracle = self.oracle.pubkey();
        if let Some(record) = self.relay_table_file.read()? {
            let address: Pubkey = record.address.parse().map_err(|_| {
                SubmitError::Rpc(format!(
                    "the relay lookup table record names {:?}, not an address",
                    record.address
                ))
            })?;
            // The account with the slot it was read at, in one answer (a slot from another
            // endpoint could make a creation look lost).
            let (slot, data) = self
                .rpc
                .data_now(&address)
                .await
                .map_err(SubmitError::Rpc)?;
            let table = data
                .as_deref()
                .and_then(|data| AddressLookupTable::deserialize(data).ok());
            match table {
                Some(table)
                    if table.meta.authority == Some(oracle)
                        && table.meta.deactivation_slot == u64::MAX =>
                {
                    let missing: Vec<Pubkey> = wanted
                        .iter()
                        .filter(|key| !table.addresses.contains(key))
                        .copied()
                        .collect();
                    if missing.is_empty() {
                        self.relay_table_file.extension_landed();
                        if slot <= table.meta.last_extended_slot {
                            return Ok(TableState::Preparing(format!(
                                "the relay lookup table {address} serves from the slot after {}",
                                table.meta.last_extended_slot
                            )));
                        }
                        return Ok(TableState::Ready(AddressLookupTableAccount {
                            key: address,
                            addresses: table.addresses.to_vec(),
                        }));
                    }
                    return self
                        .extend_relay_table(address, &table, missing, slot)
                        .await;
                }
                // Within the window on either side (an endpoint a little behind the slot the
                // creation named waits too; one far behind it is a chain since reset).
                None if data.is_none()
                    && slot
                        <= record
                            .recent_slot
                            .saturating_add(CREATION_LANDS_WITHIN_SLOTS)
                    && record.recent_slot <= slot.saturating_add(CREATION_LANDS_WITHIN_SLOTS) =>
                {
                    return Ok(TableState::Preparing(format!(
                        "the creation of the relay lookup table {address} has not landed yet"
                    )));
                }
                // Gone, not this key's, deactivated, its creation never landed, or recorded on
                // a chain since reset (a slot far ahead of the chain's).
                _ => {}
            }
        }
        let cost = self.claim_cost_at_most(true, true) + table_rent(wanted.len());
        if let Some(words) = self.unaffordable(cost, "creating").await? {
            return Ok(TableState::Unaffordable(words));
        }
        // The creation names a finalized slot: one every node's SlotHashes holds.
        let recent_slot = self.rpc.finalized_slot().await.map_err(SubmitError::Rpc)?;
        let (create, address) = create_lookup_table(oracle, oracle, recent_slot);
        let extend = extend_lookup_table(address, oracle, Some(oracle), wanted.to_vec());
        self.relay_table_file.write(&TableRecord {
            address: address.to_string(),
            recent_slot,
        })?;
        let sent = self
            .send_all_once(vec![create, extend], "relay lookup table creation")
            .await?;
        if sent.is_none() {
            // Nothing was sent: the record names no table that could ever appear.
            self.relay_table_file.clear()?;
            return Ok(TableState::Preparing(
                "the creation of a relay lookup table is refused by its simulation (at debug level: why); trying again"
                    .to_string(),
            ));
        }
        self.note_relay_spending(cost);
        tracing::info!(%address, accounts = wanted.len(), "creating the relay lookup table (claims and sweeps too long for a legacy transaction use it)");
        Ok(TableState::Preparing(format!(
            "the relay lookup table {address} is being created"
        )))
    }

    /// Extends the relayer's table at `address` (read at `slot`) with the `missing` accounts,
    /// once: while an extension sent before may still land, nothing more is sent (an
    /// extension does not skip addresses the table holds, so a second one would pay for
    /// them twice).
    async fn extend_relay_table(
        &self,
        address: Pubkey,
        table: &AddressLookupTable<'_>,
        missing: Vec<Pubkey>,
        slot: u64,
    ) -> Result<TableState, SubmitError> {
        if self.relay_table_file.extension_may_land(slot) {
            return Ok(TableState::Preparing(format!(
                "the extension of the relay lookup table {address} has not landed yet"
            )));
        }
        if table.addresses.len() + missing.len() > TABLE_CAPACITY {
            return Ok(TableState::Unaffordable(format!(
                "the relay lookup table {address} is full; deactivate and close it (its authority is this oracle's key) and remove {} so that another is created",
                self.relay_table_file.path.display()
            )));
        }
        let oracle = self.oracle.pubkey();
        let cost = self.claim_cost_at_most(true, true)
            + table_rent(missing.len()).saturating_sub(table_rent(0));
        if let Some(words) = self.unaffordable(cost, "extending").await? {
            return Ok(TableState::Unaffordable(words));
        }
        let count = missing.len();
        let extend = extend_lookup_table(address, oracle, Some(oracle), missing);
        if self
            .send_all_once(vec![extend], "relay lookup table extension")
            .await?
            .is_none()
        {
            return Ok(TableState::Preparing(format!(
                "the extension of the relay lookup table {address} is refused by its simulation (at debug level: why); trying again"
            )));
        }
        self.relay_table_file.extension_sent(slot);
        self.note_relay_spending(cost);
        Ok(TableState::Preparing(format!(
            "the relay lookup table {address} is being extended with {count} accounts"
        )))
    }

    /// In words, why the key cannot spend `cost` on `doing` the table now (it would go below
    /// the reserve kept for votes); `None` when it can.
    async fn unaffordable(&self, cost: u64, doing: &str) -> Result<Option<String>, SubmitError> {
        Ok(match self.below_reserve(cost).await? {
            Some(Relayed::BelowReserve {
                balance,
                reserve,
                unsettled,
                ..
            }) => Some(format!(
                "{doing} the relay lookup table may cost {cost} lamports; the oracle key holds {balance}, relays sent lately may still take {unsettled}, and {reserve} are kept for votes"
            )),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use groundwork_client::PACKET_DATA_SIZE;

    use super::*;

    /// The longest proof (in hashes) whose relay `build` makes fits one packet, as legacy and
    /// as v0 through the relayer's table.
    fn longest_proofs(
        payer: &Pubkey,
        table: &AddressLookupTableAccount,
        build: impl Fn(Vec<[u8; 32]>) -> Vec<Instruction>,
    ) -> (usize, usize) {
        let v0_bytes = |instructions: &[Instruction]| {
            v0_transaction_bytes(payer, instructions, table).expect("compiles")
        };
        let longest = |bytes: &dyn Fn(&[Instruction]) -> usize| {
            (1..64)
                .take_while(|hashes| bytes(&build(vec![[7; 32]; *hashes])) <= PACKET_DATA_SIZE)
                .last()
                .unwrap_or(0)
        };
        (
            longest(&|instructions| {
                groundwork_client::legacy_transaction_bytes(payer, instructions)
            }),
            longest(&v0_bytes),
        )
    }

    #[test]
    fn the_relay_table_makes_room_for_proofs_of_millions_of_recipients() {
        let token = NetworkToken {
            mint: Pubkey::new_unique(),
            token_program: anchor_spl::token_2022::ID,
        };
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: fixed_relay_accounts(token),
        };
        let payer = Pubkey::new_unique();
        let recipient = Pubkey::new_unique();
        let (claim_legacy, claim_v0) = longest_proofs(&payer, &table, |proof| {
            vec![groundwork_client::reward_epochs::claim(
                &payer, &recipient, token, 1, proof,
            )]
        });
        // The first sweep of a pool also creates its operator's token account.
        let operator = Pubkey::new_unique();
        let mut pool = staking::PoolRewardsV0::new(255, operator, 1_000);
        for key_epoch in 1..=3 {
            pool.waiting[key_epoch as usize - 1] = staking::WaitingCohort {
                key_epoch,
                activation_epoch: key_epoch,
            };
        }
        pool.waiting_count = 3;
        let (sweep_legacy, sweep_v0) = longest_proofs(&payer, &table, |proof| {
            vec![
                token.create_account_idempotent(&payer, &operator),
                groundwork_client::staking::sweep_pool_rewards(
                    &payer, &operator, &pool, 3, token, 1, proof, true,
                ),
            ]
        });
        println!(
            "longest proofs (hashes) in one packet: relayed claim {claim_legacy} legacy, {claim_v0} through the relay table; first pool sweep with 3 cohorts {sweep_legacy} legacy, {sweep_v0} through the table"
        );
        // A claim for trees of up to 2^20 recipients goes legacy; through the table, 2^26.
        assert_eq!(claim_legacy, 20);
        assert!(claim_v0 >= 26, "{claim_v0}");
        // The heaviest sweep (its operator's account made, three cohorts due): 2^12 legacy,
        // 2^19 through the table.
        assert!(sweep_v0 >= sweep_legacy + 7, "{sweep_legacy} {sweep_v0}");
        assert!(sweep_v0 >= 19, "{sweep_v0}");
    }
}
