use anchor_lang::prelude::*;

#[error_code]
#[derive(PartialEq, Eq)]
pub enum StakingError {
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("The signer is not the staking authority")]
    NotAuthority,
    #[msg("The signer is not the program's upgrade authority")]
    NotUpgradeAuthority,
    #[msg("The signer is not the position's owner")]
    NotPositionOwner,
    #[msg("Saturation must be a positive number of seconds")]
    InvalidSaturation,
    #[msg("The cooldown must be at least one epoch")]
    InvalidCooldown,
    #[msg("The maximum slash must be between 1 and 9,999 basis points: a slash never takes a whole pool")]
    InvalidMaxSlash,
    #[msg("Unbonding must last at least one epoch")]
    InvalidUnbonding,
    #[msg("Epoch length must be positive")]
    InvalidEpochLength,
    #[msg("The amount must be positive")]
    ZeroAmount,
    #[msg("A cliff or constant lockup needs a positive duration")]
    InvalidLockupDuration,
    #[msg("A lockup can only be extended: the new one must end no earlier and weigh no less")]
    LockupNotLonger,
    #[msg("Only a constant lockup or a flexible position can start unlocking")]
    CannotStartUnlock,
    #[msg("The flexible position is already unlocking")]
    AlreadyUnlocking,
    #[msg("The position is still locked")]
    StillLocked,
    #[msg("The position is delegated: undelegate first")]
    PositionDelegated,
    #[msg("The position is not delegated")]
    PositionNotDelegated,
    #[msg("The position's stake is not active yet: wait until its first epoch has been funded")]
    PositionNotActive,
    #[msg("The epoch-stake account of the position's activation epoch is required")]
    EpochStakeMissing,
    #[msg("That epoch-stake account is not the position's activation epoch")]
    WrongEpochStake,
    #[msg("The operator pool is required for a delegated position")]
    OperatorPoolMissing,
    #[msg("That operator pool is not the position's")]
    WrongOperatorPool,
    #[msg("An undelegation is already pending")]
    UndelegationPending,
    #[msg("No undelegation was requested")]
    NoUndelegationRequested,
    #[msg("The undelegation completes once its unbonding epochs have passed")]
    UndelegationNotMatured,
    #[msg("That account is not a registered operator's record")]
    NotARegisteredOperator,
    #[msg("The delegation is too small to buy one pool share")]
    DelegationTooSmall,
    #[msg("Slashes drove this pool's share value near zero: it accepts no new delegation until its members have left")]
    PoolShareValueTooLow,
    #[msg("The epoch-stake account of the position's bonus expiry epoch is required")]
    BonusRecordMissing,
    #[msg("That epoch-stake account is not the one of the position's bonus expiry epoch")]
    WrongBonusRecord,
    #[msg("The position still holds tokens or unclaimed rewards")]
    PositionNotEmpty,
    #[msg("Nothing to claim")]
    NothingToClaim,
    #[msg("A slash must be between 1 basis point and the maximum per call")]
    InvalidSlash,
    #[msg("The pool holds nothing to slash")]
    NothingToSlash,
    #[msg("Epochs are funded once, in order: this is not the next epoch to fund")]
    EpochNotNext,
    #[msg("The epoch has not ended yet")]
    EpochNotEnded,
    #[msg("No authority transfer is pending")]
    NoPendingAuthority,
    #[msg("Only the proposed authority may accept")]
    NotPendingAuthority,
    #[msg("The epoch-stake record is not funded yet, or positions still need it")]
    EpochStakeInUse,
    #[msg("The staking ledger's totals are inconsistent")]
    LedgerInvariantViolated,
    #[msg("The maximum commission must be at most 10,000 basis points")]
    InvalidMaxCommission,
    #[msg("The commission is above the maximum the staking authority allows")]
    CommissionAboveMaximum,
    #[msg("The signer is not the pool's operator")]
    NotPoolOperator,
    #[msg("The pool rewards account is required for a delegated position")]
    PoolRewardsMissing,
    #[msg("That pool rewards account is not the position's pool's")]
    WrongPoolRewards,
    #[msg("The pool cohort the position waits in is required")]
    PoolCohortMissing,
    #[msg("That pool cohort is not the one this delegation joins or waits in")]
    WrongPoolCohort,
    #[msg("That account is not the reward program's claim record of this pool")]
    NotPoolClaimRecord,
    #[msg("Every waiting cohort the sweep starts must be given, oldest first")]
    CohortsMissing,
    #[msg("Nothing to sweep: no claim paid the pool since the last sweep and no cohort is due")]
    NothingToSweep,
    #[msg("The pool cohort still waits for a sweep, or members still need it")]
    PoolCohortInUse,
    #[msg("The pool rewards' token account is required to pay them")]
    PoolRewardTokensMissing,
    #[msg(
        "No member earns: the operator's token account of the network mint is required to pay it"
    )]
    OperatorTokensMissing,
}
