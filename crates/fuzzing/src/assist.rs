//! Target `assist`: query assist (highlighting and completion) at every caret position.

use userql_directory::Snapshot;
use userql_engine::assist::{assist as query_assist, MAX_SUGGESTIONS};

use crate::checks::{offset_in, span_in};
use crate::fixture;

/// Longest text the target assists on. Every caret position is tried, so the cost is quadratic in
/// the length; longer inputs are cut (at a character boundary) to keep one input well under the
/// 1 s timeout.
pub const MAX_ASSIST_LEN: usize = 256;

/// Runs assist on the input text at every caret from 0 to one past the end, and checks the
/// documented contract: offsets are in range and on character boundaries, style ranges come in
/// text order without overlapping, at most [`MAX_SUGGESTIONS`] suggestions, and applying any
/// suggestion yields the spliced text with its caret inside it.
pub fn assist(data: &[u8]) {
    let full = crate::text(data);
    let mut cut = full.len().min(MAX_ASSIST_LEN);
    while !full.is_char_boundary(cut) {
        cut -= 1;
    }
    let text = &full[..cut];
    let snapshot = fixture::snapshot();
    for caret in 0..=text.len() + 1 {
        check_at(snapshot, text, caret);
    }
}

fn check_at(snapshot: &Snapshot, text: &str, caret: usize) {
    let answer = query_assist(snapshot, text, caret);
    assert_eq!(answer.query, text);
    assert!(
        answer.caret <= caret,
        "caret {caret} moved forward to {} in {text:?}",
        answer.caret
    );
    offset_in(text, answer.caret, "caret");
    let mut previous_end = 0;
    for range in &answer.style_ranges {
        let span = range.start..range.start.saturating_add(range.length);
        span_in(text, &span, "style range");
        assert!(
            range.start >= previous_end,
            "style ranges out of order or overlapping at {} in {text:?}: {:?}",
            range.start,
            answer.style_ranges
        );
        previous_end = span.end;
    }
    assert!(
        answer.suggestions.len() <= MAX_SUGGESTIONS,
        "too many suggestions for {text:?}"
    );
    for suggestion in &answer.suggestions {
        let replaced = suggestion.completion_start..suggestion.completion_end;
        span_in(text, &replaced, "completion");
        span_in(
            &suggestion.option,
            &(suggestion.matching_start..suggestion.matching_end),
            "matching",
        );
        let applied = suggestion.apply(text);
        assert_eq!(
            applied.len(),
            text.len() - replaced.len() + suggestion.replacement().len(),
            "applying {suggestion:?} to {text:?}"
        );
        offset_in(&applied, suggestion.caret, "suggestion caret");
    }
}
