pub mod config;
pub mod epoch_stake;
pub mod operator_pool;
pub mod pool_rewards;
pub mod position;
pub mod seeds;

pub use config::*;
pub use epoch_stake::*;
pub use operator_pool::*;
pub use pool_rewards::*;
pub use position::*;
