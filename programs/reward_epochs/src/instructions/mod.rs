// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod admin;
pub mod claimant;
pub mod crank;
pub mod oracle;

pub use admin::*;
pub use claimant::*;
pub use crank::*;
pub use oracle::*;
