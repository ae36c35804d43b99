//! Span checks shared by the parser targets: every span an API reports must slice its input.

use std::ops::Range;

/// Panics unless `span` is an in-bounds byte range of `text` on character boundaries (a span that
/// is not would make a client's caret rendering, or `&text[span]`, panic).
pub(crate) fn span_in(text: &str, span: &Range<usize>, what: &str) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "{what} span {span:?} is outside {text:?} ({} bytes)",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "{what} span {span:?} splits a character of {text:?}"
    );
}

/// Panics unless `at` is a byte offset of `text` on a character boundary.
pub(crate) fn offset_in(text: &str, at: usize, what: &str) {
    span_in(text, &(at..at), what);
}
