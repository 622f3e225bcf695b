//! Fixtures shared by the cross-program tests: a launched network with known parameters and
//! the calls every test repeats.

pub mod cycle_fixture;
pub mod history_fixture;
pub mod registry_fixture;
pub mod staking_fixture;
pub mod tokenomics_fixture;

pub use cycle_fixture::*;
pub use history_fixture::run_history;
pub use registry_fixture::*;
pub use staking_fixture::*;
pub use tokenomics_fixture::*;
