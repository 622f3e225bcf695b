//! What runs the oracle's stages: the [`Supervisor`] of long-lived tasks, the [`Ticker`] a
//! periodic task waits on, and [`StageHealth`], how each stage says whether it is well.
//!
//! A stage crate exports its tasks as values with `run(self, stop: StopSignal)`; the binary
//! spawns them under one supervisor and gathers every stage's health into `/healthz`.

mod supervisor;

use std::time::Duration;

pub use supervisor::{StopSignal, Supervisor, TaskStates};

/// Paces a periodic task: [`Ticker::next`] resolves at each period, or with `false` once the
/// stop signal is raised, so a task's loop is `while ticker.next().await { ... }` and a stop
/// is seen between rounds, never in the middle of one.
pub struct Ticker {
    interval: tokio::time::Interval,
    stop: StopSignal,
}

/// When a [`Ticker`]'s first round comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstRound {
    /// At once (the task has nothing done at start).
    Now,
    /// One period after start (the start already did the round's work).
    AfterOnePeriod,
}

impl Ticker {
    /// A round every `period`; a round that overruns delays the next (no burst of catch-up
    /// rounds).
    pub fn new(period: Duration, first: FirstRound, stop: StopSignal) -> Self {
        let start = match first {
            FirstRound::Now => tokio::time::Instant::now(),
            FirstRound::AfterOnePeriod => tokio::time::Instant::now() + period,
        };
        let mut interval = tokio::time::interval_at(start, period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Ticker { interval, stop }
    }

    /// Waits for the next round: `true` when it is due, `false` when the task must stop.
    pub async fn next(&mut self) -> bool {
        tokio::select! {
            _ = self.interval.tick() => true,
            () = self.stop.stopped() => false,
        }
    }
}

/// What one stage says of itself for `/healthz`: problems (any makes the oracle unhealthy)
/// and the fields it adds to the health body.
#[derive(Debug, Default)]
pub struct HealthReport {
    pub problems: Vec<String>,
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A stage's health, read by `/healthz` on every request (cheap: from memory).
pub trait StageHealth: Send + Sync {
    fn health(&self) -> HealthReport;
}
