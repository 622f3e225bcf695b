//! The Groundwork programs as native builtins (TOOLCHAIN.md, gotchas 1 and 3), plus the
//! epoch-minter relay used to call `mint_epoch_emission` the way the reward program does.
//!
//! No glob import of Anchor's prelude here: `builtin!` is not hygienic.

use anchor_lang::solana_program::account_info::AccountInfo;
use anchor_lang::solana_program::entrypoint::ProgramResult;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::solana_program::program::invoke_signed;
use anchor_lang::solana_program::program_error::ProgramError;
use anchor_lang::solana_program::pubkey::Pubkey;
use litesvm::LiteSVM;

/// Program id of the relay registered as the network's reward program in tests that run
/// tokenomics without reward_epochs: its `["epoch_minter"]` PDA is the authorized minter.
pub const EPOCH_MINTER_RELAY_ID: Pubkey =
    Pubkey::new_from_array(*b"groundwork/test/epoch-minter-rly");
/// The same relay code under another id: an impostor reward program whose PDA signs too,
/// but is not the one tokenomics was initialized with.
pub const IMPOSTOR_RELAY_ID: Pubkey = Pubkey::new_from_array(*b"groundwork/test/impostor-minter!");

/// Anchor's generated `entry` wants one lifetime for all three references; the runtime keeps
/// them alive for the whole call, so narrowing them to one lifetime is sound.
macro_rules! native_entry {
    ($name:ident, $program:ident) => {
        fn $name(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
            // SAFETY: see the macro's doc; the references outlive this call.
            let accounts: &[AccountInfo<'_>] =
                unsafe { core::mem::transmute::<&[AccountInfo<'_>], &[AccountInfo<'_>]>(accounts) };
            $program::entry(program_id, accounts, data)
        }
    };
}

native_entry!(tokenomics_entry, tokenomics);
native_entry!(device_registry_entry, device_registry);
native_entry!(staking_entry, staking);
native_entry!(reward_epochs_entry, reward_epochs);

/// Forwards its instruction data to `accounts[0]` with `accounts[1..]` as that instruction's
/// accounts, signing for its own `["epoch_minter"]` PDA wherever the PDA appears.
fn epoch_minter_relay(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    let (target, inner_accounts) = accounts
        .split_first()
        .ok_or(ProgramError::NotEnoughAccountKeys)?;
    let seed = tokenomics::state::seeds::EPOCH_MINTER;
    let (minter, bump) = Pubkey::find_program_address(&[seed], program_id);
    let instruction = Instruction {
        program_id: *target.key,
        accounts: inner_accounts
            .iter()
            .map(|account| AccountMeta {
                pubkey: *account.key,
                is_signer: account.is_signer || *account.key == minter,
                is_writable: account.is_writable,
            })
            .collect(),
        data: data.to_vec(),
    };
    invoke_signed(&instruction, accounts, &[&[seed, &[bump]]])
}

/// Wraps `inner` so that the relay program `relay` forwards it by CPI, signing for its
/// `["epoch_minter"]` PDA (the way the reward program calls tokenomics).
pub fn through_relay(relay: Pubkey, inner: Instruction) -> Instruction {
    let mut accounts = vec![AccountMeta::new_readonly(inner.program_id, false)];
    accounts.extend(inner.accounts.into_iter().map(|mut meta| {
        meta.is_signer = false;
        meta
    }));
    Instruction {
        program_id: relay,
        accounts,
        data: inner.data,
    }
}

/// program-test's `processor!` (a `solana-program`-style entrypoint as a builtin), with the
/// invocation's log collector made current for `sol_log_data` (see `bridge`), so what a
/// program logs with `emit!` reaches the transaction's logs as it does on chain.
macro_rules! builtin {
    ($entrypoint:expr) => {{
        use solana_program_test::{
            BuiltinFunctionDefinition, EbpfError, EncryptedHostAddressToEbpfVm, InvokeContext,
        };
        struct Converter;
        impl BuiltinFunctionDefinition<InvokeContext<'_, '_>> for Converter {
            type Error = Box<dyn std::error::Error>;
            fn rust(
                _: &mut InvokeContext<'_, '_>,
                _: u64,
                _: u64,
                _: u64,
                _: u64,
                _: u64,
            ) -> Result<u64, Box<dyn std::error::Error>> {
                unreachable!("builtins run through `vm`")
            }
            fn vm(
                mut vm: EncryptedHostAddressToEbpfVm<InvokeContext>,
                _: u64,
                _: u64,
                _: u64,
                _: u64,
                _: u64,
            ) {
                // SAFETY: as program-test's `processor!`: the runtime hands a live VM.
                unsafe {
                    vm.with_vm(|vm| {
                        let logs = vm.context().get_log_collector();
                        let result = crate::bridge::with_invocation_logs(logs, || {
                            solana_program_test::invoke_builtin_function($entrypoint, vm.context())
                        });
                        vm.program_result = result.map_err(EbpfError::SyscallError).into();
                    });
                }
            }
        }
        Some(<Converter as BuiltinFunctionDefinition<_>>::register)
    }};
}

/// Registers the four Groundwork programs and the two relays as builtins of `svm`.
pub fn add_all(svm: &mut LiteSVM) {
    svm.add_builtin(tokenomics::ID, builtin!(tokenomics_entry).unwrap());
    svm.add_builtin(
        device_registry::ID,
        builtin!(device_registry_entry).unwrap(),
    );
    svm.add_builtin(staking::ID, builtin!(staking_entry).unwrap());
    svm.add_builtin(reward_epochs::ID, builtin!(reward_epochs_entry).unwrap());
    svm.add_builtin(EPOCH_MINTER_RELAY_ID, builtin!(epoch_minter_relay).unwrap());
    svm.add_builtin(IMPOSTOR_RELAY_ID, builtin!(epoch_minter_relay).unwrap());
}

/// The ids of the Groundwork programs, in deployment order.
pub const GROUNDWORK_PROGRAMS: [Pubkey; 4] = [
    tokenomics::ID,
    device_registry::ID,
    staking::ID,
    reward_epochs::ID,
];
