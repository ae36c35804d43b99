//! The `userql serve` command: open the store (a directory file or the demo in memory, or a
//! durable state directory), read or make tokens, bind, print `listening on http://ADDR` to
//! standard error once ready, serve until SIGINT or SIGTERM, then close the store.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::net::TcpListener;
use userql::{Directory, Options, Store, Tokens};

use crate::{app, serve, Limits};

/// Everything `userql serve` takes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The directory file; `None` = the built-in demo directory. With `state`, it only seeds a
    /// state directory that holds no state yet.
    pub data: Option<PathBuf>,
    /// The state directory: writes are logged and fsynced before they are acknowledged, and
    /// survive restarts. `None` = writes live in memory only.
    pub state: Option<PathBuf>,
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks a free port).
    pub listen: String,
    /// The tokens file; `None` = one random admin token, printed at start.
    pub tokens: Option<PathBuf>,
    /// External URL for links (`Link`, JSON:API links, `web_url`); `None` = `http://ADDR`.
    pub base_url: Option<String>,
    /// Server limits.
    pub limits: Limits,
    /// Fixed clock (epoch ms); `None` = the system clock.
    pub now: Option<i64>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            data: None,
            state: None,
            listen: "127.0.0.1:8080".into(),
            tokens: None,
            base_url: None,
            limits: Limits::default(),
            now: None,
        }
    }
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The directory file could not be loaded.
    #[error("cannot load {}:\n{source}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        source: userql::Error,
    },
    /// The state directory could not be opened, seeded or recovered.
    #[error("{source}")]
    State {
        /// Why.
        source: userql::Error,
    },
    /// The tokens file could not be read.
    #[error("cannot read tokens file {}: {source}", path.display())]
    TokensFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The tokens file is not valid.
    #[error("{}: {source}", path.display())]
    Tokens {
        /// The file.
        path: PathBuf,
        /// Why.
        source: userql::Error,
    },
    /// Binding, the runtime or serving failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.into();
    move |source| ServeError::Io { what, source }
}

/// A fresh random admin token (32 hex digits from the OS-seeded thread RNG).
fn random_token() -> String {
    let mut rng = rand::thread_rng();
    (0..32)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Opens the store the options name, with the server's settings.
fn open_store(options: &ServeOptions, settings: Options) -> Result<Store, ServeError> {
    let Some(state) = &options.state else {
        let directory = match &options.data {
            Some(path) => Directory::open(path).map_err(|source| ServeError::Data {
                path: path.clone(),
                source,
            })?,
            None => Directory::demo(),
        };
        eprintln!("no --state: writes live in memory only and are lost when the server stops");
        return Ok(Store::with_options(directory, settings));
    };
    let opened = Store::open_state_with_options(state, options.data.as_deref(), settings.clone());
    match opened {
        // A new state directory and no --data: seed it with the demo directory.
        Err(userql::Error::State(e)) if e.is_not_seeded() && options.data.is_none() => {
            let seed = tempfile_path(state);
            std::fs::write(&seed, Directory::demo().to_ndjson())
                .map_err(io(format!("cannot write {}", seed.display())))?;
            let opened = Store::open_state_with_options(state, Some(&seed), settings);
            let _ = std::fs::remove_file(&seed);
            opened
        }
        other => other,
    }
    .map_err(|source| ServeError::State { source })
}

/// A scratch file beside the state directory for the demo seed.
fn tempfile_path(state: &std::path::Path) -> PathBuf {
    let name = format!(".userql-demo-seed-{}.ndjson", std::process::id());
    state
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(&name), |p| p.join(&name))
}

/// Installs the log of `userql serve`: one JSON line per event on standard error, filtered by
/// `RUST_LOG` (default `info`, which includes the line per request). Does nothing when a
/// global subscriber is already set. Public so that a load test's server logs as the real one.
pub fn log_to_stderr() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
}

/// Runs `userql serve` to completion (until a signal).
pub fn run(options: ServeOptions) -> Result<(), ServeError> {
    log_to_stderr();
    let tokens = match &options.tokens {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| ServeError::TokensFile {
                path: path.clone(),
                source,
            })?;
            Tokens::from_json(&text).map_err(|source| ServeError::Tokens {
                path: path.clone(),
                source,
            })?
        }
        None => {
            let token = random_token();
            eprintln!("admin token: {token}");
            Tokens::admin(token)
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(io("cannot start the async runtime"))?;
    let store = runtime.block_on(async {
        let listener = TcpListener::bind(&options.listen)
            .await
            .map_err(io(format!("cannot listen on {}", options.listen)))?;
        let addr = listener
            .local_addr()
            .map_err(io("cannot read the bound address"))?;
        let base = options
            .base_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"))
            .trim_end_matches('/')
            .to_string();
        let mut settings = Options::default()
            .gitlab_url(base.clone())
            .tfe_url(base)
            .tokens(tokens)
            .time_budget(options.limits.time_budget);
        if let Some(now) = options
            .now
            .and_then(chrono::DateTime::from_timestamp_millis)
        {
            settings = settings.now(now);
        }
        // Loading a large directory or recovering a state directory is blocking work.
        let opening = options.clone();
        let store = tokio::task::spawn_blocking(move || open_store(&opening, settings))
            .await
            .map_err(|e| ServeError::Io {
                what: "opening the store failed".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let store = Arc::new(store);
        eprintln!("listening on http://{addr}");
        serve(
            listener,
            app(Arc::clone(&store), options.limits),
            shutdown_signal(),
        )
        .await
        .map_err(io("serving failed"))?;
        Ok::<_, ServeError>(store)
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    // Every acknowledged batch is already fsynced; closing the store releases the state
    // directory's lock (a write still running past the grace period finishes first, as the
    // store is shared with it).
    drop(store);
    Ok(())
}
