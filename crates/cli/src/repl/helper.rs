//! rustyline glue: tab completion and highlighting, both from `userql_engine::assist`.

use std::borrow::Cow;
use std::sync::Arc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::line_buffer::LineBuffer;
use rustyline::validate::Validator;
use rustyline::{Changeset, Context, Helper};
use userql_dialects::Dialect;
use userql_directory::Snapshot;
use userql_engine::assist::{assist, Style};

use super::session::Session;

/// Completes and colours Hub queries; other dialects' query strings and `:` commands are left
/// plain.
pub struct AssistHelper {
    snapshot: Arc<Snapshot>,
    hub: bool,
    colour: bool,
}

impl AssistHelper {
    /// A helper reading the session's directory and dialect.
    pub fn new(session: &Session) -> Self {
        AssistHelper {
            snapshot: session.snapshot(),
            hub: session.dialect() == Dialect::Hub,
            colour: session.colour(),
        }
    }

    /// Picks up `:load` and `:dialect` changes.
    pub fn follow(&mut self, session: &Session) {
        *self = AssistHelper::new(session);
    }

    /// Where the replaced token ends: assist's completion end, never before the caret.
    fn completion_end(&self, line: &str, pos: usize) -> usize {
        if !self.applies_to(line) {
            return pos;
        }
        assist(&self.snapshot, line, pos)
            .suggestions
            .first()
            .map_or(pos, |s| s.completion_end.max(pos))
    }

    fn applies_to(&self, line: &str) -> bool {
        self.hub && !line.trim_start().starts_with(':')
    }
}

impl Completer for AssistHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        if !self.applies_to(line) {
            return Ok((pos, Vec::new()));
        }
        let answer = assist(&self.snapshot, line, pos);
        let start = answer
            .suggestions
            .first()
            .map_or(pos, |s| s.completion_start);
        let pairs = answer
            .suggestions
            .iter()
            .map(|s| Pair {
                display: format!("{}{}{}", s.prefix, s.option, s.suffix.trim_end()),
                replacement: s.replacement(),
            })
            .collect();
        Ok((start, pairs))
    }

    /// Replaces the whole token under the caret (assist's completion range), not only what lies
    /// before the caret as rustyline would.
    fn update(&self, line: &mut LineBuffer, start: usize, elected: &str, cl: &mut Changeset) {
        let end = self.completion_end(line.as_str(), line.pos());
        line.replace(start..end, elected, cl);
    }
}

impl Highlighter for AssistHelper {
    fn highlight<'l>(&self, line: &'l str, pos: usize) -> Cow<'l, str> {
        if !self.colour || !self.applies_to(line) {
            return Cow::Borrowed(line);
        }
        let answer = assist(&self.snapshot, line, pos);
        let mut out = String::with_capacity(line.len() * 2);
        let mut at = 0;
        for range in &answer.style_ranges {
            let end = range.start + range.length;
            if range.start < at || end > line.len() {
                continue;
            }
            out.push_str(&line[at..range.start]);
            match colour_of(range.style) {
                Some(code) => {
                    out.push_str(code);
                    out.push_str(&line[range.start..end]);
                    out.push_str("\x1b[0m");
                }
                None => out.push_str(&line[range.start..end]),
            }
            at = end;
        }
        out.push_str(&line[at..]);
        Cow::Owned(out)
    }

    fn highlight_char(&self, _line: &str, _pos: usize, _forced: bool) -> bool {
        self.colour
    }
}

/// ANSI colours per style: keys cyan, values green, operators magenta, text plain, errors red.
fn colour_of(style: Style) -> Option<&'static str> {
    match style {
        Style::FieldName => Some("\x1b[36m"),
        Style::FieldValue => Some("\x1b[32m"),
        Style::Operator => Some("\x1b[35m"),
        Style::Error => Some("\x1b[31;4m"),
        // Plain text, and any style added later until it gets a colour here.
        _ => None,
    }
}

impl Hinter for AssistHelper {
    type Hint = String;
}

impl Validator for AssistHelper {}

impl Helper for AssistHelper {}

#[cfg(test)]
mod tests {
    use super::*;
    use rustyline::history::DefaultHistory;

    fn helper(colour: bool) -> AssistHelper {
        let model =
            userql_directory::load_json(include_bytes!("../../../userql/tests/data/tiny.json"))
                .expect("tiny.json is valid");
        AssistHelper {
            snapshot: Arc::new(crate::data::snapshot_of(model)),
            hub: true,
            colour,
        }
    }

    #[test]
    fn completion_replaces_the_token_with_assists_suggestion() {
        let helper = helper(false);
        let history = DefaultHistory::new();
        let (start, pairs) = helper
            .complete("group: {Imp", 11, &Context::new(&history))
            .expect("completes");
        assert_eq!(start, 7);
        let replacements: Vec<&str> = pairs.iter().map(|p| p.replacement.as_str()).collect();
        assert_eq!(replacements, ["{Imperial Army} ", "{Imperial Navy} "]);
        assert_eq!(pairs[0].display, "{Imperial Army}");

        // A caret inside a word replaces the whole word, not only its first part.
        assert_eq!(helper.completion_end("group: Stormtro and vader", 12), 15);
        assert_eq!(helper.completion_end(":load x", 3), 3);
    }

    #[test]
    fn commands_and_other_dialects_are_not_completed() {
        let mut helper = helper(false);
        let history = DefaultHistory::new();
        let context = Context::new(&history);
        assert!(helper
            .complete(":load x", 7, &context)
            .expect("ok")
            .1
            .is_empty());
        helper.hub = false;
        assert!(helper.complete("gr", 2, &context).expect("ok").1.is_empty());
    }

    #[test]
    fn highlighting_colours_only_on_a_terminal() {
        let line = "login: vader lgoin: x";
        assert_eq!(helper(false).highlight(line, 0), line);
        let coloured = helper(true).highlight(line, 0).into_owned();
        assert!(coloured.starts_with("\x1b[36mlogin\x1b[0m"), "{coloured:?}");
        assert!(coloured.contains("\x1b[32mvader\x1b[0m"), "{coloured:?}");
        assert!(coloured.contains("\x1b[31;4mlgoin\x1b[0m"), "{coloured:?}");
        let plain: String = {
            let mut out = String::new();
            let mut in_escape = false;
            for c in coloured.chars() {
                match (in_escape, c) {
                    (false, '\x1b') => in_escape = true,
                    (true, 'm') => in_escape = false,
                    (false, c) => out.push(c),
                    _ => {}
                }
            }
            out
        };
        assert_eq!(plain, line);
    }
}
