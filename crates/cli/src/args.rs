//! The command line, declared with clap: every flag of `spec/cli.md`.

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
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// What to do; none = `repl`.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the REPL when no subcommand is given.
    #[command(flatten)]
    pub repl: ReplArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Interactive queries with completion, highlighting and history.
    Repl(ReplArgs),
    /// Answer one request and print the response.
    Query(QueryArgs),
    /// Parse and bind a request without evaluating it; print its canonical Hub form.
    Check(CheckArgs),
    /// Answer a request and print the plan with estimated and actual row counts.
    Explain(ExplainArgs),
    /// Generate a synthetic directory (same seed, same bytes).
    Gen(GenArgs),
    /// Apply changes files: durably to a state directory (`--state`), or to a directory file
    /// written to `--out`.
    Apply(ApplyArgs),
    /// Write a checkpoint of a state directory and start a fresh log.
    Checkpoint(CheckpointArgs),
}

/// Where the directory comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct DataArgs {
    /// A directory file (.json, or .ndjson/.jsonl); without it, the built-in demo directory.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// A state directory (docs/state.md) to read instead; `--data` then seeds it if it does
    /// not exist yet.
    #[arg(long, value_name = "DIR")]
    pub state: Option<PathBuf>,
    /// A changes file (userql-changes/1) applied to the directory before answering; repeatable,
    /// applied in order.
    #[arg(long, value_name = "FILE")]
    pub changes: Vec<PathBuf>,
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
    /// Hub: the query text; other dialects: the raw query string `key=value&…`.
    #[arg(value_name = "INPUT", default_value = "")]
    pub input: String,
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
    /// Hub: the query text; other dialects: the raw query string.
    #[arg(value_name = "INPUT", default_value = "")]
    pub input: String,
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
    /// Hub: the query text; other dialects: the raw query string.
    #[arg(value_name = "INPUT", default_value = "")]
    pub input: String,
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
    /// File format (default: from the --out extension, else json).
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

/// `userql apply --data FILE --changes CHANGES --out NEW`, or
/// `userql apply --state DIR [--data SEED] --changes CHANGES`.
#[derive(Debug, Clone, Args)]
pub struct ApplyArgs {
    /// The directory file (.json, or .ndjson/.jsonl); with `--state`, the seed of a state
    /// directory that does not exist yet (ignored otherwise).
    #[arg(long, value_name = "FILE", required_unless_present = "state")]
    pub data: Option<PathBuf>,
    /// A state directory (docs/state.md): each batch is made durable, then `applied VERSION`
    /// is printed.
    #[arg(long, value_name = "DIR", conflicts_with = "out")]
    pub state: Option<PathBuf>,
    /// A changes file (userql-changes/1); repeatable, applied in order.
    #[arg(long, value_name = "FILE", required = true)]
    pub changes: Vec<PathBuf>,
    /// Where to write the directory after the changes (.json, or .ndjson/.jsonl).
    #[arg(long, value_name = "FILE", required_unless_present = "state")]
    pub out: Option<PathBuf>,
    /// With `--state`: start a background checkpoint whenever the log reaches this many bytes
    /// (default 64 MiB).
    #[arg(long, value_name = "BYTES", requires = "state")]
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
            Some(Command::Query(q)) => assert_eq!(q.input, "-is: banned"),
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
