// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod append_emission_steps_v0;
pub mod authority;
pub mod initialize_v0;
pub mod initialize_with_existing_mint_v0;
pub mod setup;
pub mod update_emission_controls_v0;
pub mod update_pricing_v0;

pub use authority::*;
pub use initialize_v0::*;
pub use initialize_with_existing_mint_v0::*;
pub use setup::InitializeArgsV0;
pub use update_emission_controls_v0::*;
pub use update_pricing_v0::*;
