use anchor_lang::prelude::*;

declare_id!("8YB9GpQ3m2eDzsGTh96jxX8s8kYH9LTwr4LkjvAXRMFV");

#[program]
pub mod device_registry {}
