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
