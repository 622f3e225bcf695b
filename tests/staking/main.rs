//! Staking program tests in the runtime harness: positions and lockups, rewards, delegation
//! and slashing, the attacks of the security table, and the scale tests (10,000 delegators,
//! 100 epochs in one claim).

mod delegation;
mod lockup_expiry;
mod pool_rewards;
mod positions;
mod rewards;
mod scale;
