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

    /// Brings the stage's gauges that are read at scrape time up to date (`/metrics`).
    fn update_gauges(&self) {}
}

/// `GET /healthz` and `GET /metrics` over the supervisor's tasks and every stage's health:
/// 200 `{"status": "ok", ...}` when every task runs and no stage reports a problem, 503
/// `"unhealthy"` with the problems otherwise; the body carries each stage's fields (`absent`
/// fields are present as null when no stage gives them).
pub fn health_router(
    tasks: std::sync::Arc<TaskStates>,
    stages: Vec<std::sync::Arc<dyn StageHealth>>,
    absent: &[&str],
    metrics: std::sync::Arc<crate::metrics::Metrics>,
) -> axum::Router {
    use axum::routing::get;
    let state = std::sync::Arc::new(Health {
        tasks,
        stages,
        absent: absent.iter().map(|field| field.to_string()).collect(),
        metrics,
    });
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

struct Health {
    tasks: std::sync::Arc<TaskStates>,
    stages: Vec<std::sync::Arc<dyn StageHealth>>,
    absent: Vec<String>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

async fn healthz(
    axum::extract::State(health): axum::extract::State<std::sync::Arc<Health>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut problems = health.tasks.stopped();
    let mut body = serde_json::Map::new();
    for field in &health.absent {
        body.insert(field.clone(), serde_json::Value::Null);
    }
    for stage in &health.stages {
        let report = stage.health();
        problems.extend(report.problems);
        body.extend(report.fields);
    }
    let healthy = problems.is_empty();
    body.insert(
        "status".into(),
        if healthy { "ok" } else { "unhealthy" }.into(),
    );
    body.insert("problems".into(), problems.into());
    let status = if healthy {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(serde_json::Value::Object(body))).into_response()
}

async fn render_metrics(
    axum::extract::State(health): axum::extract::State<std::sync::Arc<Health>>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut problems = health.tasks.stopped().len();
    for stage in &health.stages {
        stage.update_gauges();
        problems += stage.health().problems.len();
    }
    health.metrics.set_gauge(
        "groundwork_health_problems",
        "Problems GET /healthz reports (0: healthy; it answers 503 otherwise).",
        i64::try_from(problems).unwrap_or(i64::MAX),
    );
    (
        [("content-type", "text/plain; version=0.0.4")],
        health.metrics.render(),
    )
        .into_response()
}
