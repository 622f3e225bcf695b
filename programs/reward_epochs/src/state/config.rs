use anchor_lang::prelude::*;
use groundwork_program_math::BPS;

use crate::errors::RewardError;

/// Most oracles a network can have.
pub const MAX_ORACLES: usize = 16;

/// How each epoch's emission is split, in basis points (sum 10,000).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct EmissionSplit {
    pub devices_bps: u16,
    pub stakers_bps: u16,
    pub treasury_bps: u16,
}

impl EmissionSplit {
    /// The three shares add up to exactly 10,000 basis points.
    pub fn validate(&self) -> Result<()> {
        let sum = u64::from(self.devices_bps)
            .checked_add(u64::from(self.stakers_bps))
            .and_then(|sum| sum.checked_add(u64::from(self.treasury_bps)));
        require!(sum == Some(BPS), RewardError::SplitNotTenThousand);
        Ok(())
    }
}

/// Validates an oracle set: 1..=16 distinct keys and 1 <= quorum <= their number.
pub fn validate_oracle_set(oracles: &[Pubkey], quorum: u8) -> Result<()> {
    require!(
        !oracles.is_empty() && oracles.len() <= MAX_ORACLES,
        RewardError::InvalidOracleSet
    );
    let distinct = oracles
        .iter()
        .enumerate()
        .all(|(i, oracle)| !oracles[..i].contains(oracle));
    require!(distinct, RewardError::InvalidOracleSet);
    require!(
        quorum >= 1 && usize::from(quorum) <= oracles.len(),
        RewardError::InvalidQuorum
    );
    Ok(())
}

/// The reward program of one network, at PDA `["reward_config"]`.
///
/// Invariant (checked by [`RewardConfigV0::invariant`] at the end of every handler that
/// changes it): `total_claimed <= active_cumulative_total <= device_pool_cumulative`, the
/// active root (if any) is of a closed epoch, the oracle set and split are valid, epochs have
/// a positive length and the challenge period is not negative.
#[account]
#[derive(InitSpace)]
pub struct RewardConfigV0 {
    pub bump: u8,
    pub epoch_minter_bump: u8,
    pub authority: Pubkey,
    pub pending_authority: Option<Pubkey>,
    pub network_mint: Pubkey,
    /// Device rewards waiting to be claimed (owned by the epoch minter PDA).
    pub reward_vault: Pubkey,
    /// Token account (of the network mint) receiving the treasury share.
    pub treasury: Pubkey,
    /// Epoch `n` covers `[genesis_ts + n * epoch_len_s, genesis_ts + (n + 1) * epoch_len_s)`;
    /// copied from staking's config at initialize, so both programs count the same epochs.
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
    pub split: EmissionSplit,
    #[max_len(MAX_ORACLES)]
    pub oracles: Vec<Pubkey>,
    pub quorum: u8,
    /// Seconds a root that becomes pending waits before anyone can activate it (the authority
    /// may veto it meanwhile). Fixed into the epoch record when the root becomes pending.
    pub challenge_period_s: i64,
    pub next_epoch_to_close: u64,
    /// Device shares minted by all closed epochs: no root may distribute more.
    pub device_pool_cumulative: u64,
    /// The newest active root: the one claims verify against.
    pub active_root: [u8; 32],
    pub active_root_epoch: Option<u64>,
    pub active_cumulative_total: u64,
    pub total_claimed: u64,
    pub total_minted: u64,
    pub total_staker_funded: u64,
    pub total_treasury_paid: u64,
}

impl RewardConfigV0 {
    /// First second after epoch `epoch`.
    pub fn epoch_end(&self, epoch: u64) -> Option<i64> {
        i64::try_from(epoch)
            .ok()?
            .checked_add(1)?
            .checked_mul(self.epoch_len_s)?
            .checked_add(self.genesis_ts)
    }

    pub fn is_oracle(&self, key: &Pubkey) -> bool {
        self.oracles.contains(key)
    }

    /// Checks everything that must hold between instructions (see the type's doc).
    pub fn invariant(&self) -> Result<()> {
        require!(
            self.total_claimed <= self.active_cumulative_total
                && self.active_cumulative_total <= self.device_pool_cumulative,
            RewardError::AccountingInvariant
        );
        let active_root_is_consistent = match self.active_root_epoch {
            Some(epoch) => epoch < self.next_epoch_to_close,
            None => self.active_cumulative_total == 0,
        };
        require!(active_root_is_consistent, RewardError::AccountingInvariant);
        validate_oracle_set(&self.oracles, self.quorum)?;
        self.split.validate()?;
        require!(
            self.epoch_len_s > 0 && self.challenge_period_s >= 0,
            RewardError::InvalidTiming
        );
        Ok(())
    }
}
