pub mod fund_epoch_rewards_v0;

pub use fund_epoch_rewards_v0::*;
