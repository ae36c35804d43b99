//! `/metrics` in the Prometheus text format: requests by route and status, a latency histogram,
//! and the store's gauges (directory version, users, dirty rows, last index rebuild).
//!
//! Routes are the router's templates (`GET /api/v4/users/:id`), a bounded set, so the label
//! space stays small whatever clients send.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use userql::{HttpResponse, Stats};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Counters shared by every request.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
    refused_overload: AtomicU64,
    timed_out: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, route: &'static str, status: u16, elapsed: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((route, status))
            .or_default() += 1;
        // One increment per request, in the smallest bucket that holds it; the exposition
        // sums them into Prometheus's cumulative buckets.
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .and_then(|i| self.buckets.get(i))
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    /// Counts a request refused because too many were in flight.
    pub fn overloaded(&self) {
        self.refused_overload.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request that ran out of time.
    pub fn timed_out(&self) {
        self.timed_out.fetch_add(1, Ordering::Relaxed);
    }

    /// The `/metrics` response.
    pub fn response(&self, stats: &Stats) -> HttpResponse {
        HttpResponse::new(200, "text/plain; version=0.0.4", self.render(stats))
    }

    /// The exposition text.
    pub fn render(&self, stats: &Stats) -> String {
        let mut out = String::new();
        out.push_str("# HELP userql_requests_total Requests answered, by route and status.\n");
        out.push_str("# TYPE userql_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            let route = route.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "userql_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str("# HELP userql_request_seconds Time to answer a request.\n");
        out.push_str("# TYPE userql_request_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "userql_request_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "userql_request_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "userql_request_seconds_sum {}",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "userql_request_seconds_count {count}");
        let last_rebuild = stats
            .last_rebuild
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let gauges = [
            (
                "userql_refused_overload_total",
                "counter",
                "Requests refused with 503 because too many were in flight.",
                self.refused_overload.load(Ordering::Relaxed),
            ),
            (
                "userql_timed_out_total",
                "counter",
                "Requests answered 503 because they ran past the time budget.",
                self.timed_out.load(Ordering::Relaxed),
            ),
            (
                "userql_directory_version",
                "gauge",
                "Batches applied to the live directory.",
                stats.version,
            ),
            (
                "userql_directory_users",
                "gauge",
                "Users in the live directory.",
                stats.users as u64,
            ),
            (
                "userql_directory_dirty_rows",
                "gauge",
                "Rows changed since the last index rebuild.",
                stats.dirty_rows,
            ),
            (
                "userql_index_rebuilds_total",
                "counter",
                "Index rebuilds since the server started.",
                stats.rebuilds,
            ),
            (
                "userql_index_last_rebuild_timestamp_seconds",
                "gauge",
                "When the current indexes were published (Unix time; the start, before any rebuild).",
                last_rebuild,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histogram_and_gauges() {
        let metrics = Metrics::default();
        metrics.record("GET /api/v4/users", 200, Duration::from_millis(3));
        metrics.record("GET /api/v4/users", 200, Duration::from_millis(30));
        let store = userql::Store::new(userql::Directory::generate(5, 1));
        let text = metrics.render(&store.stats());
        assert!(
            text.contains("userql_requests_total{route=\"GET /api/v4/users\",status=\"200\"} 2")
        );
        assert!(text.contains("userql_request_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("userql_request_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("userql_request_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("userql_request_seconds_bucket{le=\"2.5\"} 2"));
        assert!(text.contains("userql_request_seconds_count 2"));
        assert!(text.contains("userql_directory_users 5"));
        assert!(text.contains("userql_index_rebuilds_total 0"));
        assert!(text.contains("\nuserql_index_last_rebuild_timestamp_seconds "));
    }
}
