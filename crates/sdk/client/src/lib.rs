//! Addresses and instruction builders for the Groundwork programs: one place that knows every
//! seed and account list, used by the CLI, the oracle, the bootstrap and the tests.

pub mod device_registry;
pub mod ledger;
pub mod reward_epochs;
pub mod staking;
pub mod tokenomics;

use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::pubkey::Pubkey;
use anchor_lang::{InstructionData, ToAccountMetas};

/// The BPF upgradeable loader's ProgramData address of `program`.
pub fn program_data_address(program: &Pubkey) -> Pubkey {
    let loader = anchor_lang::solana_program::bpf_loader_upgradeable::ID;
    Pubkey::find_program_address(&[program.as_ref()], &loader).0
}

/// The `emit_cpi!` event authority PDA of `program`.
pub fn event_authority_address(program: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[b"__event_authority"], program).0
}

/// An instruction of `program_id` from Anchor's generated account and data structs.
pub(crate) fn anchor_instruction(
    program_id: Pubkey,
    accounts: impl ToAccountMetas,
    data: impl InstructionData,
) -> Instruction {
    Instruction {
        program_id,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// The compute-budget program.
pub const COMPUTE_BUDGET_PROGRAM_ID: Pubkey =
    anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");

/// The compute-budget instructions a production client sends first: a unit limit and a
/// priority price (micro-lamports per unit).
/// Compute units above the simulated use, and the most a transaction may ask for.
const UNIT_MARGIN: u64 = 10_000;
const MAX_UNIT_LIMIT: u64 = 1_400_000;

/// The compute-unit limit for a transaction that used `units_consumed` in simulation: a
/// fifth more plus a margin, at most the cluster's maximum.
pub fn unit_limit_for(units_consumed: u64) -> u32 {
    let limit = (units_consumed.saturating_mul(12) / 10 + UNIT_MARGIN).min(MAX_UNIT_LIMIT);
    u32::try_from(limit).unwrap_or(u32::MAX)
}

/// The median of the non-zero recent priority fees (micro-lamports per compute unit), at
/// most `ceiling`; 0 when nobody paid one.
pub fn median_priority_fee(recent: &[u64], ceiling: u64) -> u64 {
    let mut fees: Vec<u64> = recent.iter().copied().filter(|fee| *fee > 0).collect();
    if fees.is_empty() {
        return 0;
    }
    fees.sort_unstable();
    fees[fees.len() / 2].min(ceiling)
}

pub fn compute_budget_instructions(
    unit_limit: u32,
    micro_lamports_per_unit: u64,
) -> [Instruction; 2] {
    let mut limit = vec![2u8];
    limit.extend_from_slice(&unit_limit.to_le_bytes());
    let mut price = vec![3u8];
    price.extend_from_slice(&micro_lamports_per_unit.to_le_bytes());
    [
        Instruction {
            program_id: COMPUTE_BUDGET_PROGRAM_ID,
            accounts: vec![],
            data: limit,
        },
        Instruction {
            program_id: COMPUTE_BUDGET_PROGRAM_ID,
            accounts: vec![],
            data: price,
        },
    ]
}

/// The most bytes a transaction may take on the wire (an IPv6 packet's payload).
pub const PACKET_DATA_SIZE: usize = 1_232;

/// Size of a legacy transaction of `instructions` paid by `fee_payer`, as sent on the wire
/// (signatures included), and the number of distinct accounts it references.
pub fn transaction_size(instructions: &[Instruction], fee_payer: &Pubkey) -> (usize, usize) {
    let message = solana_message::Message::new(instructions, Some(fee_payer));
    let signatures = usize::from(message.header.num_required_signatures);
    // compact-u16 signature count (one byte below 128) + 64 bytes per signature + message.
    let bytes = 1 + 64 * signatures + message.serialize().len();
    (bytes, message.account_keys.len())
}

/// The wire size of a legacy transaction carrying the compute-budget instructions and
/// `instructions`, paid by `payer`: above [`PACKET_DATA_SIZE`] it cannot be sent, and needs a
/// v0 transaction with an address lookup table.
pub fn legacy_transaction_bytes(payer: &Pubkey, instructions: &[Instruction]) -> usize {
    let mut budgeted = compute_budget_instructions(0, 0).to_vec();
    budgeted.extend_from_slice(instructions);
    transaction_size(&budgeted, payer).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_priority_fee_is_the_median_of_paying_slots_capped() {
        assert_eq!(median_priority_fee(&[], 1_000), 0);
        assert_eq!(median_priority_fee(&[0, 0, 0], 1_000), 0);
        assert_eq!(median_priority_fee(&[0, 5, 10, 400], 1_000), 10);
        assert_eq!(median_priority_fee(&[50_000, 90_000], 1_000), 1_000);
    }

    #[test]
    fn the_unit_limit_is_a_fifth_above_the_simulation_plus_a_margin() {
        assert_eq!(unit_limit_for(0), 10_000);
        assert_eq!(unit_limit_for(100_000), 130_000);
        assert_eq!(unit_limit_for(5_000_000), 1_400_000);
    }
}
