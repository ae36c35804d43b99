//! The subcommands and their exit statuses: 0 answered, 2 invalid request, 1 anything else.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use userql_dialects::Dialect;
use userql_directory::generate::{generate, generate_changes, generate_with_progress, GenOptions};
use userql_directory::save::{save_json, save_ndjson};
use userql_engine::Engine;

use crate::args::{
    ApplyArgs, CheckArgs, Cli, Command, ExplainArgs, Format, GenArgs, GenFormat, QueryArgs,
};
use crate::data::{self, ChangesError, DataError, PrepareError};
use crate::output;
use crate::repl;
use crate::request::{self, Settings};
use crate::state::{self, StateFailure};

/// What ended a subcommand other than an answer.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// The request is invalid; the diagnostic has been printed (exit status 2).
    #[error("invalid request")]
    Invalid,
    /// The data file could not be loaded (exit status 1).
    #[error(transparent)]
    Data(#[from] DataError),
    /// A state directory could not be used, or a batch was refused (exit status 1).
    #[error(transparent)]
    State(#[from] StateFailure),
    /// A changes file was refused or unreadable (exit status 1).
    #[error(transparent)]
    Changes(#[from] ChangesError),
    /// Reading or writing failed (exit status 1).
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Invalid => ExitCode::from(2),
            Failure::Data(_) | Failure::Changes(_) | Failure::State(_) | Failure::Io { .. } => {
                ExitCode::from(1)
            }
        }
    }

    /// An I/O failure while doing `what`.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Failure::Io {
            what: what.into(),
            source,
        }
    }
}

impl From<PrepareError> for Failure {
    fn from(error: PrepareError) -> Failure {
        match error {
            PrepareError::Data(e) => Failure::Data(e),
            PrepareError::Changes(e) => Failure::Changes(e),
            PrepareError::State(e) => Failure::State(e),
        }
    }
}

/// Parses the command line, runs it, and maps the outcome to an exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => repl::run(&cli.repl),
        Some(Command::Repl(args)) => repl::run(&args),
        Some(Command::Query(args)) => query(&args),
        Some(Command::Check(args)) => check(&args),
        Some(Command::Explain(args)) => explain(&args),
        Some(Command::Gen(args)) => gen(&args),
        Some(Command::Apply(args)) => apply(&args),
        Some(Command::Checkpoint(args)) => state::checkpoint(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !matches!(failure, Failure::Invalid) {
                eprintln!("userql: {failure}");
            }
            failure.exit_code()
        }
    }
}

/// Writes to standard output; a closed pipe (`userql … | head`) is not an error.
pub fn emit(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::io("writing standard output", e))
        }
        _ => Ok(()),
    }
}

fn warn_ignored(settings: &Settings) {
    let ignored = settings.ignored_options();
    if !ignored.is_empty() {
        eprintln!(
            "userql: note: {} only apply to --dialect hub; ignored",
            ignored.join(", ")
        );
    }
}

/// The diagnostic of a refused request: for Hub the input with a caret under the span; for
/// other APIs the message naming the param, then the input with a caret under that param.
pub fn diagnostic(error: &userql_dialects::DialectError, input: &str) -> String {
    let mut text = match &error.engine {
        Some(engine) => {
            let (engine_error, source) = &**engine;
            request::render_engine_error(engine_error, source)
        }
        None => error.render(),
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if error.engine.is_none() {
        text.push_str(&format!("  | {input}\n"));
        if let Some((start, end)) = blamed_param(&error.message, input) {
            let indent = input[..start].chars().count();
            let width = input[start..end].chars().count().max(1);
            text.push_str(&format!(
                "  | {}{}\n",
                " ".repeat(indent),
                "^".repeat(width)
            ));
        }
    }
    text
}

/// The `key=value` segment of a raw query string whose key the message names (as a whole word;
/// the longest such key wins, so `user_id` beats `id`), as a byte range of `input`.
fn blamed_param(message: &str, input: &str) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let names = |key: &str| {
        message.match_indices(key).any(|(at, _)| {
            let before = message[..at].chars().next_back();
            let after = message[at + key.len()..].chars().next();
            !before.is_some_and(is_word) && !after.is_some_and(is_word)
        })
    };
    let mut best: Option<(usize, usize, usize)> = None;
    let mut start = 0;
    for segment in input.split('&') {
        let end = start + segment.len();
        let raw_key = segment.split('=').next().unwrap_or("");
        let key = userql_dialects::params::decode_component(raw_key);
        let longer = match best {
            Some((_, _, len)) => key.len() > len,
            None => true,
        };
        if !key.is_empty() && longer && names(&key) {
            best = Some((start, end, key.len()));
        }
        start = end + 1;
    }
    best.map(|(start, end, _)| (start, end))
}

fn query(args: &QueryArgs) -> Result<(), Failure> {
    let loaded = data::load_args(&args.data)?;
    let settings = Settings::from(&args.request);
    warn_ignored(&settings);
    let engine = Engine::default();
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let (answer, _) = request::run(&loaded.snapshot, &engine, &settings, &args.input);
    if let Some(error) = &answer.error {
        eprint!("{}", diagnostic(error, &args.input));
        if let Some(body) = output::render_error(format, &answer) {
            emit(&body)?;
        }
        return Err(Failure::Invalid);
    }
    let mut text = output::render(format, &answer, &loaded.snapshot);
    if format == Format::Table {
        text.push_str(&output::summary(&answer, &settings, None));
        text.push('\n');
    }
    emit(&text)?;
    if args.explain {
        match request::explain(&loaded.snapshot, &engine, &settings, &args.input) {
            Ok(plan) => eprintln!("{plan}"),
            Err(message) => eprint!("explain: {message}"),
        }
    }
    Ok(())
}

fn check(args: &CheckArgs) -> Result<(), Failure> {
    let loaded = data::load_args(&args.data)?;
    let settings = Settings::from(&args.request);
    warn_ignored(&settings);
    let engine = Engine::default();
    if settings.dialect != Dialect::Hub {
        return match request::hub_form(&loaded.snapshot, &engine, &settings, &args.input) {
            Ok(hub) => emit(&format!("{hub}\n")),
            Err(error) => {
                eprint!("{}", diagnostic(&error, &args.input));
                Err(Failure::Invalid)
            }
        };
    }
    let invalid = |text: String| {
        eprint!("{text}");
        Failure::Invalid
    };
    let request =
        request::hub_request(&engine, &settings, &args.input).map_err(|e| invalid(e.render()))?;
    engine
        .bind(&loaded.snapshot, &request)
        .map_err(|e| invalid(request::render_engine_error(&e, &args.input)))?;
    let mut text = request.query.to_string();
    let options: Vec<String> = [
        ("fields", &settings.fields),
        ("orderBy", &settings.order_by),
        ("$skip", &settings.skip),
        ("$top", &settings.top),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}: {v}")))
    .collect();
    if !options.is_empty() {
        text.push_str(&format!("  [{}]", options.join(", ")));
    }
    emit(&format!("{text}\n"))
}

fn explain(args: &ExplainArgs) -> Result<(), Failure> {
    let loaded = data::load_args(&args.data)?;
    let settings = Settings::from(&args.request);
    let engine = Engine::default();
    match request::explain(&loaded.snapshot, &engine, &settings, &args.input) {
        Ok(plan) => emit(&format!("{plan}\n")),
        Err(message) => {
            eprint!("{message}");
            Err(Failure::Invalid)
        }
    }
}

fn gen(args: &GenArgs) -> Result<(), Failure> {
    let options = GenOptions {
        users: args.users,
        seed: args.seed,
    };
    let format = args.format.unwrap_or_else(|| {
        let extension = args
            .out
            .as_ref()
            .and_then(|p| p.extension())
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("ndjson") | Some("jsonl") => GenFormat::Ndjson,
            _ => GenFormat::Json,
        }
    });
    let model = if std::io::stderr().is_terminal() {
        generate_with_progress(&options)
    } else {
        generate(&options)
    };
    let bytes = match (args.changes, format) {
        (Some(count), _) => changes_file(&generate_changes(&model, count, args.seed)),
        (None, GenFormat::Json) => save_json(&model),
        (None, GenFormat::Ndjson) => save_ndjson(&model),
    };
    write_out(args.out.as_deref(), &bytes)
}

/// A changes file: the header, then one change per line.
fn changes_file(changes: &[userql_directory::changes::Change]) -> Vec<u8> {
    let mut out = format!(
        "{{\"format\": \"{}\"}}\n",
        userql_directory::changes::FORMAT
    )
    .into_bytes();
    for change in changes {
        // A `Change` is plain data; serializing it to a Vec cannot fail.
        if serde_json::to_writer(&mut out, change).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// `userql apply`: durably into `--state`, or into the file `--out`.
fn apply(args: &ApplyArgs) -> Result<(), Failure> {
    match (&args.state, &args.data, &args.out) {
        (Some(dir), seed, _) => state::apply(dir, seed.as_deref(), args),
        (None, Some(data), Some(out)) => apply_to_file(data, out, &args.changes),
        _ => Err(Failure::io(
            "apply",
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "expected --state DIR, or --data FILE and --out NEW",
            ),
        )),
    }
}

/// The directory after the changes, in the format of `out`'s extension.
fn apply_to_file(
    data: &std::path::Path,
    out: &std::path::Path,
    changes: &[std::path::PathBuf],
) -> Result<(), Failure> {
    let extension = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let save = match extension.as_deref() {
        Some("json") => save_json,
        Some("ndjson") | Some("jsonl") => save_ndjson,
        other => {
            let message = format!(
                "unknown extension {:?}: expected .json, .ndjson or .jsonl",
                other.unwrap_or("")
            );
            return Err(Failure::io(
                format!("cannot write {}", out.display()),
                std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
            ));
        }
    };
    let loaded = data::load(Some(data))?;
    let store = data::store_of(&loaded);
    for path in changes {
        data::apply_file(&store, path)?;
    }
    let bytes = save(&store.snapshot().model);
    write_out(Some(out), &bytes)
}

/// Writes `bytes` to `out`, or to standard output (a closed pipe is not an error).
fn write_out(out: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Failure> {
    match out {
        Some(path) => std::fs::write(path, bytes)
            .map_err(|e| Failure::io(format!("writing {}", path.display()), e)),
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(bytes).and_then(|()| out.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    Err(Failure::io("writing standard output", e))
                }
                _ => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::blamed_param;

    #[test]
    fn the_named_param_is_blamed() {
        let input = "id=5&per_page=0&user_id=x";
        assert_eq!(
            blamed_param("per_page has a value not allowed", input),
            Some((5, 15))
        );
        assert_eq!(blamed_param("user_id is invalid", input), Some((16, 25)));
        assert_eq!(blamed_param("something else", input), None);
    }
}
