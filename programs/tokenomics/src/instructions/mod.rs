// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod admin;
pub mod crank;
pub mod user;

pub use admin::*;
pub use crank::*;
pub use user::*;
