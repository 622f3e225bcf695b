//! Facts about this process the benchmarks report.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A `/proc/self/status` field in MiB (0 where /proc is missing).
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with(field))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// The process's peak resident memory so far in MiB (`VmHWM`: what it allocated and the
/// file pages it maps; 0 where /proc is missing).
pub fn peak_memory_mib() -> f64 {
    status_mib("VmHWM:")
}

/// Samples the memory the process allocated (`RssAnon`: not the file pages it maps, which
/// the kernel can drop at any time) every 20 ms, keeping the peak.
pub struct AllocatedPeak {
    stop: Arc<AtomicBool>,
    sampler: std::thread::JoinHandle<f64>,
}

impl AllocatedPeak {
    pub fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak = 0f64;
            while !stopped.load(Ordering::Relaxed) {
                peak = peak.max(status_mib("RssAnon:"));
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            peak.max(status_mib("RssAnon:"))
        });
        AllocatedPeak { stop, sampler }
    }

    /// The peak in MiB.
    pub fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap_or(0.0)
    }
}

/// Resets the peak that [`peak_memory_mib`] reads to the current resident memory (Linux
/// `clear_refs` 5; nothing elsewhere), so one benchmark step's peak is its own.
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
