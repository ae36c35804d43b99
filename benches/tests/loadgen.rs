//! The load generator against a small in-process server: every prepared request is answered
//! (no 5xx, no broken connection), each phase stops at its request count, and the report
//! carries the CPU line.

use std::sync::Arc;
use std::time::Duration;

use userql_benches::loadgen::{self, CpuUse, Mix, Phase};
use userql_server::{app, serve};

#[test]
fn a_bounded_phase_gets_every_request_answered() {
    let users = 300;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (samples, _) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            app(Arc::new(loadgen::store(users)), loadgen::limits()),
            async {
                let _ = stopped.await;
            },
        ));
        let phase = Phase {
            connections: 4,
            requests: 200,
            duration: Duration::from_secs(60),
            write_percent: 5,
        };
        let result = loadgen::run_phase(addr, Arc::new(Mix::new(users)), phase).await;
        let _ = stop.send(());
        let _ = server.await;
        result
    });
    let answered: usize = samples.values().map(|(times, _)| times.len()).sum();
    let failed: u64 = samples.values().map(|(_, errors)| errors).sum();
    assert_eq!((answered, failed), (200, 0), "{samples:?}");
    assert!(samples.contains_key("gitlab PUT user (write)"));
    assert!(samples.contains_key("hub query"));
    assert_eq!(samples.len(), 9, "six reads and three writes");

    let report = loadgen::report("smoke", samples, Duration::from_secs(1), CpuUse::default());
    assert!(report.contains("| **all** | 200 |"), "{report}");
    assert!(
        report.contains("process (server and client) CPU unknown"),
        "{report}"
    );
}
