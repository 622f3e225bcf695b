use anchor_lang::prelude::*;

#[error_code]
#[derive(PartialEq, Eq)]
pub enum RewardError {
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("The signer is not the reward authority")]
    NotAuthority,
    #[msg("The signer is not the pending authority")]
    NotPendingAuthority,
    #[msg("No authority transfer is pending")]
    NoPendingAuthority,
    #[msg("The signer is not the program's upgrade authority")]
    NotUpgradeAuthority,
    #[msg("The emission split must add up to 10,000 basis points")]
    SplitNotTenThousand,
    #[msg("The oracle set must hold 1 to 16 distinct keys")]
    InvalidOracleSet,
    #[msg("The quorum must be between 1 and the number of oracles")]
    InvalidQuorum,
    #[msg("Epoch length must be positive and the challenge period not negative")]
    InvalidTiming,
    #[msg("Epochs close once, in order: this is not the next epoch to close")]
    EpochNotNext,
    #[msg("The epoch has not ended yet")]
    EpochNotEnded,
    #[msg("The signer is not in the oracle set")]
    NotAnOracle,
    #[msg("This oracle already voted for this epoch")]
    AlreadyVoted,
    #[msg("The epoch's root is already active")]
    RootAlreadyActive,
    #[msg("The root's cumulative total exceeds the device rewards minted through this epoch")]
    TotalExceedsDevicePool,
    #[msg("The root's cumulative total is below the active root's: totals never decrease")]
    TotalDecreased,
    #[msg("The epoch has no pending root")]
    NoPendingRoot,
    #[msg("The challenge period has not ended")]
    ChallengePeriodNotOver,
    #[msg("The challenge period is over: the root can no longer be vetoed")]
    ChallengePeriodOver,
    #[msg("Roots activate in epoch order: a newer epoch's root is already active")]
    RootOutOfOrder,
    #[msg("No root is active yet")]
    NoActiveRoot,
    #[msg("The proof does not verify against the newest active root")]
    InvalidProof,
    #[msg("Nothing is due: this cumulative amount has already been paid")]
    NothingDue,
    #[msg("The claim would pay more than the active root's total")]
    ClaimExceedsRootTotal,
    #[msg("The proof is longer than 32 hashes")]
    ProofTooLong,
    #[msg("Staking does not name this program as its reward program or uses another network mint")]
    StakingNotWired,
    #[msg(
        "Tokenomics does not name this program as its reward program or uses another network mint"
    )]
    TokenomicsNotWired,
    #[msg("Only epoch records older than the active root's epoch can be closed")]
    EpochNotSettled,
    #[msg("This is not the account that paid the epoch record's rent")]
    RentPayerMismatch,
    #[msg("Reward accounting broken: claimed <= active root total <= device pool must hold")]
    AccountingInvariant,
    #[msg("A delegation pool's leaf is claimed only by the staking program's sweep of the pool")]
    PoolClaimedOnlyBySweep,
}
