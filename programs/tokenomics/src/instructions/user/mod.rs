// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod burn_for_credits_v0;

pub use burn_for_credits_v0::*;
