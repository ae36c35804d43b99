//! The command line, declared with clap: every flag of `docs/cli.md`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use userql_dialects::Dialect;
use userql_engine::Viewer;

/// `userql`: without a subcommand, the REPL.
#[derive(Debug, Parser)]
#[command(
    name = "userql",
    version,
    about = "Query a user directory in Hub's query language, or as GitLab, Terraform Enterprise or ArcGIS would",
    args_conflicts_with_subcommands = true,
    after_help = HELP_FOOTER
)]
pub struct Cli {
    /// What to do; none = `repl`.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the REPL when no subcommand is given.
    #[command(flatten)]
    pub repl: ReplArgs,
}

/// The exit statuses, shown after `--help` (one literal, used by two `concat!`s).
macro_rules! exit_status {
    () => {
        "Exit status:
  0  answered (an empty result is an answer)
  1  unreadable or invalid data file, I/O error
  2  invalid request or command line (the diagnostic is on standard error)"
    };
}

/// Examples and exit statuses, after the top-level `--help`.
pub const HELP_FOOTER: &str = concat!(
    "Examples:
  userql                                         REPL on the built-in demo directory
  userql query --data dir.json 'has: 2FA and not is: banned'
  userql query --dialect gitlab --format http 'active=true&per_page=5'
  echo 'in: {Engineering}' | userql query --format ids
  userql check --dialect tfe 'q=smith&filter[admin]=true'
  userql explain 'state: active has: 2FA'
  userql < queries.txt                           one answer a line; stops at the first bad line
  userql gen --users 100000 --seed 42 --out big.ndjson
  userql completions bash > /etc/bash_completion.d/userql

",
    exit_status!()
);

/// Exit statuses, after a subcommand's `--help`.
pub const EXIT_STATUS: &str = exit_status!();

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless the `NO_COLOR` environment variable is set and not empty.
    Auto,
    /// Always (even into a pipe).
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour a stream that is (or is not) a terminal.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Interactive queries with completion, highlighting and history.
    #[command(after_help = EXIT_STATUS)]
    Repl(ReplArgs),
    /// Answer one request and print the response.
    #[command(after_help = EXIT_STATUS)]
    Query(QueryArgs),
    /// Parse and bind a request without evaluating it; print its canonical Hub form.
    #[command(after_help = EXIT_STATUS)]
    Check(CheckArgs),
    /// Answer a request and print the plan with estimated and actual row counts.
    #[command(after_help = EXIT_STATUS)]
    Explain(ExplainArgs),
    /// Generate a synthetic directory (same seed, same bytes).
    Gen(GenArgs),
    /// Apply changes files: to a directory file (`--data FILE --out NEW`), or durably to a state
    /// directory (`--state DIR`, printing `applied VERSION` per durable batch).
    Apply(ApplyArgs),
    /// Write a checkpoint of a state directory and start a fresh log.
    Checkpoint(CheckpointArgs),
    /// Print a shell completion script (bash, zsh or fish) to standard output.
    Completions(CompletionsArgs),
    /// Serve the GitLab, Terraform Enterprise, ArcGIS and Hub APIs over HTTP.
    Serve(ServeArgs),
    /// Print the PostgreSQL statement (and its parameters) that answers INPUT.
    Sql(SqlArgs),
    /// PostgreSQL backend administration.
    #[command(subcommand)]
    Pg(PgCommand),
}

/// `userql completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Shells `completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// `userql serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Tokens file `{"tokens": [{"token", "viewer"}]}`; without it, one random admin token.
    #[arg(long, value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// External URL used in links (default `http://ADDR`).
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Option<String>,
    /// Largest request body in bytes (413 above it).
    #[arg(long = "max-body", value_name = "BYTES", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Most requests in flight at once (503 with Retry-After above it).
    #[arg(long = "max-inflight", value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_inflight: u32,
    /// Time budget of one request in milliseconds.
    #[arg(long = "time-budget-ms", value_name = "MS", default_value_t = 2000)]
    pub time_budget_ms: u64,
    /// The clock for relative dates and new records (RFC 3339); default: the system clock.
    #[arg(long, value_parser = parse_now, value_name = "TIMESTAMP")]
    pub now: Option<i64>,
}

/// `--backend URL` and `--schema NAME`: answer from PostgreSQL instead of `--data`.
#[derive(Debug, Clone, Default, Args)]
pub struct BackendArgs {
    /// libpq connection string or postgres:// URL (default: $USERQL_BACKEND when --data is not given).
    #[arg(long, value_name = "URL")]
    pub backend: Option<String>,
    /// PostgreSQL schema holding the loaded directory.
    #[arg(long, value_name = "NAME", default_value = "userql")]
    pub schema: String,
}

/// `userql sql`.
#[derive(Debug, Clone, Args)]
pub struct SqlArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub request: RequestArgs,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// The request.
    #[arg(value_name = "INPUT", default_value = "")]
    pub input: String,
}

/// `userql pg …`.
#[derive(Debug, Clone, Subcommand)]
pub enum PgCommand {
    /// Create the schema and load a directory file into it (one transaction).
    Load(PgLoadArgs),
}

/// `userql pg load`.
#[derive(Debug, Clone, Args)]
pub struct PgLoadArgs {
    /// The directory file (.json, .ndjson, .jsonl).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// Where the directory comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// A directory file (.json, or .ndjson/.jsonl); without it, the built-in demo directory.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// A changes file (userql-changes/1) applied to the directory before answering; repeatable,
    /// applied in order.
    #[arg(long, value_name = "FILE")]
    pub changes: Vec<PathBuf>,
    /// A state directory (docs/state.md) to read instead; `--data` then seeds it if it does
    /// not exist yet.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
}

/// Who asks, in which dialect, with which clock and request options.
#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// The API the INPUT is written for.
    #[arg(long, default_value = "hub", value_parser = parse_dialect, value_name = "hub|gitlab|gitlab-enterprise|tfe|arcgis")]
    pub dialect: Dialect,
    /// Who asks: `admin`, `anonymous`, or a user's login.
    #[arg(long, default_value = "admin", value_parser = parse_viewer, value_name = "admin|LOGIN|anonymous")]
    pub viewer: Viewer,
    /// The clock for relative dates (RFC 3339); default: the system clock.
    #[arg(long, value_parser = parse_now, value_name = "TIMESTAMP")]
    pub now: Option<i64>,
    /// Hub `fields` (partial response), e.g. `id,login,groups(name)`.
    #[arg(long, value_name = "FIELDS", allow_hyphen_values = true)]
    pub fields: Option<String>,
    /// Hub `orderBy`, e.g. `lastAccessTime:desc,login`.
    #[arg(long = "order-by", value_name = "ORDER", allow_hyphen_values = true)]
    pub order_by: Option<String>,
    /// Hub `$skip`.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub skip: Option<String>,
    /// Hub `$top` (`-1` = all, up to the cap).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub top: Option<String>,
}

/// `userql repl`.
#[derive(Debug, Clone, Args)]
pub struct ReplArgs {
    /// Directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// Initial dialect, viewer, clock and options.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Initial output format (default: table).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Colours (highlighting, dimmed summaries): `auto` = on a terminal unless the NO_COLOR
    /// environment variable is set; `always`; `never`. Only the REPL colours its output.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorChoice,
    /// Stop with exit status 2 at the first invalid line (default when standard input is not a
    /// terminal, so a script's mistakes are not silently skipped).
    #[arg(long, overrides_with = "no_bail")]
    pub bail: bool,
    /// Report invalid lines and go on (the default on a terminal).
    #[arg(long, overrides_with = "bail")]
    pub no_bail: bool,
}

/// `userql query`.
#[derive(Debug, Clone, Args)]
pub struct QueryArgs {
    /// Directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// Dialect, viewer, clock and options.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Output format (default: table on a terminal, json otherwise).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also print the plan (to standard error, so standard output stays the response).
    #[arg(long)]
    pub explain: bool,
    /// PostgreSQL backend.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Hub: the query text; other dialects: the raw query string `key=value&…`. `-`, or
    /// nothing while standard input is not a terminal: read from standard input.
    #[arg(value_name = "INPUT")]
    pub input: Option<String>,
}

/// `userql check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// Dialect, viewer, clock and options.
    #[command(flatten)]
    pub request: RequestArgs,
    /// Hub: the query text; other dialects: the raw query string `key=value&…`. `-`, or
    /// nothing while standard input is not a terminal: read from standard input.
    #[arg(value_name = "INPUT")]
    pub input: Option<String>,
}

/// `userql explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// Directory.
    #[command(flatten)]
    pub data: DataArgs,
    /// Dialect, viewer, clock and options.
    #[command(flatten)]
    pub request: RequestArgs,
    /// PostgreSQL backend.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Hub: the query text; other dialects: the raw query string `key=value&…`. `-`, or
    /// nothing while standard input is not a terminal: read from standard input.
    #[arg(value_name = "INPUT")]
    pub input: Option<String>,
}

/// `userql gen`.
#[derive(Debug, Clone, Args)]
pub struct GenArgs {
    /// How many users.
    #[arg(long, value_name = "N")]
    pub users: usize,
    /// RNG seed (the benchmark uses 42).
    #[arg(long, value_name = "S", default_value_t = 42)]
    pub seed: u64,
    /// File format (default: from the --out extension, else json). With --out, the extension
    /// must be .json, .ndjson or .jsonl and agree with it.
    #[arg(long, value_enum)]
    pub format: Option<GenFormat>,
    /// Output file (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a seeded stream of N changes for the generated directory (benchmark.md mix)
    /// instead of the directory itself.
    #[arg(long, value_name = "N")]
    pub changes: Option<usize>,
}

/// `userql apply --data FILE --changes CHANGES… --out NEW`, or
/// `userql apply --state DIR [--data SEED] --changes CHANGES…`, or
/// `userql apply --backend URL [--schema NAME] --changes CHANGES…`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The state directory the batches are made durable in (then `--out` is not used).
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present_any = ["out", "backend"],
        conflicts_with = "out"
    )]
    pub state: Option<PathBuf>,
    /// The directory file (.json, or .ndjson/.jsonl); with `--state`, it seeds a state directory
    /// that does not exist yet (ignored otherwise).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["state", "backend"])]
    pub data: Option<PathBuf>,
    /// A loaded PostgreSQL schema to apply the batches to, one transaction each (printing
    /// `applied N` per committed batch); `--schema NAME` picks the schema (default userql).
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Where to write the directory after the changes (.json, or .ndjson/.jsonl; any other
    /// extension is an error).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// A changes file (userql-changes/1); repeatable, applied in order.
    #[arg(long, value_name = "FILE", required = true)]
    pub changes: Vec<PathBuf>,
    /// Start a background checkpoint whenever the log reaches this many bytes (default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub checkpoint_bytes: Option<u64>,
}

/// `userql checkpoint --state DIR`.
#[derive(Debug, Clone, Args)]
pub struct CheckpointArgs {
    /// The state directory.
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
}

/// `--format` of answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The API's response body.
    Json,
    /// Status line, headers, blank line, body.
    Http,
    /// Directory ids of the returned page, one a line.
    Ids,
    /// Matches before paging.
    Count,
    /// A readable table.
    Table,
}

/// `gen --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GenFormat {
    /// One pretty JSON document.
    Json,
    /// A header line, then one object per line.
    Ndjson,
}

/// Parses `--dialect`.
pub fn parse_dialect(text: &str) -> Result<Dialect, String> {
    text.parse::<Dialect>().map_err(|e| e.to_string())
}

/// Parses `--viewer`: `admin` and `anonymous` are words, anything else a login.
pub fn parse_viewer(text: &str) -> Result<Viewer, String> {
    match text {
        "" => Err("expected admin, anonymous or a login".into()),
        t if t.eq_ignore_ascii_case("admin") => Ok(Viewer::Admin),
        t if t.eq_ignore_ascii_case("anonymous") => Ok(Viewer::Anonymous),
        login => Ok(Viewer::Login(login.to_owned())),
    }
}

/// Parses `--now` (RFC 3339) into epoch milliseconds.
pub fn parse_now(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("expected an RFC 3339 timestamp like 2026-06-15T12:00:00Z ({e})"))
}

/// The spelling of a viewer, as `--viewer` takes it.
pub fn viewer_text(viewer: &Viewer) -> String {
    match viewer {
        Viewer::Admin => "admin".into(),
        Viewer::Anonymous => "anonymous".into(),
        Viewer::Login(login) => login.clone(),
    }
}

/// The spelling of a format, as `--format` takes it.
pub fn format_text(format: Format) -> &'static str {
    match format {
        Format::Json => "json",
        Format::Http => "http",
        Format::Ids => "ids",
        Format::Count => "count",
        Format::Table => "table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn negative_tops_parse_in_both_spellings() {
        for argv in [
            vec!["userql", "query", "--top=-1", "x"],
            vec!["userql", "query", "--top", "-1", "x"],
        ] {
            let cli = Cli::try_parse_from(argv).expect("parses");
            match cli.command {
                Some(Command::Query(q)) => assert_eq!(q.request.top.as_deref(), Some("-1")),
                other => panic!("not a query: {other:?}"),
            }
        }
    }

    #[test]
    fn double_dash_ends_options() {
        let cli = Cli::try_parse_from(["userql", "query", "--", "-is: banned"]).expect("parses");
        match cli.command {
            Some(Command::Query(q)) => assert_eq!(q.input.as_deref(), Some("-is: banned")),
            other => panic!("not a query: {other:?}"),
        }
    }

    #[test]
    fn viewers_and_clocks() {
        assert_eq!(parse_viewer("admin"), Ok(Viewer::Admin));
        assert_eq!(parse_viewer("anonymous"), Ok(Viewer::Anonymous));
        assert_eq!(parse_viewer("leia"), Ok(Viewer::Login("leia".into())));
        assert_eq!(parse_now("2026-06-15T12:00:00Z"), Ok(1_781_524_800_000));
        assert!(parse_now("yesterday").is_err());
    }
}
