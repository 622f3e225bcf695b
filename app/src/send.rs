//! Sending a transaction the way a careful client does: simulate first (nothing is sent when
//! the simulation fails, and its logs say why), set the compute-unit limit from the
//! simulation, price it from recent fees of the accounts it writes (up to a ceiling), then
//! send and resend until confirmed or the blockhash expires. `--dry-run` stops after the
//! simulation; `--dump-transaction-message` prints the unsigned message instead (for a
//! multisig such as a Squads vault to propose).

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anyhow::{bail, Context, Result};
use base64::Engine;
use groundwork_client::compute_budget_instructions;
use groundwork_client::median_priority_fee;
pub use groundwork_client::unit_limit_for;
use serde::Serialize;
use solana_message::Message;
use solana_rpc_client::api::config::RpcSimulateTransactionConfig;
use solana_signer::Signer;
use solana_transaction::Transaction;

use crate::cluster::RpcLedger;

/// How a command's transaction goes out.
#[derive(Clone, Copy, Debug, Default)]
pub struct SendOptions {
    /// Simulate only.
    pub dry_run: bool,
    /// Print the unsigned message (base64) instead of signing and sending.
    pub dump_message: bool,
    /// Most micro-lamports per compute unit the priority fee may reach.
    pub max_priority_fee: u64,
    /// No spinner while confirming (many transactions sent at once draw their own progress).
    pub quiet: bool,
    /// Sign with the keypairs at hand and print the signatures; send nothing (`--sign-only`).
    pub sign_only: bool,
    /// The blockhash every party signs with (`--blockhash`): the transaction is signed as is,
    /// without compute-budget instructions (see [`crate::signing`]).
    pub blockhash: Option<solana_message::Hash>,
}

/// What became of a transaction.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Sent {
    Confirmed {
        signature: String,
        compute_unit_limit: u32,
        priority_fee_micro_lamports: u64,
    },
    Simulated {
        units_consumed: u64,
        logs: Vec<String>,
    },
    /// The unsigned message, base64, for the fee payer and signers to sign elsewhere.
    Message {
        fee_payer: String,
        message_base64: String,
    },
    /// `--sign-only`: the signatures made here, and who else must sign.
    SignedOnly(crate::signing::SignedOnly),
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sent::Confirmed { signature, .. } => writeln!(f, "confirmed: {signature}"),
            Sent::Simulated {
                units_consumed,
                logs,
            } => {
                writeln!(
                    f,
                    "simulation succeeded ({units_consumed} compute units); nothing sent"
                )?;
                for line in logs {
                    writeln!(f, "  {line}")?;
                }
                Ok(())
            }
            Sent::Message {
                fee_payer,
                message_base64,
            } => {
                writeln!(f, "unsigned message (fee payer {fee_payer}), base64:")?;
                writeln!(f, "{message_base64}")
            }
            Sent::SignedOnly(signed) => write!(f, "{signed}"),
        }
    }
}

/// The priority fee (micro-lamports per compute unit) for `instructions`: the median of the
/// recent paying fees of the accounts they write, at most `ceiling`.
pub fn priority_fee_for(ledger: &RpcLedger, instructions: &[Instruction], ceiling: u64) -> u64 {
    let writable: Vec<Pubkey> = instructions
        .iter()
        .flat_map(|instruction| instruction.accounts.iter())
        .filter(|meta| meta.is_writable)
        .map(|meta| meta.pubkey)
        .collect();
    let recent: Vec<u64> = ledger
        .client
        .get_recent_prioritization_fees(&writable)
        .map(|fees| fees.iter().map(|fee| fee.prioritization_fee).collect())
        .unwrap_or_default();
    median_priority_fee(&recent, ceiling)
}

/// The unsigned message of `instructions` paid by `fee_payer`, base64.
pub fn message_base64(instructions: &[Instruction], fee_payer: &Pubkey) -> String {
    let message = Message::new(instructions, Some(fee_payer));
    base64::engine::general_purpose::STANDARD.encode(message.serialize())
}

/// Simulates `transaction` (unsigned is fine: signatures are not verified and the blockhash is
/// replaced by a recent one).
pub fn simulate(
    ledger: &RpcLedger,
    transaction: &impl solana_rpc_client::rpc_client::SerializableTransaction,
) -> Result<solana_rpc_client::api::response::RpcSimulateTransactionResult> {
    let client = &ledger.client;
    Ok(client
        .simulate_transaction_with_config(
            transaction,
            RpcSimulateTransactionConfig {
                sig_verify: false,
                replace_recent_blockhash: true,
                commitment: Some(client.commitment()),
                ..RpcSimulateTransactionConfig::default()
            },
        )
        .context("simulating the transaction")?
        .value)
}

/// The message of a simulated failure: the program error in words (name, message, and the
/// fix where one is known; see [`crate::program_errors`]), then the raw error and the program
/// logs.
pub fn refusal(error: &impl std::fmt::Display, logs: &[String]) -> String {
    let raw = error.to_string();
    let headline = match crate::program_errors::from_logs(logs) {
        Some(decoded) => crate::program_errors::describe(&decoded),
        None if raw.contains("AccountNotFound") || raw.contains("no record of a prior credit") => {
            "the fee payer holds no SOL on this cluster (run `groundwork airdrop` on a localnet or devnet, or send it SOL)".to_string()
        }
        None => raw.clone(),
    };
    format!(
        "the transaction would fail: {headline}; nothing was sent\n  ({raw}){}",
        if logs.is_empty() {
            String::new()
        } else {
            format!("\n  {}", logs.join("\n  "))
        }
    )
}

/// Refuses before anything is simulated when `payer` holds no SOL here, naming the fix.
pub fn require_sol(ledger: &RpcLedger, payer: &Pubkey) -> Result<()> {
    if ledger.client.get_balance(payer).unwrap_or(1) == 0 {
        bail!(
            "no SOL: {payer} holds no SOL on this cluster to pay the fee; run `groundwork airdrop` (localnet or devnet) or send it SOL"
        );
    }
    Ok(())
}

/// The unsigned message of `instructions` for `fee_payer` (e.g. a multisig vault), simulated
/// first: an instruction the programs would refuse is an error and nothing is printed. When
/// the fee payer cannot pay here (a vault whose proposal another key executes), the
/// instructions are simulated with `stand_in_payer` paying instead; without one that can pay,
/// a note says the instructions were not checked.
pub fn dump_message(
    ledger: &RpcLedger,
    instructions: &[Instruction],
    fee_payer: &Pubkey,
    stand_in_payer: Option<Pubkey>,
) -> Result<Sent> {
    use solana_transaction_error::TransactionError;
    let cannot_pay = |error: &Option<TransactionError>| {
        matches!(
            error,
            Some(TransactionError::AccountNotFound | TransactionError::InsufficientFundsForFee)
        )
    };
    let simulate_paid_by = |payer: &Pubkey| -> Result<(Option<TransactionError>, Vec<String>)> {
        let simulation = simulate(
            ledger,
            &Transaction::new_unsigned(Message::new(instructions, Some(payer))),
        )?;
        Ok((
            simulation.err.map(TransactionError::from),
            simulation.logs.unwrap_or_default(),
        ))
    };
    let (mut error, mut logs) = simulate_paid_by(fee_payer)?;
    if cannot_pay(&error) {
        if let Some(stand_in) = stand_in_payer.filter(|stand_in| stand_in != fee_payer) {
            (error, logs) = simulate_paid_by(&stand_in)?;
        }
    }
    if cannot_pay(&error) {
        eprintln!(
            "note: {fee_payer} cannot pay fees on this cluster and no funded --keypair stood in, so the instructions were not simulated"
        );
    } else if let Some(error) = error {
        bail!("{}", refusal(&error, &logs));
    }
    Ok(Sent::Message {
        fee_payer: fee_payer.to_string(),
        message_base64: message_base64(instructions, fee_payer),
    })
}

/// Simulates, prices and sends `instructions`, paid by `signers[0]`. With `--blockhash` (two
/// parties signing apart) the transaction is signed at that blockhash as is, checked, simulated
/// and sent; with `--sign-only` it is signed and printed instead.
pub fn submit(
    ledger: &RpcLedger,
    instructions: &[Instruction],
    signers: &[&dyn Signer],
    options: SendOptions,
) -> Result<Sent> {
    let payer = signers.first().context("a transaction needs a fee payer")?;
    if options.dump_message {
        return dump_message(ledger, instructions, &payer.pubkey(), None);
    }
    if options.sign_only || options.blockhash.is_some() {
        return submit_at_blockhash(ledger, instructions, signers, options);
    }
    let client = &ledger.client;
    require_sol(ledger, &payer.pubkey())?;
    let simulation = simulate(
        ledger,
        &Transaction::new_unsigned(Message::new(instructions, Some(&payer.pubkey()))),
    )?;
    let logs = simulation.logs.unwrap_or_default();
    if let Some(error) = simulation.err {
        bail!("{}", refusal(&error, &logs));
    }
    let units_consumed = simulation.units_consumed.unwrap_or(0);
    if options.dry_run {
        return Ok(Sent::Simulated {
            units_consumed,
            logs,
        });
    }
    let unit_limit = unit_limit_for(units_consumed);
    let price = priority_fee_for(ledger, instructions, options.max_priority_fee);
    let mut all = compute_budget_instructions(unit_limit, price).to_vec();
    all.extend_from_slice(instructions);
    let blockhash = client.get_latest_blockhash()?;
    let mut transaction = Transaction::new_unsigned(Message::new(&all, Some(&payer.pubkey())));
    transaction
        .try_sign(signers, blockhash)
        .map_err(|error| anyhow::anyhow!("signing: {error}"))?;
    let signature = if options.quiet {
        client.send_and_confirm_transaction(&transaction)
    } else {
        client.send_and_confirm_transaction_with_spinner(&transaction)
    }
    .context("sending the transaction")?;
    Ok(Sent::Confirmed {
        signature: signature.to_string(),
        compute_unit_limit: unit_limit,
        priority_fee_micro_lamports: price,
    })
}

/// The two-party path of [`submit`]: every party signs the same message at `--blockhash`.
fn submit_at_blockhash(
    ledger: &RpcLedger,
    instructions: &[Instruction],
    signers: &[&dyn Signer],
    options: SendOptions,
) -> Result<Sent> {
    let blockhash = options.blockhash.context(
        "--sign-only needs --blockhash HASH: every party signs the same message, so all use one blockhash (`groundwork blockhash` prints a recent one; it stays valid for a minute or two)",
    )?;
    if options.sign_only {
        return Ok(Sent::SignedOnly(crate::signing::sign_only(
            instructions,
            signers,
            &blockhash,
        )?));
    }
    let transaction = crate::signing::signed_transaction(instructions, signers, &blockhash)?;
    let simulation = simulate(ledger, &transaction)?;
    let logs = simulation.logs.unwrap_or_default();
    if let Some(error) = simulation.err {
        bail!("{}", refusal(&error, &logs));
    }
    if options.dry_run {
        return Ok(Sent::Simulated {
            units_consumed: simulation.units_consumed.unwrap_or(0),
            logs,
        });
    }
    let signature = ledger
        .client
        .send_and_confirm_transaction_with_spinner(&transaction)
        .context("sending the transaction (a blockhash older than about 150 blocks has expired: sign again with a newer one)")?;
    Ok(Sent::Confirmed {
        signature: signature.to_string(),
        compute_unit_limit: 0,
        priority_fee_micro_lamports: 0,
    })
}
