//! The subcommands and their exit statuses: 0 answered, 2 invalid request, 1 anything else.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;
use userql_dialects::Dialect;
use userql_directory::generate::{generate, generate_changes, generate_with_progress, GenOptions};
use userql_directory::save::{save_json, save_ndjson};
use userql_engine::Engine;

use crate::args::{
    ApplyArgs, CheckArgs, Cli, Command, CompletionsArgs, ExplainArgs, Format, GenArgs, GenFormat,
    PgCommand, QueryArgs, ServeArgs, Shell,
};
use crate::data;
use crate::failure::{diagnostic, emit, Failure};
use crate::output;
use crate::pg;
use crate::repl;
use crate::request::{self, Settings};
use crate::state;

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
        Some(Command::Completions(args)) => completions(&args),
        Some(Command::Serve(args)) => serve(&args),
        Some(Command::Sql(args)) => pg::sql(&args),
        Some(Command::Pg(PgCommand::Load(args))) => pg::load(&args),
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

/// `userql serve`: everything is in `userql_server`, the worked example of embedding userql.
fn serve(args: &ServeArgs) -> Result<(), Failure> {
    if !args.data.changes.is_empty() {
        return Err(Failure::io(
            "userql serve",
            std::io::Error::other(
                "--changes is not taken by serve: apply changes through the write routes, or with `userql apply --state DIR` before serving",
            ),
        ));
    }
    userql_server::run(userql_server::ServeOptions {
        data: args.data.data.clone(),
        state: args.data.state.clone(),
        listen: args.listen.clone(),
        tokens: args.tokens.clone(),
        base_url: args.base_url.clone(),
        limits: userql_server::Limits {
            max_body: args.max_body,
            max_inflight: args.max_inflight as usize,
            time_budget: std::time::Duration::from_millis(args.time_budget_ms),
            ..userql_server::Limits::default()
        },
        now: args.now,
    })
    .map_err(|e| Failure::io("userql serve", std::io::Error::other(e.to_string())))
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

/// INPUT: the argument, or standard input when it is `-`, or missing while standard input is
/// not a terminal (`echo 'has: 2FA' | userql query`). One trailing line end is dropped.
fn read_input(argument: Option<&str>) -> Result<String, Failure> {
    let from_stdin = match argument {
        Some("-") => true,
        Some(_) => false,
        None => !std::io::stdin().is_terminal(),
    };
    if !from_stdin {
        return Ok(argument.unwrap_or_default().to_owned());
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .map_err(|e| Failure::io("reading INPUT from standard input", e))?;
    let trimmed = text.strip_suffix('\n').unwrap_or(&text);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    Ok(trimmed.to_owned())
}

fn query(args: &QueryArgs) -> Result<(), Failure> {
    let input = read_input(args.input.as_deref())?;
    let local = args.data.data.is_some() || args.data.state.is_some();
    if let Some(url) = pg::backend_url(&args.backend, local) {
        return pg::query(args, &input, &url);
    }
    let loaded = data::load_args(&args.data)?;
    let settings = Settings::from(&args.request);
    warn_ignored(&settings);
    let engine = Engine::default();
    let terminal = std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if terminal {
        Format::Table
    } else {
        Format::Json
    });
    let (answer, _) = request::run(&loaded.snapshot, &engine, &settings, &input);
    if let Some(error) = &answer.error {
        eprint!("{}", diagnostic(error, &input));
        if let Some(body) = output::render_error(format, &answer) {
            emit(&body)?;
        }
        return Err(Failure::Invalid);
    }
    let mut text = output::render(format, &answer, &loaded.snapshot);
    if format == Format::Table {
        // The summary is for people: on standard output only when a person reads it there.
        let summary = output::summary(&answer, &settings, None);
        if terminal {
            text.push_str(&summary);
            text.push('\n');
        } else {
            eprintln!("{summary}");
        }
    }
    emit(&text)?;
    if args.explain {
        match request::explain_answer(&loaded.snapshot, &engine, &settings, &answer, &input) {
            Ok(plan) => eprintln!("{plan}"),
            Err(message) => eprint!("explain: {message}"),
        }
    }
    Ok(())
}

fn check(args: &CheckArgs) -> Result<(), Failure> {
    let input = read_input(args.input.as_deref())?;
    let loaded = data::load_args(&args.data)?;
    let settings = Settings::from(&args.request);
    warn_ignored(&settings);
    let engine = Engine::default();
    if settings.dialect != Dialect::Hub {
        return match request::hub_form(&loaded.snapshot, &engine, &settings, &input) {
            Ok(hub) => emit(&format!("{hub}\n")),
            Err(error) => {
                eprint!("{}", diagnostic(&error, &input));
                Err(Failure::Invalid)
            }
        };
    }
    let invalid = |error: userql_engine::Error| {
        let source = settings.source_of(&error, &input);
        eprint!("{}", crate::failure::render_engine_error(&error, source));
        Failure::Invalid
    };
    let request = engine
        .hub_request(
            &settings.hub_params(&input),
            settings.viewer.clone(),
            settings.now(),
        )
        .map_err(invalid)?;
    engine.bind(&loaded.snapshot, &request).map_err(invalid)?;
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
    let input = read_input(args.input.as_deref())?;
    let local = args.data.data.is_some() || args.data.state.is_some();
    if let Some(url) = pg::backend_url(&args.backend, local) {
        return pg::explain(args, &input, &url);
    }
    let loaded = data::load_args(&args.data)?;
    let settings = Settings::from(&args.request);
    let engine = Engine::default();
    match request::explain(&loaded.snapshot, &engine, &settings, &input) {
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
    let format = gen_format(args)?;
    let model = if std::io::stderr().is_terminal() {
        generate_with_progress(&options)
    } else {
        generate(&options)
    };
    let bytes = {
        let _progress = data::Progress::start(
            format!("serialising {} users", model.users.count()),
            model.users.count() >= data::PROGRESS_USERS,
        );
        match (args.changes, format) {
            (Some(count), _) => changes_file(&generate_changes(&model, count, args.seed)),
            (None, GenFormat::Json) => save_json(&model),
            (None, GenFormat::Ndjson) => save_ndjson(&model),
        }
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

/// `userql apply`: durably into a state directory, or from a directory file to a new file.
fn apply(args: &ApplyArgs) -> Result<(), Failure> {
    if let Some(url) = &args.backend.backend {
        return pg::apply(args, url);
    }
    if let Some(dir) = &args.state {
        return state::apply(dir, args);
    }
    // clap requires `--data` and `--out` when `--state` is missing.
    let (Some(data), Some(out)) = (&args.data, &args.out) else {
        return Err(Failure::Invalid);
    };
    let save = match format_of(out)? {
        GenFormat::Json => save_json,
        GenFormat::Ndjson => save_ndjson,
    };
    let loaded = data::load(Some(data))?;
    let store = data::store_of(&loaded);
    for path in &args.changes {
        data::apply_file(&store, path)?;
    }
    let bytes = save(&store.snapshot().model);
    write_out(Some(out), &bytes)
}

/// Writes `bytes` to `out`, or to standard output (a closed pipe is not an error).
fn write_out(out: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), Failure> {
    match out {
        Some(path) => {
            let _progress = data::Progress::start(
                format!("writing {}", path.display()),
                bytes.len() as u64 >= data::PROGRESS_BYTES,
            );
            std::fs::write(path, bytes)
                .map_err(|e| Failure::io(format!("writing {}", path.display()), e))
        }
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

/// The file format of `gen`: taken from `--out`'s extension, which must be one userql reads
/// back; `--format`, when also given, must agree with it.
fn gen_format(args: &GenArgs) -> Result<GenFormat, Failure> {
    let Some(path) = &args.out else {
        return Ok(args.format.unwrap_or(GenFormat::Json));
    };
    let from_extension = format_of(path)?;
    match args.format {
        Some(format) if format != from_extension => Err(Failure::Usage(format!(
            "--format {} disagrees with the extension of {}",
            match format {
                GenFormat::Json => "json",
                GenFormat::Ndjson => "ndjson",
            },
            path.display()
        ))),
        _ => Ok(from_extension),
    }
}

/// The directory format a path's extension names (`.json`, `.ndjson`, `.jsonl`); any other
/// extension is refused, so userql never writes a file it would not read back.
fn format_of(path: &std::path::Path) -> Result<GenFormat, Failure> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("json") => Ok(GenFormat::Json),
        Some("ndjson") | Some("jsonl") => Ok(GenFormat::Ndjson),
        _ => Err(Failure::Usage(format!(
            "cannot write {}: the extension must be .json, .ndjson or .jsonl",
            path.display()
        ))),
    }
}

fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    use clap::CommandFactory;
    let mut command = Cli::command();
    let mut script = Vec::new();
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    clap_complete::generate(shell, &mut command, "userql", &mut script);
    emit(&String::from_utf8_lossy(&script))
}
