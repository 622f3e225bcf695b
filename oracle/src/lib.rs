//! The Groundwork oracle (SPEC 4). This crate holds the ingest stage and the pieces later
//! stages reuse: configuration, the store, the device cache and the HTTP service.

pub mod api;
pub mod chain;
pub mod clock;
pub mod commit;
pub mod config;
pub mod devices;
pub mod ingest;
pub mod metrics;
pub mod service;
pub mod store;
