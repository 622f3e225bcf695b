//! Why a device earned what it earned, in words: a one-line headline for tables and the
//! explanation `groundwork device report` and the explorer show.

use groundwork_program_math::BPS;

use crate::{DeviceRow, VerifyParams};

impl DeviceRow {
    /// Why the device earned what it earned, in one line for a table of many epochs or
    /// devices: the fraud rules that zeroed it, else what held its reward down (too few
    /// slots, location trust, unproven coverage, the data cap), else "full coverage".
    pub fn headline(&self, params: &VerifyParams) -> String {
        if !self.fraud.is_empty() {
            let codes: Vec<&str> = self.fraud.iter().map(|fraud| fraud.code()).collect();
            return format!("zeroed: {}", codes.join(", "));
        }
        let mut held_down = Vec::new();
        if self.uptime_slots < params.min_uptime_slots {
            held_down.push(format!(
                "no coverage: seen in {} of the {} slots needed",
                self.uptime_slots, params.min_uptime_slots
            ));
        } else if self.trust_bps == 0 {
            held_down.push("no coverage: no heartbeat near its asserted cell".to_string());
        } else {
            if self.trust_bps < BPS {
                held_down.push(format!("location trust {}%", self.trust_bps / 100));
            }
            if params.witnesses.enabled && self.witness_factor_bps < BPS {
                held_down.push(format!(
                    "coverage unproven by other operators' witnesses: x{}%",
                    self.witness_factor_bps / 100
                ));
            }
        }
        if self.density_devices > params.density_k && self.amount > 0 {
            held_down.push(format!(
                "its cell holds {} earning devices, {} earn in full",
                self.density_devices, params.density_k
            ));
        }
        if self.data_uncapped > self.data_cap {
            held_down.push("data share capped at what its credits cost".to_string());
        }
        if self.amount == 0 && held_down.is_empty() {
            held_down.push("its share of the pool rounded to nothing".to_string());
        }
        let lead = if self.amount == 0 {
            "earned nothing"
        } else {
            "earned"
        };
        if held_down.is_empty() {
            format!("{lead}: full coverage")
        } else {
            format!("{lead}: {}", held_down.join("; "))
        }
    }

    /// Why the device earned what it earned, in plain words for its operator.
    pub fn explain(&self, params: &VerifyParams) -> String {
        let mut lines = Vec::new();
        if !self.fraud.is_empty() {
            let reasons: Vec<&str> = self.fraud.iter().map(|fraud| fraud.code()).collect();
            lines.push(format!(
                "earned nothing: zeroed for {} (a fraud rule zeroes the whole epoch)",
                reasons.join(", ")
            ));
        }
        lines.push(format!(
            "seen in {} of {} slots ({} heartbeats); {} needed to earn coverage",
            self.uptime_slots, params.slots_per_epoch, self.heartbeats, params.min_uptime_slots
        ));
        match self.median_distance_m {
            Some(metres) => lines.push(format!(
                "median distance of its heartbeats to its asserted cell's centre: {metres} m, location trust {}% (full up to {} m, {}% up to {} m)",
                self.trust_bps / 100,
                params.full_trust_m,
                params.partial_trust_bps / 100,
                params.partial_trust_m
            )),
            None => lines.push("no heartbeat with a position: no location trust".into()),
        }
        if params.witnesses.enabled {
            if self.witness_factor_bps == BPS {
                lines.push(format!(
                    "proof of coverage: its {} beacons were heard by {} devices of other operators: full coverage",
                    self.beacons, self.witnesses
                ));
            } else {
                lines.push(format!(
                    "proof of coverage: its {} beacons were heard by {} devices of other operators ({} needed): coverage x {}%",
                    self.beacons,
                    self.witnesses,
                    params.witnesses.min_witnesses,
                    self.witness_factor_bps / 100
                ));
            }
        }
        if self.witnessed_devices > 0 || self.witness_reports_dropped.total() > 0 {
            let mut line = format!(
                "its witness reports vouched for {} beaconing devices",
                self.witnessed_devices
            );
            let dropped = self.witness_reports_dropped.explain();
            if !dropped.is_empty() {
                line.push_str(&format!(
                    "; reports dropped (never held against it): {}",
                    dropped.join(", ")
                ));
            }
            lines.push(line);
        }
        if let Some(cell) = self.density_cell {
            lines.push(format!(
                "density cell {cell:x} (where its asserted location stood longest, {} s): {} earning devices (at most {} earn in full)",
                self.density_seconds, self.density_devices, params.density_k
            ));
        }
        if self.credits_paid > 0 {
            lines.push(format!(
                "{} credits were paid for its service; {} data sessions reported; data share {} (capped at {}, the tokens those credits cost)",
                self.credits_paid, self.data_sessions, self.data_uncapped, self.data_cap
            ));
        }
        if self.stake_multiplier_bps > BPS {
            lines.push(format!(
                "stake multiplier x{}.{:04} (its operator's active delegated stake): it added {} to its coverage reward",
                self.stake_multiplier_bps / BPS,
                self.stake_multiplier_bps % BPS,
                self.multiplier_added
            ));
        }
        if self.pool_share > 0 {
            lines.push(format!(
                "earned {} (coverage {}, data {}): {} paid to {}, {} to its operator's delegators (the multiplier's part less the operator's commission of {})",
                self.amount,
                self.coverage_reward,
                self.data_reward,
                self.amount - self.pool_share,
                self.recipient,
                self.pool_share,
                self.multiplier_added - self.pool_share
            ));
        } else {
            lines.push(format!(
                "earned {} (coverage {}, data {}), paid to {}",
                self.amount, self.coverage_reward, self.data_reward, self.recipient
            ));
        }
        lines.join("\n")
    }
}
