//! The user commands, one module per family of `groundwork` subcommands: each defines its
//! clap subcommands and runs them over a [`crate::context::Context`] (or, for the bootstrap
//! and `network status`, over the cluster directly). They print through [`crate::output`] and
//! send through [`crate::send`]; helpers more than one of them needs live below them
//! ([`crate::context`], [`crate::location`], [`crate::oracle_api`], [`crate::device_sim`]).

pub mod admin;
pub mod airdrop;
pub mod balance;
pub mod bootstrap;
pub mod bulk;
pub mod bundle;
pub mod config;
pub mod history;
pub mod operator;
pub mod oracle;
pub mod registry;
pub mod rewards;
pub mod simulate;
pub mod stake;
pub mod status;
pub mod token;
