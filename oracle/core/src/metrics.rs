//! Prometheus metrics of the oracle: messages by verdict, refused requests, acknowledgement
//! latency, and gauges the stages set (seal watermark, stored messages, chain freshness).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::rejection::Verdict;

/// Upper bounds (seconds) of the acknowledgement latency histogram.
const LATENCY_BUCKETS_S: [f64; 10] = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Default)]
pub struct Metrics {
    accepted: AtomicU64,
    duplicates: AtomicU64,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    refused_requests: Mutex<BTreeMap<&'static str, u64>>,
    latency_counts: [AtomicU64; LATENCY_BUCKETS_S.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
    gauges: Mutex<BTreeMap<&'static str, (&'static str, i64)>>,
}

impl Metrics {
    pub fn count(&self, verdict: &Verdict) {
        match verdict {
            Verdict::Accepted => {
                self.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Duplicate => {
                self.duplicates.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Rejected(rejection) => {
                *self
                    .rejected
                    .lock()
                    .expect("metrics lock")
                    .entry(rejection.code())
                    .or_default() += 1;
            }
        }
    }

    /// Counts a request refused as a whole (malformed body, too large, too many messages).
    pub fn count_refused_request(&self, reason: &'static str) {
        *self
            .refused_requests
            .lock()
            .expect("metrics lock")
            .entry(reason)
            .or_default() += 1;
    }

    /// Records one request's acknowledgement latency.
    pub fn observe_latency(&self, seconds: f64) {
        for (bound, counter) in LATENCY_BUCKETS_S.iter().zip(&self.latency_counts) {
            if seconds <= *bound {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// Sets gauge `name` (with its help text) to `value`.
    pub fn set_gauge(&self, name: &'static str, help: &'static str, value: i64) {
        self.gauges
            .lock()
            .expect("metrics lock")
            .insert(name, (help, value));
    }

    /// A gauge's current value, if set.
    pub fn gauge(&self, name: &str) -> Option<i64> {
        self.gauges
            .lock()
            .expect("metrics lock")
            .get(name)
            .map(|(_, value)| *value)
    }

    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP groundwork_telemetry_accepted_total Messages durably accepted.\n# TYPE groundwork_telemetry_accepted_total counter\n");
        out.push_str(&format!(
            "groundwork_telemetry_accepted_total {}\n",
            self.accepted.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP groundwork_telemetry_duplicate_total Messages acknowledged again as duplicates.\n# TYPE groundwork_telemetry_duplicate_total counter\n");
        out.push_str(&format!(
            "groundwork_telemetry_duplicate_total {}\n",
            self.duplicates.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP groundwork_telemetry_rejected_total Messages rejected, by reason.\n# TYPE groundwork_telemetry_rejected_total counter\n");
        for (reason, count) in self.rejected.lock().expect("metrics lock").iter() {
            out.push_str(&format!(
                "groundwork_telemetry_rejected_total{{reason=\"{reason}\"}} {count}\n"
            ));
        }
        out.push_str("# HELP groundwork_requests_refused_total Telemetry requests refused as a whole, by reason.\n# TYPE groundwork_requests_refused_total counter\n");
        for (reason, count) in self.refused_requests.lock().expect("metrics lock").iter() {
            out.push_str(&format!(
                "groundwork_requests_refused_total{{reason=\"{reason}\"}} {count}\n"
            ));
        }
        out.push_str("# HELP groundwork_ingest_latency_seconds Time from request to acknowledgement.\n# TYPE groundwork_ingest_latency_seconds histogram\n");
        for (bound, counter) in LATENCY_BUCKETS_S.iter().zip(&self.latency_counts) {
            out.push_str(&format!(
                "groundwork_ingest_latency_seconds_bucket{{le=\"{bound}\"}} {}\n",
                counter.load(Ordering::Relaxed)
            ));
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        out.push_str(&format!(
            "groundwork_ingest_latency_seconds_bucket{{le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "groundwork_ingest_latency_seconds_sum {}\n",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        ));
        out.push_str(&format!(
            "groundwork_ingest_latency_seconds_count {count}\n"
        ));
        for (name, (help, value)) in self.gauges.lock().expect("metrics lock").iter() {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
            ));
        }
        out
    }
}
