// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod authority;
pub mod initialize_staking_v0;
pub mod slash_v0;
pub mod update_staking_params_v0;

pub use authority::*;
pub use initialize_staking_v0::*;
pub use slash_v0::*;
