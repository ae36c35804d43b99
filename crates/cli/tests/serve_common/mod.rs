//! Starting and stopping `userql serve` in tests: the binary on a free loopback port, its
//! `listening on http://ADDR` line awaited, standard error drained (so the server never blocks
//! on a full pipe), and a plain HTTP/1.1 exchange for checks that need no client library.

#![allow(dead_code)] // Each test binary uses part of it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running server; killed if the test ends before stopping it.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `userql serve --listen 127.0.0.1:0 --tokens TOKENS ARGS…`.
    pub fn start(tokens: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_userql"))
            .args(["serve", "--listen", "127.0.0.1:0", "--tokens"])
            .arg(tokens)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("userql serve starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.to_string());
                } else {
                    eprintln!("server: {line}");
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the server prints `listening on http://ADDR`");
        Server { child, url }
    }

    /// Sends `signal` (`TERM`, `KILL`, …) and waits for the process to end.
    pub fn stop(mut self, signal: &str) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args([format!("-{signal}").as_str(), &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
        self.child.wait().expect("the server exits")
    }

    /// One request (`Connection: close`); returns the status and the body.
    pub fn request(&self, method: &str, target: &str, token: &str, json: &str) -> (u16, String) {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let head = format!(
            "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nPRIVATE-TOKEN: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            json.len()
        );
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(json.as_bytes()).expect("write body");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("read response");
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

/// Writes a tokens file with one admin token into `dir` and returns its path.
pub fn admin_tokens(dir: &Path, token: &str) -> std::path::PathBuf {
    let path = dir.join("tokens.json");
    std::fs::write(
        &path,
        format!(r#"{{"tokens": [{{"token": "{token}", "viewer": "admin"}}]}}"#),
    )
    .expect("write tokens");
    path
}
