// Every instruction module exposes its own `handler`; the dispatcher calls them by path.
#![allow(ambiguous_glob_reexports)]

pub mod add_device_class_v0;
pub mod approve_maker_v0;
pub mod initialize_registry_v0;
pub mod registry_authority;
pub mod revoke_maker_v0;
pub mod set_device_status;
pub mod update_device_class_v0;

pub use add_device_class_v0::*;
pub use approve_maker_v0::*;
pub use initialize_registry_v0::*;
pub use registry_authority::*;
pub use revoke_maker_v0::*;
pub use set_device_status::*;
pub use update_device_class_v0::*;
