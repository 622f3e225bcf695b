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
