//! What the CLI, the bootstrap and the local network need of a cluster: read an account, send
//! a transaction and wait for it. Implemented over JSON-RPC for real clusters and by the
//! in-process runtime for tests, so the same code runs against both.

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};
use solana_account::Account;
use solana_keypair::Keypair;

/// Why reading or sending failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The cluster could not be reached or answered with an error.
    #[error("cluster: {0}")]
    Cluster(String),
    /// The transaction was refused (simulation or execution); the program logs say why.
    #[error("transaction refused: {message}")]
    Refused { message: String, logs: Vec<String> },
    /// Accounts read together do not add up (e.g. a view that cannot be computed from them).
    #[error("inconsistent accounts: {0}")]
    Inconsistent(String),
    /// An account exists but is not of the expected type.
    #[error("account {address} is not a {expected}")]
    WrongAccount {
        address: Pubkey,
        expected: &'static str,
    },
}

/// A cluster, as the Groundwork tools use it.
pub trait Ledger {
    /// The account at `address`, if it exists (with lamports).
    fn account(&self, address: &Pubkey) -> Result<Option<Account>, LedgerError>;

    /// The accounts at `addresses` as of one moment (a cluster answers them from one slot),
    /// in order; `None` where none exists.
    fn accounts_at_once(&self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>, LedgerError> {
        addresses
            .iter()
            .map(|address| self.account(address))
            .collect()
    }

    /// Sends one transaction of `instructions`, paid by `signers[0]` and signed by all of
    /// `signers`, and returns its signature once it is confirmed.
    fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<String, LedgerError>;

    /// The cluster's current unix time (its Clock sysvar).
    fn unix_timestamp(&self) -> Result<i64, LedgerError>;

    /// Every account owned by `program` whose data hold each filter's bytes at its offset
    /// (getProgramAccounts with memcmp filters), with its address.
    fn program_accounts(
        &self,
        program: &Pubkey,
        filters: &[DataFilter],
    ) -> Result<Vec<(Pubkey, Account)>, LedgerError>;
}

/// Account data that must hold `bytes` at `offset` (a memcmp filter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataFilter {
    pub offset: usize,
    pub bytes: Vec<u8>,
}

impl DataFilter {
    /// Whether `data` holds the filter's bytes at its offset.
    pub fn matches(&self, data: &[u8]) -> bool {
        data.get(self.offset..self.offset.saturating_add(self.bytes.len()))
            .is_some_and(|window| window == self.bytes.as_slice())
    }
}

/// Every Anchor account of type `T` owned by `program`, optionally only those whose 32 bytes
/// at an offset are a given key, with their addresses. Accounts of the type that do not decode
/// (e.g. written by a newer program version) are skipped, not fatal.
pub fn accounts_of_type<T: AccountDeserialize + Discriminator>(
    ledger: &dyn Ledger,
    program: &Pubkey,
    key_at: Option<(usize, &Pubkey)>,
) -> Result<Vec<(Pubkey, T)>, LedgerError> {
    let filters: Vec<DataFilter> = std::iter::once(DataFilter {
        offset: 0,
        bytes: T::DISCRIMINATOR.to_vec(),
    })
    .chain(key_at.map(|(offset, key)| DataFilter {
        offset,
        bytes: key.to_bytes().to_vec(),
    }))
    .collect();
    Ok(ledger
        .program_accounts(program, &filters)?
        .into_iter()
        .filter_map(|(address, account)| {
            T::try_deserialize(&mut account.data.as_slice())
                .ok()
                .map(|decoded| (address, decoded))
        })
        .collect())
}

/// The supply of a (classic or Token-2022) mint, if the mint exists.
pub fn mint_supply(ledger: &dyn Ledger, mint: &Pubkey) -> Result<Option<u64>, LedgerError> {
    read::<anchor_spl::token_interface::Mint>(ledger, mint).map(|mint| mint.map(|mint| mint.supply))
}

/// Reads an Anchor account of type `T` (discriminator checked), if it exists.
pub fn read<T: AccountDeserialize>(
    ledger: &dyn Ledger,
    address: &Pubkey,
) -> Result<Option<T>, LedgerError> {
    match ledger.account(address)? {
        None => Ok(None),
        Some(account) => T::try_deserialize(&mut account.data.as_slice())
            .map(Some)
            .map_err(|_| LedgerError::WrongAccount {
                address: *address,
                expected: std::any::type_name::<T>(),
            }),
    }
}
