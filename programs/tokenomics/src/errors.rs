use anchor_lang::prelude::*;

#[error_code]
#[derive(PartialEq, Eq)]
pub enum TokenomicsError {
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("The signer is not the network authority")]
    NotAuthority,
    #[msg("The signer is not the pending authority")]
    NotPendingAuthority,
    #[msg("No authority transfer is pending")]
    NoPendingAuthority,
    #[msg("The signer is not the program's upgrade authority")]
    NotUpgradeAuthority,
    #[msg("The emission schedule must have at least one step")]
    EmptySchedule,
    #[msg("The emission schedule has more steps than it can hold")]
    ScheduleTooLong,
    #[msg("Emission steps must have strictly increasing start epochs")]
    ScheduleNotIncreasing,
    #[msg(
        "A new emission step must start after the last step and at or after the next epoch to mint"
    )]
    StepRewritesPast,
    #[msg("Smoothing weight must be between 1 and 10,000 basis points")]
    InvalidSmoothing,
    #[msg("Circuit breaker window must be between 1 and 32 epochs")]
    InvalidBreakerWindow,
    #[msg("The credit price must be positive")]
    InvalidCreditPrice,
    #[msg("The maximum price age must be positive")]
    InvalidMaxPriceAge,
    #[msg("The mint's supply is above the configured max supply")]
    SupplyAboveMax,
    #[msg("The existing mint's freeze authority is held by another key")]
    ForeignFreezeAuthority,
    #[msg("The existing mint has a Token-2022 extension that gives someone power over holders or transfers")]
    UnsupportedMintExtension,
    #[msg("The signer is not the existing mint's mint authority")]
    NotMintAuthority,
    #[msg("The price source requires a Pyth price update account")]
    PriceAccountMissing,
    #[msg("The price update is for another feed")]
    WrongPriceFeed,
    #[msg("The price update is not fully verified")]
    PriceNotFullyVerified,
    #[msg("The price update is older than the maximum price age")]
    StalePrice,
    #[msg("The conservative price (ema_price - 2 * ema_conf) is zero or negative")]
    NonPositivePrice,
    #[msg("The price exponent is out of range")]
    PriceExponentOutOfRange,
    #[msg("The amount to burn must be positive")]
    ZeroAmount,
    #[msg("The burn buys less than one credit")]
    BurnBuysNoCredits,
    #[msg("The burn would buy fewer credits than min_credits_out")]
    SlippageExceeded,
    #[msg("Epochs are minted once, in order: this is not the next epoch to mint")]
    EpochNotNext,
    #[msg("The network token supply grew outside the program")]
    SupplyIncreasedOutsideProgram,
    #[msg("The price update's publish time is further in the future than the maximum price age")]
    PriceFromTheFuture,
    #[msg("The recorded supply differs from initial supply + minted total - burned total, or exceeds max supply")]
    SupplyBookkeepingMismatch,
}
