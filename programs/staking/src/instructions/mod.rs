// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod admin;
pub mod crank;
pub mod operator;
pub mod staker;
pub mod tokens;

pub use admin::*;
pub use crank::*;
pub use operator::*;
pub use staker::*;
