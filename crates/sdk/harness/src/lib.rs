//! The Groundwork test runtime: a real in-process Solana runtime (LiteSVM, the SVM of the
//! agave 4.2 line) with the four Groundwork programs loaded natively as builtins, beside the
//! real SPL Token, Token-2022 and Associated Token Account programs (bundled SBF binaries).
//!
//! Used by every test, and later by the local network and the benchmarks. It hides the
//! lifetime wrapper and the syscall-stub bridge of TOOLCHAIN.md and gives tests what they
//! need: funded wallets, transactions, a clock to warp, account decoding, token helpers, the
//! events a transaction emitted, and assertions on Anchor error codes.

pub mod bridge;
pub mod programs;
#[cfg(feature = "rpc")]
pub mod rpc;

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::{AccountDeserialize, AnchorDeserialize, Discriminator};
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anchor_spl::token_2022::spl_token_2022;
use litesvm::types::{FailedTransactionMetadata, TransactionMetadata};
use litesvm::LiteSVM;
use solana_account::Account;
use solana_clock::Clock;
use solana_instruction_error::InstructionError;
use solana_keypair::Keypair;
use solana_message::Message;
use solana_signer::Signer;
use solana_transaction::Transaction;
use solana_transaction_error::TransactionError;

use groundwork_client::ledger::LedgerError;
pub use litesvm;
pub use programs::{through_relay, EPOCH_MINTER_RELAY_ID, GROUNDWORK_PROGRAMS, IMPOSTOR_RELAY_ID};
pub use solana_keypair;
pub use solana_signer;

/// Lamports in one SOL.
pub const LAMPORTS_PER_SOL: u64 = 1_000_000_000;
/// SPL Token (classic) program id.
pub const TOKEN_PROGRAM_ID: Pubkey = anchor_spl::token::ID;
/// Token-2022 program id.
pub const TOKEN_2022_PROGRAM_ID: Pubkey = spl_token_2022::ID;
/// Unix time the runtime's clock starts at (2026-01-01T00:00:00Z).
pub const GENESIS_UNIX_TIMESTAMP: i64 = 1_767_225_600;
/// Size of a mint without extensions (SPL Token and Token-2022 alike).
const SPL_MINT_LEN: usize = 82;
/// Slots per second the warp helpers assume (400 ms slots).
const SLOTS_PER_SECOND_DIVISOR: i64 = 400;

/// The BPF upgradeable loader's ProgramData account of `program` (its address and data) with
/// `upgrade_authority`, as `solana program deploy` leaves it: what the programs' initialize
/// instructions check.
pub fn program_data(program: &Pubkey, upgrade_authority: Option<Pubkey>) -> (Pubkey, Vec<u8>) {
    let loader = anchor_lang::solana_program::bpf_loader_upgradeable::ID;
    let (address, _) = Pubkey::find_program_address(&[program.as_ref()], &loader);
    // UpgradeableLoaderState::ProgramData { slot, upgrade_authority_address } (bincode).
    let mut data = Vec::with_capacity(45);
    data.extend_from_slice(&3u32.to_le_bytes());
    data.extend_from_slice(&0u64.to_le_bytes());
    match upgrade_authority {
        Some(key) => {
            data.push(1);
            data.extend_from_slice(key.as_ref());
        }
        None => data.extend_from_slice(&[0; 33]),
    }
    (address, data)
}

/// A transaction that landed: its logs, inner instructions (where `emit_cpi!` events live),
/// return data and the account keys its compiled instructions index into.
#[derive(Debug, Clone)]
pub struct Landed {
    pub meta: TransactionMetadata,
    pub account_keys: Vec<Pubkey>,
}

/// One `emit_cpi!` event as it appeared in a landed transaction: the emitting program and the
/// event's bytes (its 8-byte discriminator, then its borsh body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedEvent {
    pub program: Pubkey,
    pub data: Vec<u8>,
}

impl EmittedEvent {
    /// Decodes the event as `E` if it is one.
    pub fn decode<E: AnchorDeserialize + Discriminator>(&self) -> Option<E> {
        let body = self.data.strip_prefix(E::DISCRIMINATOR)?;
        Some(E::try_from_slice(body).expect("event decodes"))
    }
}

/// A transaction the runtime refused, with the error and the logs up to the failure.
#[derive(Debug, Clone)]
pub struct Refused {
    pub err: TransactionError,
    pub logs: Vec<String>,
}

impl From<FailedTransactionMetadata> for Refused {
    fn from(failed: FailedTransactionMetadata) -> Self {
        Refused {
            err: failed.err,
            logs: failed.meta.logs,
        }
    }
}

pub type Outcome = Result<Landed, Refused>;

/// The in-process network every Groundwork test runs against.
pub struct Runtime {
    pub svm: LiteSVM,
    /// Funded fee payer used by the helpers (and available to tests).
    pub payer: Keypair,
    /// Upgrade authority recorded in every Groundwork program's ProgramData account; the only
    /// key the programs' initialize instructions accept.
    pub deployer: Keypair,
    /// Every `emit_cpi!` event of every landed transaction, in order: the history an indexer
    /// (the oracle's chain view) follows.
    pub event_log: Vec<EmittedEvent>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    /// Starts a runtime with all Groundwork programs, the SPL programs and a funded payer and
    /// deployer; the clock starts at [`GENESIS_UNIX_TIMESTAMP`].
    pub fn new() -> Self {
        bridge::install();
        let mut svm = LiteSVM::new();
        programs::add_all(&mut svm);
        let payer = Keypair::new();
        let deployer = Keypair::new();
        let mut runtime = Runtime {
            svm,
            payer,
            deployer,
            event_log: Vec::new(),
        };
        runtime.fund(&runtime.payer.pubkey(), 1_000 * LAMPORTS_PER_SOL);
        runtime.fund(&runtime.deployer.pubkey(), 1_000 * LAMPORTS_PER_SOL);
        for program in GROUNDWORK_PROGRAMS
            .iter()
            .chain([EPOCH_MINTER_RELAY_ID, IMPOSTOR_RELAY_ID].iter())
        {
            let upgrade_authority = runtime.deployer.pubkey();
            runtime.set_program_data(program, Some(upgrade_authority));
        }
        runtime.set_unix_timestamp(GENESIS_UNIX_TIMESTAMP);
        runtime
    }

    /// Writes the BPF upgradeable loader's ProgramData account of `program` with the given
    /// upgrade authority, as a deployment with `solana program deploy` would leave it.
    pub fn set_program_data(&mut self, program: &Pubkey, upgrade_authority: Option<Pubkey>) {
        let (address, data) = program_data(program, upgrade_authority);
        let loader = anchor_lang::solana_program::bpf_loader_upgradeable::ID;
        self.set_account(address, loader, data);
    }

    /// Puts an account with arbitrary data and owner (rent-exempt) into the runtime.
    pub fn set_account(&mut self, address: Pubkey, owner: Pubkey, data: Vec<u8>) {
        let lamports = self.svm.minimum_balance_for_rent_exemption(data.len());
        self.svm
            .set_account(
                address,
                Account {
                    lamports,
                    data,
                    owner,
                    executable: false,
                    rent_epoch: 0,
                },
            )
            .expect("set account");
    }

    /// Gives `address` `lamports` more.
    pub fn fund(&mut self, address: &Pubkey, lamports: u64) {
        self.svm
            .airdrop(address, lamports)
            .unwrap_or_else(|failed| panic!("airdrop to {address} failed: {:?}", failed.err));
    }

    /// A new keypair holding 10 SOL.
    pub fn funded_keypair(&mut self) -> Keypair {
        let keypair = Keypair::new();
        self.fund(&keypair.pubkey(), 10 * LAMPORTS_PER_SOL);
        keypair
    }

    /// Sends one transaction of `instructions`, paid by [`Runtime::payer`] and signed by it and
    /// `signers`. A fresh blockhash is used for every call, so the same instructions can be
    /// sent again (as a replay would be).
    pub fn send(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Outcome {
        let payer = self.payer.insecure_clone();
        self.send_paid_by(&payer, instructions, signers)
    }

    /// Like [`Runtime::send`] with another fee payer (which signs too).
    pub fn send_paid_by(
        &mut self,
        fee_payer: &Keypair,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Outcome {
        self.svm.expire_blockhash();
        let message = Message::new(instructions, Some(&fee_payer.pubkey()));
        let account_keys = message.account_keys.clone();
        let mut all_signers: Vec<&Keypair> = vec![fee_payer];
        all_signers.extend(
            signers
                .iter()
                .filter(|signer| signer.pubkey() != fee_payer.pubkey()),
        );
        let transaction = Transaction::new(&all_signers, message, self.svm.latest_blockhash());
        let landed = self
            .svm
            .send_transaction(transaction)
            .map(|meta| Landed { meta, account_keys })
            .map_err(Refused::from)?;
        self.event_log.extend(landed.emitted_events());
        Ok(landed)
    }

    /// Sends and panics with the logs if the transaction fails.
    pub fn send_ok(&mut self, instructions: &[Instruction], signers: &[&Keypair]) -> Landed {
        match self.send(instructions, signers) {
            Ok(landed) => landed,
            Err(refused) => panic!(
                "transaction failed: {:?}\n{}",
                refused.err,
                refused.logs.join("\n")
            ),
        }
    }

    /// The runtime's Clock sysvar.
    pub fn clock(&self) -> Clock {
        self.svm.get_sysvar::<Clock>()
    }

    /// Sets the clock to `unix_timestamp`, moving the slot forward in step (400 ms slots).
    pub fn set_unix_timestamp(&mut self, unix_timestamp: i64) {
        let mut clock = self.clock();
        let elapsed_s = unix_timestamp.saturating_sub(clock.unix_timestamp).max(0);
        clock.slot += (elapsed_s * 1_000 / SLOTS_PER_SECOND_DIVISOR) as u64;
        clock.unix_timestamp = unix_timestamp;
        self.svm.set_sysvar(&clock);
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance_seconds(&mut self, seconds: i64) {
        let now = self.clock().unix_timestamp;
        self.set_unix_timestamp(now + seconds);
    }

    /// Sets the clock to the first second of epoch `epoch` of a network whose epoch `n` covers
    /// `[genesis_unix + n * epoch_len_s, genesis_unix + (n + 1) * epoch_len_s)`.
    pub fn warp_to_epoch(&mut self, genesis_unix: i64, epoch_len_s: i64, epoch: u64) {
        let offset = i64::try_from(epoch)
            .ok()
            .and_then(|epoch| epoch.checked_mul(epoch_len_s))
            .expect("epoch start fits an i64");
        self.set_unix_timestamp(genesis_unix + offset);
    }

    /// The network's state a local RPC endpoint needs to take over from this runtime:
    /// wallets, token accounts and mints, and the four programs' accounts (not the programs or
    /// sysvars the endpoint brings itself).
    pub fn network_state(&self) -> Vec<(Pubkey, Account)> {
        use solana_account::ReadableAccount;
        let owners: Vec<Pubkey> = [
            anchor_lang::solana_program::system_program::ID,
            TOKEN_PROGRAM_ID,
            TOKEN_2022_PROGRAM_ID,
        ]
        .into_iter()
        .chain(GROUNDWORK_PROGRAMS)
        .collect();
        self.svm
            .accounts_db()
            .inner
            .iter()
            .filter(|(_, account)| !account.executable() && owners.contains(account.owner()))
            .map(|(address, account)| (*address, Account::from(account.clone())))
            .collect()
    }

    /// Raw account, if it exists.
    pub fn account(&self, address: &Pubkey) -> Option<Account> {
        self.svm
            .get_account(address)
            .filter(|account| account.lamports > 0)
    }

    /// Decodes an Anchor account (discriminator checked); panics if absent or of another type.
    pub fn anchor_account<T: AccountDeserialize>(&self, address: &Pubkey) -> T {
        let account = self
            .account(address)
            .unwrap_or_else(|| panic!("account {address} does not exist"));
        T::try_deserialize(&mut account.data.as_slice())
            .unwrap_or_else(|err| panic!("account {address} does not decode: {err}"))
    }

    /// Token amount held by a (classic or Token-2022) token account; 0 if it does not exist.
    pub fn token_balance(&self, token_account: &Pubkey) -> u64 {
        self.account(token_account)
            .map(|account| {
                anchor_spl::token_interface::TokenAccount::try_deserialize(
                    &mut account.data.as_slice(),
                )
                .expect("a token account")
                .amount
            })
            .unwrap_or(0)
    }

    /// A (classic or Token-2022) mint.
    pub fn mint(&self, mint: &Pubkey) -> anchor_spl::token_interface::Mint {
        self.anchor_account(mint)
    }

    /// Creates a mint owned by `token_program` with `decimals`, mint authority `authority`
    /// and an optional freeze authority; returns its address.
    pub fn create_mint(
        &mut self,
        token_program: &Pubkey,
        decimals: u8,
        authority: &Pubkey,
        freeze_authority: Option<&Pubkey>,
    ) -> Pubkey {
        let mint = Keypair::new();
        let space = SPL_MINT_LEN;
        let lamports = self.svm.minimum_balance_for_rent_exemption(space);
        let instructions = [
            anchor_lang::solana_program::system_instruction::create_account(
                &self.payer.pubkey(),
                &mint.pubkey(),
                lamports,
                space as u64,
                token_program,
            ),
            spl_token_2022::instruction::initialize_mint2(
                token_program,
                &mint.pubkey(),
                authority,
                freeze_authority,
                decimals,
            )
            .expect("initialize_mint2"),
        ];
        self.send_ok(&instructions, &[&mint]);
        mint.pubkey()
    }

    /// The associated token account of `owner` for `mint`, created if missing.
    pub fn token_account(
        &mut self,
        owner: &Pubkey,
        mint: &Pubkey,
        token_program: &Pubkey,
    ) -> Pubkey {
        let address = get_associated_token_address_with_program_id(owner, mint, token_program);
        if self.account(&address).is_none() {
            let create = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &self.payer.pubkey(),
                owner,
                mint,
                token_program,
            );
            self.send_ok(&[create], &[]);
        }
        address
    }

    /// Mints `amount` of `mint` to `owner`'s associated account (created if missing), signed by
    /// the mint authority `authority`; returns the token account.
    pub fn mint_to(
        &mut self,
        mint: &Pubkey,
        token_program: &Pubkey,
        authority: &Keypair,
        owner: &Pubkey,
        amount: u64,
    ) -> Pubkey {
        let destination = self.token_account(owner, mint, token_program);
        let instruction = spl_token_2022::instruction::mint_to(
            token_program,
            mint,
            &destination,
            &authority.pubkey(),
            &[],
            amount,
        )
        .expect("mint_to");
        self.send_ok(&[instruction], &[authority]);
        destination
    }
}

impl groundwork_client::ledger::Ledger for Runtime {
    fn account(&self, address: &Pubkey) -> Result<Option<Account>, LedgerError> {
        Ok(Runtime::account(self, address))
    }

    fn send(
        &mut self,
        instructions: &[Instruction],
        signers: &[&Keypair],
    ) -> Result<String, LedgerError> {
        let (fee_payer, others) = signers
            .split_first()
            .ok_or_else(|| LedgerError::Cluster("a transaction needs a fee payer".into()))?;
        let fee_payer = fee_payer.insecure_clone();
        self.send_paid_by(&fee_payer, instructions, others)
            .map(|landed| landed.meta.signature.to_string())
            .map_err(|refused| LedgerError::Refused {
                message: format!("{:?}", refused.err),
                logs: refused.logs,
            })
    }

    fn unix_timestamp(&self) -> Result<i64, LedgerError> {
        Ok(self.clock().unix_timestamp)
    }

    fn program_accounts(
        &self,
        program: &Pubkey,
        filters: &[groundwork_client::ledger::DataFilter],
    ) -> Result<Vec<(Pubkey, Account)>, LedgerError> {
        Ok(self
            .svm
            .accounts_db()
            .inner
            .iter()
            .filter(|(_, account)| {
                solana_account::ReadableAccount::owner(*account) == program
                    && filters.iter().all(|filter| {
                        filter.matches(solana_account::ReadableAccount::data(*account))
                    })
            })
            .map(|(address, account)| (*address, Account::from(account.clone())))
            .collect())
    }
}

impl Landed {
    /// Every `emit_cpi!` event of this transaction, in order (a program's self-invocation
    /// whose data starts with Anchor's event tag).
    pub fn emitted_events(&self) -> Vec<EmittedEvent> {
        let tag = anchor_lang::event::EVENT_IX_TAG_LE;
        self.meta
            .inner_instructions
            .iter()
            .flatten()
            .filter_map(|inner| {
                let program = *self
                    .account_keys
                    .get(usize::from(inner.instruction.program_id_index))?;
                let data = inner.instruction.data.strip_prefix(tag)?;
                Some(EmittedEvent {
                    program,
                    data: data.to_vec(),
                })
            })
            .collect()
    }

    /// The events `program` emitted with `emit_cpi!` in this transaction, decoded as `E`
    /// (events of other types are skipped).
    pub fn events<E: AnchorDeserialize + Discriminator>(&self, program: &Pubkey) -> Vec<E> {
        self.emitted_events()
            .iter()
            .filter(|event| event.program == *program)
            .filter_map(EmittedEvent::decode)
            .collect()
    }

    /// The one event of type `E` that `program` emitted; panics unless there is exactly one.
    pub fn event<E: AnchorDeserialize + Discriminator>(&self, program: &Pubkey) -> E {
        let mut events = self.events::<E>(program);
        assert_eq!(events.len(), 1, "expected exactly one such event");
        events.remove(0)
    }
}

pub use groundwork_client::{compute_budget_instructions, transaction_size};

/// The custom error code a refused transaction failed with, if it failed with one.
pub fn custom_error_code(outcome: &Outcome) -> Option<u32> {
    match outcome {
        Err(Refused {
            err: TransactionError::InstructionError(_, InstructionError::Custom(code)),
            ..
        }) => Some(*code),
        _ => None,
    }
}

/// Asserts the transaction was refused with exactly `expected` (an Anchor `#[error_code]`
/// variant, an `anchor_lang::error::ErrorCode`, or a raw custom code).
#[track_caller]
pub fn assert_error(outcome: &Outcome, expected: impl Into<u32>) {
    let expected = expected.into();
    match outcome {
        Ok(_) => panic!("expected error code {expected}, but the transaction landed"),
        Err(refused) => assert_eq!(
            custom_error_code(outcome),
            Some(expected),
            "expected custom error {expected}, got {:?}\n{}",
            refused.err,
            refused.logs.join("\n")
        ),
    }
}

/// Asserts the transaction was refused with the given instruction error (for runtime errors
/// that are not custom codes, such as a missing signature).
#[track_caller]
pub fn assert_instruction_error(outcome: &Outcome, expected: InstructionError) {
    match outcome {
        Err(Refused {
            err: TransactionError::InstructionError(_, actual),
            ..
        }) if *actual == expected => {}
        other => panic!(
            "expected {expected:?}, got {:?}",
            other.as_ref().map(|_| "landed")
        ),
    }
}
