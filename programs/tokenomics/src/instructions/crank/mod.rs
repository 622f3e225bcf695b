// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod mint_epoch_emission_v0;

pub use mint_epoch_emission_v0::*;
