//! The `:` commands of the REPL (`docs/cli.md`, "The REPL").

use std::path::Path;

use clap::ValueEnum;
use userql_directory::index::IndexStats;
use userql_syntax::catalogue::suggest;

use super::session::{Flow, Session};
use crate::args::{format_text, parse_dialect, parse_now, parse_viewer, viewer_text, Format};
use crate::data;

/// Every command with its help line, in `:help` order.
const COMMANDS: &[(&str, &str)] = &[
    (
        "dialect",
        ":dialect D       hub | gitlab | gitlab-enterprise | tfe | arcgis",
    ),
    ("viewer", ":viewer V        admin | anonymous | a login"),
    (
        "format",
        ":format F        table | json | http | ids | count",
    ),
    (
        "explain",
        ":explain on|off  print the plan after each answer",
    ),
    ("time", ":time on|off     show how long each answer took"),
    (
        "fields",
        ":fields [F]      Hub fields (none: the default fields)",
    ),
    ("order", ":order [O]       Hub orderBy (none: login)"),
    (
        "page",
        ":page SKIP TOP   Hub $skip and $top (none: 0 and 100)",
    ),
    (
        "now",
        ":now [T]         fix the clock (RFC 3339; none: the system clock)",
    ),
    ("load", ":load FILE       query another directory file"),
    (
        "apply",
        ":apply FILE      apply a changes file to the loaded directory",
    ),
    (
        "stats",
        ":stats           sizes of the directory and its indexes",
    ),
    ("help", ":help            this list"),
    ("quit", ":quit            leave (also Ctrl-D)"),
];

/// Handles one input line: nothing for a blank line or a `#` comment, a `:` command, or a request.
pub fn handle(session: &mut Session, line: &str) -> Flow {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Flow::Continue;
    }
    if let Some(command) = trimmed.strip_prefix(':') {
        return execute(session, command);
    }
    session.query(trimmed);
    Flow::Continue
}

/// Runs `command` (the line without its `:`).
pub fn execute(session: &mut Session, command: &str) -> Flow {
    let (name, argument) = match command.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (command, ""),
    };
    let name = name.to_ascii_lowercase();
    match name.as_str() {
        "q" | "quit" | "exit" => return Flow::Quit,
        "help" | "h" | "?" => help(session),
        "dialect" => dialect(session, argument),
        "viewer" => viewer(session, argument),
        "format" => format(session, argument),
        "explain" => switch(session, argument, |s| &mut s.explain, "explain"),
        "time" => switch(session, argument, |s| &mut s.time, "time"),
        "fields" => option(session, argument, |s| &mut s.settings.fields, "fields"),
        "order" | "orderby" => option(session, argument, |s| &mut s.settings.order_by, "order"),
        "page" => page(session, argument),
        "now" => now(session, argument),
        "load" => load(session, argument),
        "apply" => apply(session, argument),
        "stats" => stats(session),
        _ => {
            let names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
            let hint = suggest(&name, &names)
                .map(|s| format!(" — did you mean ':{s}'?"))
                .unwrap_or_default();
            session.error(&format!(
                "unknown command ':{name}'{hint} (:help lists them)"
            ));
        }
    }
    Flow::Continue
}

fn help(session: &Session) {
    let mut text =
        String::from("Type a query (Hub language, or the dialect's key=value&… string), or:\n");
    for (_, line) in COMMANDS {
        text.push_str("  ");
        text.push_str(line);
        text.push('\n');
    }
    session.say(&text);
}

fn dialect(session: &mut Session, argument: &str) {
    if !argument.is_empty() {
        match parse_dialect(argument) {
            Ok(d) => session.settings.dialect = d,
            Err(e) => return session.error(&e),
        }
    }
    session.note(&format!("dialect: {}\n", session.settings.dialect));
}

fn viewer(session: &mut Session, argument: &str) {
    if !argument.is_empty() {
        match parse_viewer(argument) {
            Ok(v) => session.settings.viewer = v,
            Err(e) => return session.error(&e),
        }
    }
    session.note(&format!(
        "viewer: {}\n",
        viewer_text(&session.settings.viewer)
    ));
}

fn format(session: &mut Session, argument: &str) {
    if !argument.is_empty() {
        match Format::from_str(argument, true) {
            Ok(f) => session.format = f,
            Err(_) => return session.error("expected a format: table, json, http, ids or count"),
        }
    }
    session.note(&format!("format: {}\n", format_text(session.format)));
}

fn switch(session: &mut Session, argument: &str, field: fn(&mut Session) -> &mut bool, name: &str) {
    let value = match argument.to_ascii_lowercase().as_str() {
        "" => !*field(session),
        "on" | "true" | "yes" | "1" => true,
        "off" | "false" | "no" | "0" => false,
        _ => return session.error(&format!("expected :{name} on or :{name} off")),
    };
    *field(session) = value;
    session.note(&format!("{name}: {}\n", if value { "on" } else { "off" }));
}

fn option(
    session: &mut Session,
    argument: &str,
    field: fn(&mut Session) -> &mut Option<String>,
    name: &str,
) {
    *field(session) = (!argument.is_empty()).then(|| argument.to_owned());
    let shown = field(session)
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    session.note(&format!("{name}: {shown}\n"));
}

fn page(session: &mut Session, argument: &str) {
    let parts: Vec<&str> = argument.split_whitespace().collect();
    match parts.as_slice() {
        [] => {
            session.settings.skip = None;
            session.settings.top = None;
        }
        [skip] => session.settings.skip = Some((*skip).to_owned()),
        [skip, top] => {
            session.settings.skip = Some((*skip).to_owned());
            session.settings.top = Some((*top).to_owned());
        }
        _ => return session.error("expected :page SKIP TOP"),
    }
    let skip = session.settings.skip.clone().unwrap_or_else(|| "0".into());
    let top = session.settings.top.clone().unwrap_or_else(|| "100".into());
    session.note(&format!("page: skip {skip}, top {top}\n"));
}

fn now(session: &mut Session, argument: &str) {
    if argument.is_empty() {
        session.settings.now = None;
        return session.note("now: the system clock\n");
    }
    match parse_now(argument) {
        Ok(ms) => {
            session.settings.now = Some(ms);
            session.note(&format!("now: {argument}\n"));
        }
        Err(e) => session.error(&e),
    }
}

fn load(session: &mut Session, argument: &str) {
    if argument.is_empty() {
        return session.error("expected :load FILE");
    }
    match data::load(Some(Path::new(argument))) {
        Ok(loaded) => {
            session.loaded = loaded;
            session.note(&format!(
                "loaded {} ({} users)\n",
                session.label(),
                session.user_count()
            ));
        }
        Err(e) => session.error(&format!("{e}")),
    }
}

/// Applies a changes file through a live store over the session's directory. Batches applied
/// before a refused one stay applied (each batch is atomic, the file is not).
fn apply(session: &mut Session, argument: &str) {
    if argument.is_empty() {
        return session.error("expected :apply FILE");
    }
    let store = data::store_of(&session.loaded);
    let result = data::apply_file(&store, Path::new(argument));
    store.wait_for_rebuild();
    session.loaded.snapshot = store.snapshot();
    match result {
        Ok(applied) => session.say(&format!(
            "applied {applied} {} from {argument} ({} users)\n",
            batches(applied),
            session.user_count()
        )),
        Err(e) => {
            if e.applied > 0 {
                session.say(&format!(
                    "applied {} {} from {argument} ({} users)\n",
                    e.applied,
                    batches(e.applied),
                    session.user_count()
                ));
            }
            session.error(&e.to_string());
        }
    }
}

fn batches(count: usize) -> &'static str {
    if count == 1 {
        "batch"
    } else {
        "batches"
    }
}

fn stats(session: &Session) {
    let snapshot = session.snapshot();
    let model = &snapshot.model;
    let counts = [
        ("users", model.users.count()),
        ("groups", model.groups.len()),
        ("teams", model.teams.len()),
        ("projects", model.projects.len()),
        ("organizations", model.organizations.len()),
        ("roles", model.roles.len()),
        ("permissions", model.permissions.len()),
        ("grants", model.grants.len()),
        ("services", model.services.len()),
    ];
    let mut text = format!("directory {}\n", session.label());
    for (name, count) in counts {
        text.push_str(&format!("  {name:<14}{count:>10}\n"));
    }
    let stats = snapshot.index.stats();
    let rows = stats_rows(&stats);
    let total: u64 = stats.iter().map(|s| s.bytes).sum();
    text.push_str("indexes\n");
    text.push_str(&crate::output::table(&["index", "entries", "bytes"], &rows));
    text.push_str(&format!("total index size {}\n", human_bytes(total)));
    // What changes applied since the indexes were built add (all zero on a clean directory):
    // counted apart from the total, which stays comparable with a fresh build's.
    let live = stats_rows(&snapshot.live_stats());
    text.push_str("changes since the indexes were built\n");
    text.push_str(&crate::output::table(&["part", "rows", "bytes"], &live));
    session.say(&text);
}

/// One table row per part: its name, entries and size.
fn stats_rows(stats: &[IndexStats]) -> Vec<Vec<String>> {
    stats
        .iter()
        .map(|s| {
            vec![
                s.name.to_owned(),
                s.entries.to_string(),
                human_bytes(s.bytes),
            ]
        })
        .collect()
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
