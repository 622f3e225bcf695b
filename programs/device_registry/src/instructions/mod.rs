// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod admin;
pub mod credits;
pub mod dapp;
pub mod operators;

pub use admin::*;
pub use dapp::*;
pub use operators::*;
