// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod close_epoch_stake_v0;
pub mod close_pool_cohort_v0;
pub mod fund_epoch_rewards_v0;
pub mod sweep_pool_rewards_v0;
pub mod sync_position_v0;

pub use close_epoch_stake_v0::*;
pub use close_pool_cohort_v0::*;
pub use fund_epoch_rewards_v0::*;
pub use sweep_pool_rewards_v0::*;
pub use sync_position_v0::*;
