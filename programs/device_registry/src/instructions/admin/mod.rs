// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod add_device_class_v0;
pub mod approve_maker_v0;
pub mod authority;
pub mod initialize_registry_v0;
pub mod reinstate_device_v0;
pub mod revoke_maker_v0;
pub mod suspend_device_v0;
pub mod update_device_class_v0;

pub use add_device_class_v0::*;
pub use approve_maker_v0::*;
pub use authority::*;
pub use initialize_registry_v0::*;
pub use reinstate_device_v0::*;
pub use revoke_maker_v0::*;
pub use suspend_device_v0::*;
pub use update_device_class_v0::*;
