// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod authority;
pub mod initialize_rewards_v0;
pub mod set_oracles_v0;
pub mod update_reward_params_v0;
pub mod veto_root_v0;

pub use authority::*;
pub use initialize_rewards_v0::*;
pub use update_reward_params_v0::*;
pub use veto_root_v0::*;
