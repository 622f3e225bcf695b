use anchor_lang::prelude::*;

declare_id!("EE7PLRus5HpzDDs3mwKRhGuzN9ie1fi3KPSLfvew6kLs");

#[program]
pub mod staking {}
