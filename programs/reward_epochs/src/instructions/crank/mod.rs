// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod activate_root_v0;
pub mod close_epoch_record_v0;
pub mod close_epoch_v0;

pub use activate_root_v0::*;
pub use close_epoch_record_v0::*;
pub use close_epoch_v0::*;
