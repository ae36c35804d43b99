//! The REPL's state and what one line does: a query, or a `:` command (`:` commands are `super::commands`).

use std::sync::Arc;

use userql_dialects::Dialect;
use userql_directory::Snapshot;
use userql_engine::Engine;

use crate::args::{Format, ReplArgs};
use crate::data::Loaded;
use crate::failure::diagnostic;
use crate::output;
use crate::request::{self, Settings};

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// `:quit`.
    Quit,
}

/// One REPL session: the directory, the request settings and the display switches.
pub struct Session {
    pub(super) loaded: Loaded,
    pub(super) settings: Settings,
    pub(super) format: Format,
    pub(super) explain: bool,
    pub(super) time: bool,
    pub(super) colour: bool,
    pub(super) engine: Engine,
    /// Whether standard output is a terminal: if not, only answers go there.
    pub(super) stdout_terminal: bool,
    /// Lines that failed so far (diagnostics printed), for `--bail`.
    failures: u64,
}

impl Session {
    /// A session over `loaded`, starting from the command line's settings.
    pub fn new(loaded: Loaded, args: &ReplArgs, colour: bool, stdout_terminal: bool) -> Self {
        Session {
            loaded,
            settings: Settings::from(&args.request),
            format: args.format.unwrap_or(Format::Table),
            explain: false,
            time: true,
            colour,
            engine: Engine::default(),
            stdout_terminal,
            failures: 0,
        }
    }

    /// The directory being queried.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.loaded.snapshot)
    }

    /// How many lines have failed so far.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// The current dialect.
    pub fn dialect(&self) -> Dialect {
        self.settings.dialect
    }

    /// Whether output may carry ANSI colours.
    pub fn colour(&self) -> bool {
        self.colour
    }

    /// The data file name, or `demo`.
    pub fn label(&self) -> &str {
        &self.loaded.label
    }

    /// Users in the directory.
    pub fn user_count(&self) -> usize {
        self.loaded.snapshot.model.users.count()
    }

    /// `userql[hub]> `, naming a non-admin viewer too.
    pub fn prompt(&self) -> String {
        match &self.settings.viewer {
            userql_engine::Viewer::Admin => format!("userql[{}]> ", self.settings.dialect),
            viewer => format!(
                "userql[{} as {}]> ",
                self.settings.dialect,
                crate::args::viewer_text(viewer)
            ),
        }
    }

    /// Answers one request line and prints the answer (or its diagnostic).
    pub fn query(&mut self, input: &str) {
        let snapshot = self.snapshot();
        let (answer, elapsed) = request::run(&snapshot, &self.engine, &self.settings, input);
        if let Some(error) = &answer.error {
            let text = diagnostic(error, input);
            self.error(&text);
            return;
        }
        let text = output::render(self.format, &answer, &snapshot);
        let mut notes = self.dim(&output::summary(
            &answer,
            &self.settings,
            self.time.then_some(elapsed),
        ));
        notes.push('\n');
        if self.explain {
            match request::explain(&snapshot, &self.engine, &self.settings, input) {
                Ok(plan) => notes.push_str(&format!("{plan}\n")),
                Err(message) => notes.push_str(&format!("explain: {message}")),
            }
        }
        self.say(&text);
        self.note(&notes);
    }

    /// Prints what is for people rather than programs (summaries, timings, plans, command
    /// acknowledgements): to standard output on a terminal, else to standard error, so piped
    /// output holds only answers.
    pub(super) fn note(&self, text: &str) {
        if self.stdout_terminal {
            self.say(text);
        } else {
            eprint!("{text}");
        }
    }

    fn dim(&self, text: &str) -> String {
        if self.colour {
            format!("\x1b[2m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Prints to standard output (a closed pipe is ignored: the REPL just ends its output).
    pub(super) fn say(&self, text: &str) {
        let _ = crate::failure::emit(text);
    }

    /// Prints a diagnostic to standard error and counts the line as failed.
    pub(super) fn error(&mut self, text: &str) {
        self.failures += 1;
        if text.ends_with('\n') {
            eprint!("{text}");
        } else {
            eprintln!("{text}");
        }
    }
}
