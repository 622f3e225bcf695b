//! The syscall-stub bridge that lets Anchor programs run natively (TOOLCHAIN.md, gotcha 2).
//!
//! Anchor 1.2 and `solana-invoke` reach the off-chain syscalls (CPI, sysvars, return data,
//! logs) through `solana-sysvar` 3.x's stub table, while solana-program-test 4.2.2 installs its
//! runtime-backed stubs into `solana-sysvar` 4.x. Left alone, `Rent::get` fails and a CPI
//! silently does nothing. [`install`] starts one `ProgramTest` (which installs its stubs once
//! per process), takes those stubs out of the 4.x table, and installs a forwarder delegating
//! every call to them into both tables — but `sol_log_data`, which program-test prints to
//! the process's standard output: the forwarder writes it to the running invocation's
//! transaction logs, as on chain, so `emit!` events are in the logs an RPC node serves.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Once};

use base64::Engine;
use solana_svm_log_collector::LogCollector;
use solana_sysvar_v4::program_stubs::SyscallStubs as StubsV4;

/// A builtin invocation's log collector (none when the runtime collects no logs).
pub(crate) type InvocationLogs = Option<Rc<RefCell<LogCollector>>>;

thread_local! {
    /// The log collectors of the builtin invocations running on this thread, innermost last
    /// (a CPI into another builtin pushes its own).
    static INVOCATION_LOGS: RefCell<Vec<InvocationLogs>> = const { RefCell::new(Vec::new()) };
}

/// Runs `invocation` (a builtin program's call) with `logs` as the collector its
/// `sol_log_data` writes to, as the runtime's syscall does for a deployed program.
pub(crate) fn with_invocation_logs<T>(logs: InvocationLogs, invocation: impl FnOnce() -> T) -> T {
    /// Pops the collector however the invocation ends.
    struct Popped;
    impl Drop for Popped {
        fn drop(&mut self) {
            INVOCATION_LOGS.with(|stack| stack.borrow_mut().pop());
        }
    }
    INVOCATION_LOGS.with(|stack| stack.borrow_mut().push(logs));
    let _popped = Popped;
    invocation()
}

/// Writes `fields` to the running invocation's transaction logs as the `sol_log_data`
/// syscall does on chain (`Program data: ` and each field in base64, space-separated): how
/// `emit!` events reach the logs. False when no builtin invocation is running here.
fn log_data_to_the_transaction(fields: &[&[u8]]) -> bool {
    INVOCATION_LOGS.with(|stack| match stack.borrow().last() {
        Some(logs) => {
            if let Some(collector) = logs {
                let encoded: Vec<String> = fields
                    .iter()
                    .map(|field| base64::engine::general_purpose::STANDARD.encode(field))
                    .collect();
                collector
                    .borrow_mut()
                    .log(&format!("Program data: {}", encoded.join(" ")));
            }
            true
        }
        None => false,
    })
}

/// program-test's stubs, shared by the two forwarders.
type RuntimeStubs = Arc<Box<dyn StubsV4>>;

/// Holds the 4.x slot for the instant between taking program-test's stubs out and putting
/// the forwarder in.
struct Placeholder;
impl StubsV4 for Placeholder {}

/// Forwards every syscall stub to program-test's runtime-backed implementation.
struct Forwarder(RuntimeStubs);

macro_rules! forward_every_stub {
    ($stubs_trait:path) => {
        impl $stubs_trait for Forwarder {
            fn sol_log(&self, message: &str) {
                StubsV4::sol_log(&**self.0, message)
            }
            fn sol_log_compute_units(&self) {
                StubsV4::sol_log_compute_units(&**self.0)
            }
            fn sol_remaining_compute_units(&self) -> u64 {
                StubsV4::sol_remaining_compute_units(&**self.0)
            }
            fn sol_invoke_signed(
                &self,
                instruction: &anchor_lang::solana_program::instruction::Instruction,
                account_infos: &[anchor_lang::solana_program::account_info::AccountInfo],
                signers_seeds: &[&[&[u8]]],
            ) -> anchor_lang::solana_program::entrypoint::ProgramResult {
                StubsV4::sol_invoke_signed(&**self.0, instruction, account_infos, signers_seeds)
            }
            fn sol_get_sysvar(
                &self,
                sysvar_id_addr: *const u8,
                var_addr: *mut u8,
                offset: u64,
                length: u64,
            ) -> u64 {
                StubsV4::sol_get_sysvar(&**self.0, sysvar_id_addr, var_addr, offset, length)
            }
            fn sol_get_clock_sysvar(&self, var_addr: *mut u8) -> u64 {
                StubsV4::sol_get_clock_sysvar(&**self.0, var_addr)
            }
            fn sol_get_epoch_schedule_sysvar(&self, var_addr: *mut u8) -> u64 {
                StubsV4::sol_get_epoch_schedule_sysvar(&**self.0, var_addr)
            }
            fn sol_get_fees_sysvar(&self, var_addr: *mut u8) -> u64 {
                StubsV4::sol_get_fees_sysvar(&**self.0, var_addr)
            }
            fn sol_get_rent_sysvar(&self, var_addr: *mut u8) -> u64 {
                StubsV4::sol_get_rent_sysvar(&**self.0, var_addr)
            }
            fn sol_get_epoch_rewards_sysvar(&self, var_addr: *mut u8) -> u64 {
                StubsV4::sol_get_epoch_rewards_sysvar(&**self.0, var_addr)
            }
            fn sol_get_last_restart_slot(&self, var_addr: *mut u8) -> u64 {
                StubsV4::sol_get_last_restart_slot(&**self.0, var_addr)
            }
            fn sol_get_epoch_stake(&self, vote_address: *const u8) -> u64 {
                StubsV4::sol_get_epoch_stake(&**self.0, vote_address)
            }
            unsafe fn sol_memcpy(&self, dst: *mut u8, src: *const u8, n: usize) {
                unsafe { StubsV4::sol_memcpy(&**self.0, dst, src, n) }
            }
            unsafe fn sol_memmove(&self, dst: *mut u8, src: *const u8, n: usize) {
                unsafe { StubsV4::sol_memmove(&**self.0, dst, src, n) }
            }
            unsafe fn sol_memcmp(&self, s1: *const u8, s2: *const u8, n: usize, result: *mut i32) {
                unsafe { StubsV4::sol_memcmp(&**self.0, s1, s2, n, result) }
            }
            unsafe fn sol_memset(&self, s: *mut u8, c: u8, n: usize) {
                unsafe { StubsV4::sol_memset(&**self.0, s, c, n) }
            }
            fn sol_get_return_data(
                &self,
            ) -> Option<(anchor_lang::solana_program::pubkey::Pubkey, Vec<u8>)> {
                StubsV4::sol_get_return_data(&**self.0)
            }
            fn sol_set_return_data(&self, data: &[u8]) {
                StubsV4::sol_set_return_data(&**self.0, data)
            }
            fn sol_log_data(&self, fields: &[&[u8]]) {
                if !log_data_to_the_transaction(fields) {
                    StubsV4::sol_log_data(&**self.0, fields)
                }
            }
            fn sol_get_processed_sibling_instruction(
                &self,
                index: usize,
            ) -> Option<anchor_lang::solana_program::instruction::Instruction> {
                StubsV4::sol_get_processed_sibling_instruction(&**self.0, index)
            }
            fn sol_get_stack_height(&self) -> u64 {
                StubsV4::sol_get_stack_height(&**self.0)
            }
        }
    };
}

forward_every_stub!(solana_sysvar_v3::program_stubs::SyscallStubs);
forward_every_stub!(solana_sysvar_v4::program_stubs::SyscallStubs);

/// Installs the bridge once per process; every later call returns at once.
pub fn install() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        // ProgramTest turns on debug logging of every instruction unless RUST_LOG says
        // otherwise; keep test output readable by default.
        if std::env::var_os("RUST_LOG").is_none() {
            std::env::set_var("RUST_LOG", "warn");
        }
        // Starting a ProgramTest is what installs program-test's stubs (into solana-sysvar
        // 4.x). It runs on its own thread so that callers inside an async runtime (the oracle
        // tests) can install the bridge too.
        std::thread::spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread tokio runtime for ProgramTest");
            runtime.block_on(async {
                drop(solana_program_test::ProgramTest::default().start().await);
            });
        })
        .join()
        .expect("ProgramTest started");
        let runtime_stubs: RuntimeStubs = Arc::new(
            solana_sysvar_v4::program_stubs::set_syscall_stubs(Box::new(Placeholder)),
        );
        solana_sysvar_v4::program_stubs::set_syscall_stubs(Box::new(Forwarder(
            runtime_stubs.clone(),
        )));
        solana_sysvar_v3::program_stubs::set_syscall_stubs(Box::new(Forwarder(runtime_stubs)));
    });
}
