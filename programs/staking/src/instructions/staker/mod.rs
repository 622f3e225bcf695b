// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod checks;
pub mod claim_stake_rewards_v0;
pub mod close_position_v0;
pub mod complete_undelegation_v0;
pub mod create_position_v0;
pub mod delegate_v0;
pub mod extend_lockup_v0;
pub mod start_unlock_v0;
pub mod undelegate_v0;
pub mod withdraw_v0;

pub use claim_stake_rewards_v0::*;
pub use close_position_v0::*;
pub use complete_undelegation_v0::*;
pub use create_position_v0::*;
pub use delegate_v0::*;
pub use extend_lockup_v0::*;
pub use start_unlock_v0::*;
pub use undelegate_v0::*;
pub use withdraw_v0::*;
