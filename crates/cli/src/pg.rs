//! The PostgreSQL backend on the command line (`sql.md`): `userql sql`, `userql pg load`, and
//! `--backend URL` on `query` and `explain`. Connection and server errors exit 1 with the
//! server's message; invalid requests exit 2 with the same diagnostics as in memory.

use std::io::IsTerminal;
use std::sync::Arc;

use userql_dialects::http::{HttpResponse, JSON};
use userql_dialects::{Answer, Dialect, DialectError};
use userql_directory::Snapshot;
use userql_engine::{Engine, ErrorKind, Request};
use userql_pg::dialect::DialectRequest;
use userql_pg::{Backend, Schema};

use crate::args::{
    ApplyArgs, BackendArgs, DataArgs, ExplainArgs, Format, PgLoadArgs, QueryArgs, SqlArgs,
};
use crate::data;
use crate::failure::render_engine_error;
use crate::failure::{diagnostic, emit, ChangesError, Failure};
use crate::output;
use crate::request::Settings;

/// The connection string: `--backend`, else `$USERQL_BACKEND` unless `--data` was given.
pub fn backend_url(args: &BackendArgs, data_given: bool) -> Option<String> {
    args.backend.clone().or_else(|| {
        if data_given {
            None
        } else {
            std::env::var("USERQL_BACKEND")
                .ok()
                .filter(|v| !v.trim().is_empty())
        }
    })
}

fn backend_failure(e: userql_pg::Error) -> Failure {
    Failure::Backend(e.to_string())
}

fn schema(args: &BackendArgs) -> Result<Schema, Failure> {
    Schema::new(&args.schema).map_err(backend_failure)
}

fn open(url: &str, args: &BackendArgs) -> Result<Backend, Failure> {
    Backend::connect(url, schema(args)?).map_err(backend_failure)
}

/// A request of another dialect than Hub, as the PostgreSQL backend takes it.
fn dialect_request(settings: &Settings, input: &str) -> DialectRequest {
    DialectRequest {
        dialect: settings.dialect,
        params: settings.params(input),
        viewer: settings.viewer.clone(),
        now: settings.now(),
    }
}

/// A backend error: a construct PostgreSQL cannot answer identically is refused (exit 2, naming
/// it); anything else is the server's (exit 1).
fn dialect_failure(e: userql_pg::Error) -> Failure {
    match e {
        userql_pg::Error::Unsupported(_) => {
            eprintln!("error: {e}; answer it in memory with --data");
            Failure::Invalid
        }
        other => backend_failure(other),
    }
}

/// `query --backend URL --dialect D` for a dialect other than Hub.
fn dialect_query(
    args: &QueryArgs,
    settings: &Settings,
    input: &str,
    url: &str,
) -> Result<(), Failure> {
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let engine = Engine::default();
    let mut backend = open(url, &args.backend)?;
    let answer = userql_pg::dialect::answer(
        &mut backend,
        &engine,
        dialect_request(settings, input),
        &userql_dialects::Settings::default(),
    )
    .map_err(dialect_failure)?;
    if answer.error.is_some() {
        return refuse(&answer, format, input);
    }
    let model = backend.page_model(&answer.ids).map_err(backend_failure)?;
    let snapshot = data::snapshot_of(model);
    let mut text = output::render(format, &answer, &snapshot);
    if format == Format::Table {
        text.push_str(&output::summary(&answer, settings, None));
        text.push('\n');
    }
    emit(&text)?;
    if args.explain {
        eprint!("{}", dialect_plans(&mut backend, &engine, settings, input)?);
    }
    Ok(())
}

/// Each statement of a dialect request followed by its `EXPLAIN (ANALYZE, BUFFERS)`.
fn dialect_plans(
    backend: &mut Backend,
    engine: &Engine,
    settings: &Settings,
    input: &str,
) -> Result<String, Failure> {
    let request = dialect_request(settings, input);
    let context =
        userql_pg::dialect::backend_context(backend, &request).map_err(backend_failure)?;
    let (answer, statements) = userql_pg::dialect::statements(
        engine,
        backend.catalog(),
        &context,
        request,
        &userql_dialects::Settings::default(),
    )
    .map_err(dialect_failure)?;
    if let Some(error) = &answer.error {
        eprint!("{}", diagnostic(error, input));
        return Err(Failure::Invalid);
    }
    let mut text = String::new();
    if statements.is_empty() {
        text.push_str("-- no statement: answered from the catalog\n");
    }
    for statement in statements {
        let plan = backend
            .explain_statement(&statement)
            .map_err(backend_failure)?;
        text.push_str(&format!("{statement}\n{plan}\n"));
    }
    Ok(text)
}

/// `userql sql --dialect D` for a dialect other than Hub: the statements its answer runs.
fn dialect_sql(args: &SqlArgs, settings: &Settings) -> Result<(), Failure> {
    let engine = Engine::default();
    let request = dialect_request(settings, &args.input);
    let dialect_settings = userql_dialects::Settings::default();
    let compiled = match backend_url(&args.backend, args.data.data.is_some()) {
        Some(url) => {
            let mut backend = open(&url, &args.backend)?;
            let context = userql_pg::dialect::backend_context(&mut backend, &request)
                .map_err(backend_failure)?;
            userql_pg::dialect::statements(
                &engine,
                backend.catalog(),
                &context,
                request,
                &dialect_settings,
            )
        }
        None => {
            let loaded = data::load(args.data.data.as_deref())?;
            let snapshot: &Snapshot = &loaded.snapshot;
            userql_pg::dialect::statements(&engine, snapshot, snapshot, request, &dialect_settings)
        }
    };
    let (answer, statements) = compiled.map_err(dialect_failure)?;
    if let Some(error) = &answer.error {
        eprint!("{}", diagnostic(error, &args.input));
        return Err(Failure::Invalid);
    }
    if statements.is_empty() {
        return emit("-- no statement: answered from the catalog\n");
    }
    let text: Vec<String> = statements.iter().map(ToString::to_string).collect();
    emit(&text.join("\n"))
}

/// The refused answer for an engine error, as the Hub dialect builds it.
fn refused(error: userql_engine::Error, source: &str) -> Answer {
    let status = match error.kind {
        ErrorKind::UnknownViewer(_) => 401,
        _ => 400,
    };
    Answer::refused(DialectError {
        response: HttpResponse::json(status, JSON, &userql_engine::error_body(&error)),
        message: error.to_string(),
        engine: Some(Box::new((error, source.to_owned()))),
    })
}

fn request(engine: &Engine, settings: &Settings, input: &str) -> Result<Request, Box<Answer>> {
    engine
        .hub_request(
            &settings.hub_params(input),
            settings.viewer.clone(),
            settings.now(),
        )
        .map_err(|e| {
            let source = settings.source_of(&e, input).to_owned();
            Box::new(refused(e, &source))
        })
}

/// Prints a refused request as `query` does in memory and ends with exit status 2.
fn refuse(answer: &Answer, format: Format, input: &str) -> Result<(), Failure> {
    if let Some(error) = &answer.error {
        eprint!("{}", diagnostic(error, input));
    }
    if let Some(body) = output::render_error(format, answer) {
        emit(&body)?;
    }
    Err(Failure::Invalid)
}

/// `--changes` would change the database as a side effect of reading it: refused.
fn no_changes(data: &DataArgs) -> Result<(), Failure> {
    if data.changes.is_empty() {
        return Ok(());
    }
    Err(Failure::Usage(
        "--changes cannot be combined with --backend: apply them first with `userql apply --backend URL --changes FILE`".into(),
    ))
}

/// `userql query --backend URL …`.
pub fn query(args: &QueryArgs, input: &str, url: &str) -> Result<(), Failure> {
    no_changes(&args.data)?;
    let settings = Settings::from(&args.request);
    if settings.dialect != Dialect::Hub {
        return dialect_query(args, &settings, input, url);
    }
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let engine = Engine::default();
    let mut backend = open(url, &args.backend)?;
    let request = match request(&engine, &settings, input) {
        Ok(request) => request,
        Err(answer) => return refuse(&answer, format, input),
    };
    let page = match backend.search(&engine, &request) {
        Ok(page) => page,
        Err(userql_pg::Error::Request(e)) => {
            let source = settings.source_of(&e, input).to_owned();
            return refuse(&refused(e, &source), format, input);
        }
        Err(e) => return Err(backend_failure(e)),
    };
    let model = backend.page_model(&page.ids).map_err(backend_failure)?;
    let body = userql_pg::respond::hub_page(&model, &page, request.selection.as_ref());
    let answer = Answer {
        response: HttpResponse::json(200, JSON, &body),
        ids: page.ids.clone(),
        total: Some(page.total),
        hub: None,
        error: None,
        request: Some(request.clone()),
        visibility: userql_engine::Visibility::hub(page.admin_viewer),
    };
    let snapshot = data::snapshot_of(model);
    let mut text = output::render(format, &answer, &snapshot);
    if format == Format::Table {
        text.push_str(&output::summary(&answer, &settings, None));
        text.push('\n');
    }
    emit(&text)?;
    if args.explain {
        let (_, plan) = backend
            .explain(&engine, &request)
            .map_err(backend_failure)?;
        eprintln!("{plan}");
    }
    Ok(())
}

/// `userql explain --backend URL …`: the statement, then PostgreSQL's EXPLAIN (ANALYZE, BUFFERS).
pub fn explain(args: &ExplainArgs, input: &str, url: &str) -> Result<(), Failure> {
    no_changes(&args.data)?;
    let settings = Settings::from(&args.request);
    let engine = Engine::default();
    let mut backend = open(url, &args.backend)?;
    if settings.dialect != Dialect::Hub {
        return emit(&dialect_plans(&mut backend, &engine, &settings, input)?);
    }
    let request = match request(&engine, &settings, input) {
        Ok(request) => request,
        Err(answer) => return refuse(&answer, Format::Ids, input),
    };
    match backend.explain(&engine, &request) {
        Ok((statement, plan)) => emit(&format!("{statement}\n{plan}\n")),
        Err(userql_pg::Error::Request(e)) => {
            eprint!("{}", render_engine_error(&e, settings.source_of(&e, input)));
            Err(Failure::Invalid)
        }
        Err(e) => Err(backend_failure(e)),
    }
}

/// `userql sql …`: binds against the backend's catalog when there is one, else against `--data`
/// (or the demo directory), and prints the statement with its parameters.
pub fn sql(args: &SqlArgs) -> Result<(), Failure> {
    let settings = Settings::from(&args.request);
    if settings.dialect != Dialect::Hub {
        return dialect_sql(args, &settings);
    }
    let engine = Engine::default();
    let request = match request(&engine, &settings, &args.input) {
        Ok(request) => request,
        Err(answer) => return refuse(&answer, Format::Ids, &args.input),
    };
    let compiled = match backend_url(&args.backend, args.data.data.is_some()) {
        Some(url) => open(&url, &args.backend)?
            .compile(&engine, &request)
            .map(|(statement, _)| statement),
        None => {
            let loaded = data::load(args.data.data.as_deref())?;
            let snapshot: Arc<Snapshot> = loaded.snapshot;
            match engine.is_admin(&snapshot, &request.viewer) {
                Ok(admin) => userql_pg::compile_request(&engine, &snapshot, admin, &request),
                Err(e) => Err(userql_pg::Error::Request(e)),
            }
        }
    };
    match compiled {
        Ok(statement) => emit(&statement.to_string()),
        Err(userql_pg::Error::Request(e)) => {
            eprint!(
                "{}",
                render_engine_error(&e, settings.source_of(&e, &args.input))
            );
            Err(Failure::Invalid)
        }
        Err(e) => Err(backend_failure(e)),
    }
}

/// `userql pg load --data FILE --backend URL [--schema NAME]`.
pub fn load(args: &PgLoadArgs) -> Result<(), Failure> {
    let url = backend_url(&args.backend, false).ok_or_else(|| {
        Failure::Backend("pg load needs --backend URL (or USERQL_BACKEND)".into())
    })?;
    let schema = schema(&args.backend)?;
    let loaded = data::load(Some(&args.data))?;
    let mut client = userql_pg::connect(&url).map_err(backend_failure)?;
    let report =
        userql_pg::load(&mut client, &schema, &loaded.snapshot.model).map_err(backend_failure)?;
    eprintln!(
        "loaded {} users from {} into schema {} in {:.1} s",
        report.users,
        loaded.label,
        schema.name(),
        report.elapsed.as_secs_f64()
    );
    Ok(())
}

/// `userql apply --backend URL [--schema NAME] --changes FILE…`: each batch of each file in one
/// transaction, `applied N` printed (flushed) as each commits. A refused batch stops with the
/// store's message placed by file, line and change; the batches before it stay applied.
pub fn apply(args: &ApplyArgs, url: &str) -> Result<(), Failure> {
    let mut backend = open(url, &args.backend)?;
    for path in &args.changes {
        let file =
            std::fs::File::open(path).map_err(|e| Failure::io(path.display().to_string(), e))?;
        let batches = userql_directory::changes::ChangeReader::new(std::io::BufReader::new(file));
        for (applied, batch) in batches.enumerate() {
            let refused = |errors, applied| {
                Failure::Changes(ChangesError {
                    path: path.clone(),
                    errors,
                    applied,
                })
            };
            let batch = batch.map_err(|errors| refused(errors, applied))?;
            match backend.apply_changes(&batch.changes) {
                Ok(version) => emit(&format!("applied {version}\n"))?,
                Err(userql_pg::Error::Refused(errors)) => {
                    return Err(refused(errors.at_line(batch.line), applied))
                }
                Err(e) => return Err(backend_failure(e)),
            }
        }
    }
    Ok(())
}
