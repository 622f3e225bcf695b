use anchor_lang::prelude::*;

use groundwork_program_math::BPS;

use crate::errors::StakingError;

/// Lockup parameters; changes apply to lockups chosen or extended afterwards (and to unlocks
/// started afterwards), never to positions already fixed.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct StakingParams {
    /// Bonus at saturation in basis points: weight = amount * (1 + bonus * min(lockup,
    /// saturation) / saturation); 30,000 = +3x (4x weight) at saturation.
    pub max_bonus_bps: u32,
    /// Lockup length that earns the full bonus (seconds; default 4 years).
    pub saturation_s: i64,
    /// Epochs a flexible position waits between start_unlock and withdraw.
    pub cooldown_epochs: u16,
    /// Most a single slash may take from an operator pool, in basis points (below 10,000: a
    /// slash never empties a pool).
    pub max_slash_bps: u16,
    /// Full epochs an undelegation waits, still in the pool and slashable, after the epoch it
    /// was requested in (so a slash decided after the oracle's grace and challenge periods
    /// still reaches it).
    pub unbonding_epochs: u16,
    /// Most commission an operator may set on its pool's device rewards, in basis points
    /// (at most 10,000). Applies when a commission is set; commissions set before a lowering
    /// keep their value.
    pub max_commission_bps: u16,
}

impl StakingParams {
    /// SPEC 3.3's defaults, for the bootstrap and the CLI: +3x bonus at 4 years, a 2-epoch
    /// cooldown, at most 50% slashed per call, 2 unbonding epochs; operators keep at most
    /// 50% of their pool's device rewards as commission.
    pub const RECOMMENDED: StakingParams = StakingParams {
        max_bonus_bps: 30_000,
        saturation_s: 4 * 365 * 86_400,
        cooldown_epochs: 2,
        max_slash_bps: 5_000,
        unbonding_epochs: 2,
        max_commission_bps: 5_000,
    };

    pub fn validate(&self) -> Result<()> {
        require!(self.saturation_s > 0, StakingError::InvalidSaturation);
        require!(self.cooldown_epochs > 0, StakingError::InvalidCooldown);
        require!(
            self.max_slash_bps > 0 && u64::from(self.max_slash_bps) < BPS,
            StakingError::InvalidMaxSlash
        );
        require!(self.unbonding_epochs > 0, StakingError::InvalidUnbonding);
        require!(
            u64::from(self.max_commission_bps) <= BPS,
            StakingError::InvalidMaxCommission
        );
        Ok(())
    }
}

/// The staking program of one network, at PDA `["staking_config"]`.
///
/// Rewards: `reward_per_weight` (scaled by `REWARD_PRECISION`) grows at every funded epoch by
/// `funded / active_weight`; a position earns `weight * (reward_per_weight - its snapshot)`.
/// Operator pools take part as one weight each (see `OperatorPoolV0`).
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct StakingConfigV0 {
    pub bump: u8,
    pub vault_authority_bump: u8,
    pub authority: Pubkey,
    pub network_mint: Pubkey,
    pub stake_vault: Pubkey,
    pub reward_vault: Pubkey,
    pub reward_program: Pubkey,
    /// The reward program's PDA: the only signer of `fund_epoch_rewards_v0`.
    pub reward_funder: Pubkey,
    /// Epoch `n` covers `[genesis_ts + n * epoch_len_s, genesis_ts + (n + 1) * epoch_len_s)`,
    /// as in reward_epochs.
    pub genesis_ts: i64,
    pub epoch_len_s: i64,
    pub params: StakingParams,
    /// Principal the stake vault owes positions and pools (after slashes and withdrawals).
    pub total_principal: u64,
    /// Weight earning the next funded epoch: activated undelegated positions plus pools.
    pub active_weight: u128,
    pub reward_per_weight: u128,
    /// Funded epochs are consecutive from 0; this is the next one.
    pub next_epoch_to_fund: u64,
    /// Rewards not yet distributed (no active weight, or rounding) carried to the next epoch.
    pub carried_rewards: u64,
    pub total_funded: u64,
    pub total_claimed: u64,
    pub total_slashed: u64,
    pub position_count: u64,
    /// Proposed by the authority; becomes the authority when it signs `accept_authority_v0`.
    pub pending_authority: Option<Pubkey>,
}

impl StakingConfigV0 {
    /// What holds between instructions: valid parameters and timing, and never more rewards
    /// claimed than funded.
    pub fn invariant(&self) -> Result<()> {
        self.params.validate()?;
        require!(self.epoch_len_s > 0, StakingError::InvalidEpochLength);
        require!(
            self.total_claimed <= self.total_funded && self.carried_rewards <= self.total_funded,
            StakingError::LedgerInvariantViolated
        );
        Ok(())
    }

    /// The epoch containing `unix_ts` (epoch 0 before genesis).
    pub fn epoch_at(&self, unix_ts: i64) -> u64 {
        if unix_ts < self.genesis_ts {
            return 0;
        }
        ((unix_ts - self.genesis_ts) / self.epoch_len_s) as u64
    }

    /// The epoch from which weight added at `unix_ts` earns: the next one (epoch 0 before
    /// genesis).
    pub fn activation_epoch_at(&self, unix_ts: i64) -> u64 {
        if unix_ts < self.genesis_ts {
            0
        } else {
            self.epoch_at(unix_ts) + 1
        }
    }

    /// First second after epoch `epoch`.
    pub fn epoch_end(&self, epoch: u64) -> Option<i64> {
        i64::try_from(epoch)
            .ok()?
            .checked_add(1)?
            .checked_mul(self.epoch_len_s)?
            .checked_add(self.genesis_ts)
    }
}
