// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod set_commission_v0;

pub use set_commission_v0::*;
