pub mod config;
pub mod seeds;

pub use config::*;
