pub mod submit_root_v0;

pub use submit_root_v0::*;
