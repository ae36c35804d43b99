//! Timing samples and resident memory.

use std::time::{Duration, Instant};

/// Resident set size of this process in bytes (`VmRSS` from `/proc/self/status`), or `None`
/// where procfs is unavailable. Deltas around a build approximate what the build keeps: freed
/// memory the allocator reuses makes them a lower bound.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Repeated timings of one operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// Each repetition's wall time, in run order.
    pub times: Vec<Duration>,
}

impl Samples {
    /// The median (upper median for an even count); zero when empty.
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }

    /// The 99th percentile by nearest rank; with fewer than 100 samples this is the maximum.
    pub fn p99(&self) -> Duration {
        self.quantile(0.99)
    }

    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.times.clone();
        sorted.sort_unstable();
        match sorted.len() {
            0 => Duration::ZERO,
            n => {
                let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
                sorted[rank - 1]
            }
        }
    }
}

/// Runs `op` `reps` times (at least `min_reps`, stopping early once `budget` is spent), after
/// the caller's warm-up. Returns the samples and the last result.
pub fn repeat<T, E>(
    reps: usize,
    min_reps: usize,
    budget: Duration,
    mut op: impl FnMut() -> Result<T, E>,
) -> Result<(Samples, Option<T>), E> {
    let started = Instant::now();
    let mut samples = Samples::default();
    let mut last = None;
    for k in 0..reps.max(1) {
        if k >= min_reps && started.elapsed() > budget {
            break;
        }
        let t = Instant::now();
        let value = op()?;
        samples.times.push(t.elapsed());
        last = Some(value);
    }
    Ok((samples, last))
}

/// A duration in milliseconds with precision that suits its size (`0.004`, `12.5`, `1606`).
pub fn format_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}")
    } else if ms >= 10.0 {
        format!("{ms:.1}")
    } else if ms >= 1.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.3}")
    }
}

/// Bytes as MiB with one decimal.
pub fn format_mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(ms: &[u64]) -> Samples {
        Samples {
            times: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
        }
    }

    #[test]
    fn median_and_p99_use_nearest_rank() {
        let s = samples(&[5, 1, 3, 2, 4]);
        assert_eq!(s.median(), Duration::from_millis(3));
        assert_eq!(s.p99(), Duration::from_millis(5));
        assert_eq!(Samples::default().median(), Duration::ZERO);
    }

    #[test]
    fn repeat_honours_minimum_and_maximum() {
        let mut calls = 0;
        let (s, last) = repeat::<_, ()>(4, 2, Duration::ZERO, || {
            calls += 1;
            Ok(calls)
        })
        .unwrap_or_default();
        assert_eq!(s.times.len(), 2, "budget spent: stop after the minimum");
        assert_eq!(last, Some(2));
    }

    #[test]
    fn milliseconds_are_formatted_by_magnitude() {
        assert_eq!(format_ms(Duration::from_micros(4)), "0.004");
        assert_eq!(format_ms(Duration::from_micros(12_500)), "12.5");
        assert_eq!(format_ms(Duration::from_millis(1606)), "1606");
    }
}
