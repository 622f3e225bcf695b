use anchor_lang::prelude::*;

declare_id!("9GAs2ZqyEHM8K56L6Huune6XqRgr8ho5kHrQgWbyVezB");

#[program]
pub mod reward_epochs {}
