//! The `userql serve` command: load the directory, read or make tokens, bind, print
//! `listening on http://ADDR` to standard error once ready, serve until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::net::TcpListener;
use userql_dialects::route::{Clock, Service, ServiceOptions, Tokens, TokensError};
use userql_dialects::Settings;
use userql_directory::error::LoadErrors;
use userql_directory::{generate, load_path, Store};
use userql_engine::{Engine, Options};

use crate::{app, serve, Limits};

/// Everything `userql serve` takes.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The directory file; `None` = the built-in demo directory.
    pub data: Option<PathBuf>,
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
    #[error("cannot load {}:\n{errors}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// Every problem found.
        errors: LoadErrors,
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
        source: TokensError,
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

/// Runs `userql serve` to completion (until a signal).
pub fn run(options: ServeOptions) -> Result<(), ServeError> {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let model = match &options.data {
        Some(path) => load_path(path).map_err(|errors| ServeError::Data {
            path: path.clone(),
            errors,
        })?,
        None => generate::demo(),
    };
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
    runtime.block_on(async move {
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
        let service = Service::new(
            Store::new(model),
            ServiceOptions {
                tokens,
                settings: Settings {
                    gitlab_url: base.clone(),
                    tfe_url: base,
                    ..Settings::default()
                },
                clock: options.now.map_or(Clock::System, Clock::Fixed),
                engine: Engine::new(Options::default()),
            },
        );
        eprintln!("no --state: writes live in memory only and are lost when the server stops");
        eprintln!("listening on http://{addr}");
        serve(
            listener,
            app(Arc::new(service), options.limits),
            shutdown_signal(),
        )
        .await
        .map_err(io("serving failed"))
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
