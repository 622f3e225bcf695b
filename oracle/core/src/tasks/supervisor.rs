//! Long-lived tasks under one supervisor: the first task to end — by failing, or by finishing
//! when it should run forever — stops every other one with a clear log line, and a shutdown
//! request (SIGTERM) stops them all in order: each task watches the same stop signal and
//! finishes what it is doing (the HTTP server drains its in-flight requests).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use tokio::sync::watch;
use tokio::task::JoinSet;

/// Whether each task is running, and why a stopped one stopped.
#[derive(Default)]
pub struct TaskStates {
    states: Mutex<BTreeMap<&'static str, Option<String>>>,
}

impl TaskStates {
    /// The tasks that are not running, with their reasons.
    pub fn stopped(&self) -> Vec<String> {
        self.states
            .lock()
            .expect("task states lock")
            .iter()
            .filter_map(|(name, reason)| reason.as_ref().map(|reason| format!("{name}: {reason}")))
            .collect()
    }

    fn set(&self, name: &'static str, reason: Option<String>) {
        self.states
            .lock()
            .expect("task states lock")
            .insert(name, reason);
    }
}

/// A task's view of the stop signal.
#[derive(Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Resolves once a stop was requested.
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

pub struct Supervisor {
    tasks: JoinSet<(&'static str, Result<()>)>,
    stop: watch::Sender<bool>,
    states: Arc<TaskStates>,
}

impl Default for Supervisor {
    fn default() -> Self {
        Self::new()
    }
}

impl Supervisor {
    pub fn new() -> Self {
        Supervisor {
            tasks: JoinSet::new(),
            stop: watch::channel(false).0,
            states: Arc::new(TaskStates::default()),
        }
    }

    pub fn stop_signal(&self) -> StopSignal {
        StopSignal(self.stop.subscribe())
    }

    pub fn states(&self) -> Arc<TaskStates> {
        self.states.clone()
    }

    /// Runs `task` until it ends; it should end only after the stop signal.
    pub fn spawn(
        &mut self,
        name: &'static str,
        task: impl Future<Output = Result<()>> + Send + 'static,
    ) {
        self.states.set(name, None);
        self.tasks.spawn(async move { (name, task.await) });
    }

    /// Runs until `shutdown` resolves or a task ends; then stops every task and waits for
    /// them. Returns an error naming the task that ended first, if one did.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let first_failure = tokio::select! {
            () = shutdown => None,
            ended = self.tasks.join_next() => {
                let (name, reason) = describe(ended);
                tracing::error!(task = name, %reason, "a task stopped: stopping the oracle");
                self.states.set(name, Some(reason.clone()));
                Some(anyhow!("task {name} stopped: {reason}"))
            }
        };
        let _ = self.stop.send(true);
        while let Some(ended) = self.tasks.join_next().await {
            let (name, reason) = describe(Some(ended));
            self.states.set(name, Some(reason.clone()));
            tracing::info!(task = name, %reason, "task stopped");
        }
        match first_failure {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// A task's name and how it ended.
fn describe(
    ended: Option<Result<(&'static str, Result<()>), tokio::task::JoinError>>,
) -> (&'static str, String) {
    match ended {
        Some(Ok((name, Ok(())))) => (name, "finished".into()),
        Some(Ok((name, Err(error)))) => (name, format!("failed: {error:#}")),
        Some(Err(join_error)) if join_error.is_panic() => ("a task", "panicked".into()),
        Some(Err(_)) => ("a task", "was cancelled".into()),
        None => ("no task", "none was running".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_task_stops_the_others() {
        let mut supervisor = Supervisor::new();
        let mut stop = supervisor.stop_signal();
        let states = supervisor.states();
        supervisor.spawn("waits", async move {
            stop.stopped().await;
            Ok(())
        });
        supervisor.spawn("fails", async { Err(anyhow!("disk full")) });
        let error = supervisor
            .run_until(std::future::pending())
            .await
            .unwrap_err();
        assert!(error
            .to_string()
            .contains("task fails stopped: failed: disk full"));
        let stopped = states.stopped();
        assert!(
            stopped
                .iter()
                .any(|line| line.starts_with("waits: finished")),
            "{stopped:?}"
        );
    }

    #[tokio::test]
    async fn a_shutdown_stops_every_task_cleanly() {
        let mut supervisor = Supervisor::new();
        for name in ["a", "b"] {
            let mut stop = supervisor.stop_signal();
            supervisor.spawn(name, async move {
                stop.stopped().await;
                Ok(())
            });
        }
        supervisor.run_until(async {}).await.unwrap();
    }
}
