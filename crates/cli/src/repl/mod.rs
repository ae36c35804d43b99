//! The interactive loop. On a terminal: rustyline with history, completion and highlighting
//! from query assist. Piped (stdin not a terminal): plain lines, no prompt, no colour, so a
//! scripted session (`userql < script`) prints just the answers; summaries, timings and command
//! acknowledgements go to standard error when standard output is not a terminal, and the first
//! invalid line stops the script with exit status 2 (`--bail`, unless `--no-bail`).

mod commands;
mod helper;
mod session;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::Editor;

use crate::args::ReplArgs;
use crate::data;
use crate::failure::Failure;

pub use session::{Flow, Session};

/// Runs the REPL until `:quit`, Ctrl-D or the end of the input.
pub fn run(args: &ReplArgs) -> Result<(), Failure> {
    let loaded = data::load_args(&args.data)?;
    let interactive = std::io::stdin().is_terminal();
    let stdout_terminal = std::io::stdout().is_terminal();
    let colour = args.color.enabled(interactive && stdout_terminal);
    let mut session = Session::new(loaded, args, colour, stdout_terminal);
    let bail = if args.bail || args.no_bail {
        args.bail
    } else {
        !interactive
    };
    if interactive {
        interactive_loop(&mut session)
    } else {
        piped_loop(&mut session, bail)
    }
}

/// Reads lines until the end of input or `:quit`; with `bail`, stops at the first line that
/// failed (its diagnostic is already on standard error).
fn piped_loop(session: &mut Session, bail: bool) -> Result<(), Failure> {
    let stdin = std::io::stdin();
    for (number, line) in stdin.lock().lines().enumerate() {
        let line = line.map_err(|e| Failure::io("reading standard input", e))?;
        let failures = session.failures();
        if commands::handle(session, &line) == Flow::Quit {
            break;
        }
        if bail && session.failures() > failures {
            eprintln!(
                "userql: stopped at line {} (--no-bail goes on after errors)",
                number + 1
            );
            return Err(Failure::Invalid);
        }
    }
    Ok(())
}

fn interactive_loop(session: &mut Session) -> Result<(), Failure> {
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(10_000)
        .map_err(|e| {
            Failure::io(
                "configuring the line editor",
                std::io::Error::other(e.to_string()),
            )
        })?
        .build();
    let mut editor: Editor<helper::AssistHelper, DefaultHistory> = Editor::with_config(config)
        .map_err(|e| {
            Failure::io(
                "starting the line editor",
                std::io::Error::other(e.to_string()),
            )
        })?;
    editor.set_helper(Some(helper::AssistHelper::new(session)));
    let history = history_path();
    if let Some(path) = &history {
        // A missing or unreadable history is not worth a message.
        let _ = editor.load_history(path);
    }
    eprintln!(
        "userql — {} ({} users). Tab completes, :help lists commands, Ctrl-D quits.",
        session.label(),
        session.user_count()
    );
    loop {
        match editor.readline(&session.prompt()) {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                let flow = commands::handle(session, &line);
                if let Some(helper) = editor.helper_mut() {
                    helper.follow(session);
                }
                if flow == Flow::Quit {
                    break;
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("userql: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // Never fail because history cannot be written (read-only home, sandbox).
        let _ = editor.save_history(path);
    }
    Ok(())
}

/// `$XDG_STATE_HOME/userql/history`, else `~/.local/state/userql/history`.
fn history_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local").join("state"))
        })?;
    Some(state.join("userql").join("history"))
}
