//! The client side of a load run: `connections` keep-alive HTTP/1.1 connections on loopback,
//! each sending one prepared request at a time and reading its whole response (status and
//! `Content-Length` from `httparse`), until the phase's request count or deadline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::mix::{Mix, Prepared};

/// Latencies of the answered requests and the count of failures (5xx or a broken connection),
/// by route label.
pub type Samples = BTreeMap<&'static str, (Vec<Duration>, u64)>;

/// One phase's settings.
#[derive(Debug, Clone, Copy)]
pub struct Phase {
    /// Concurrent connections.
    pub connections: usize,
    /// Most requests sent.
    pub requests: u64,
    /// Most time spent sending.
    pub duration: Duration,
    /// Percentage of writes.
    pub write_percent: u64,
}

/// Why a response could not be read.
#[derive(Debug, thiserror::Error)]
enum ExchangeError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("malformed response head")]
    Head,
}

/// Largest response head accepted (the server's are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;

/// Sends `request` and reads its response into `buf`; returns the status.
async fn exchange(
    stream: &mut TcpStream,
    request: &Prepared,
    buf: &mut Vec<u8>,
) -> Result<u16, ExchangeError> {
    stream.write_all(&request.wire).await?;
    buf.clear();
    let (status, head_len, body_len) = loop {
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        match response.parse(buf) {
            Ok(httparse::Status::Complete(head_len)) => {
                let status = response.code.ok_or(ExchangeError::Head)?;
                let body_len = response
                    .headers
                    .iter()
                    .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                    .and_then(|h| std::str::from_utf8(h.value).ok())
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .ok_or(ExchangeError::Head)?;
                break (status, head_len, body_len);
            }
            Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => {}
            _ => return Err(ExchangeError::Head),
        }
    };
    while buf.len() < head_len + body_len {
        if stream.read_buf(buf).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
    }
    Ok(status)
}

/// Runs one phase against `addr`: every connection takes the next request number from a shared
/// counter and stops at `phase.requests` or `phase.duration`, whichever comes first. Returns
/// the samples and the phase's wall-clock time.
pub async fn run_phase(addr: SocketAddr, mix: Arc<Mix>, phase: Phase) -> (Samples, Duration) {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + phase.duration;
    let mut connections = Vec::with_capacity(phase.connections);
    for _ in 0..phase.connections {
        let (counter, mix) = (Arc::clone(&counter), Arc::clone(&mix));
        connections.push(tokio::spawn(async move {
            let mut samples = Samples::new();
            let Ok(mut stream) = TcpStream::connect(addr).await else {
                return samples;
            };
            let _ = stream.set_nodelay(true);
            let mut buf = Vec::with_capacity(64 * 1024);
            loop {
                let i = counter.fetch_add(1, Ordering::Relaxed);
                if i >= phase.requests || Instant::now() >= deadline {
                    break;
                }
                let request = mix.request(i, phase.write_percent);
                let sent = Instant::now();
                let status = exchange(&mut stream, request, &mut buf).await;
                let entry = samples.entry(request.label).or_default();
                match status {
                    Ok(status) if status < 500 => entry.0.push(sent.elapsed()),
                    Ok(_) => entry.1 += 1,
                    Err(_) => {
                        entry.1 += 1;
                        match TcpStream::connect(addr).await {
                            Ok(fresh) => stream = fresh,
                            Err(_) => break,
                        }
                    }
                }
            }
            samples
        }));
    }
    let mut all = Samples::new();
    for connection in connections {
        if let Ok(samples) = connection.await {
            for (label, (times, errors)) in samples {
                let entry = all.entry(label).or_default();
                entry.0.extend(times);
                entry.1 += errors;
            }
        }
    }
    (all, started.elapsed())
}
