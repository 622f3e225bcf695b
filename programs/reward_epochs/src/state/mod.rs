pub mod claim;
pub mod config;
pub mod epoch;
pub mod seeds;

pub use claim::*;
pub use config::*;
pub use epoch::*;
