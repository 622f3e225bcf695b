//! Checks of the optional accounts a position instruction takes, and the activation step
//! every one of them starts with.

use anchor_lang::prelude::*;

use crate::errors::StakingError;
use crate::math;
use crate::state::{EpochStakeV0, OperatorPoolV0, PositionV0};

/// The activation record given must be the position's; it is required while the position has
/// not joined the active weight. Activates the position if its epoch has been funded.
pub fn activate(position: &mut PositionV0, epoch_stake: Option<&EpochStakeV0>) -> Result<()> {
    if let Some(record) = epoch_stake {
        require!(
            record.epoch == position.activation_epoch,
            StakingError::WrongEpochStake
        );
    }
    if !position.activated {
        require!(epoch_stake.is_some(), StakingError::EpochStakeMissing);
    }
    math::activate_if_funded(position, epoch_stake);
    Ok(())
}

/// The pool given must be the one the position is delegated to; required while delegated.
pub fn check_pool(position: &PositionV0, pool: Option<&OperatorPoolV0>) -> Result<()> {
    match (position.operator, pool) {
        (Some(operator), Some(pool)) => {
            require_keys_eq!(pool.operator, operator, StakingError::WrongOperatorPool)
        }
        (Some(_), None) => return err!(StakingError::OperatorPoolMissing),
        (None, _) => {}
    }
    Ok(())
}
