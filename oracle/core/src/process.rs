//! Facts about this process the benchmarks report.

/// The process's peak resident memory so far in MiB (`VmHWM`; 0 where /proc is missing).
pub fn peak_memory_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Resets the peak that [`peak_memory_mib`] reads to the current resident memory (Linux
/// `clear_refs` 5; nothing elsewhere), so one benchmark step's peak is its own.
pub fn reset_peak_memory() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}
