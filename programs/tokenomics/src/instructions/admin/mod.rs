// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod accept_authority_v0;
pub mod append_emission_steps_v0;
pub mod authority_update;
pub mod initialize_v0;
pub mod initialize_with_existing_mint_v0;
pub mod setup;
pub mod transfer_authority_v0;
pub mod update_emission_controls_v0;
pub mod update_pricing_v0;

pub use accept_authority_v0::*;
pub use authority_update::*;
pub use initialize_v0::*;
pub use initialize_with_existing_mint_v0::*;
pub use setup::InitializeArgsV0;
pub use update_emission_controls_v0::*;
pub use update_pricing_v0::*;
