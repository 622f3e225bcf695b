//! Tokenomics program tests in the runtime harness: every instruction's happy path, its
//! errors, and the attacks of the security table.

mod admin;
mod burn_for_credits;
mod initialize;
mod mint_epoch_emission;
mod supply_invariant;
