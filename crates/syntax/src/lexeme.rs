//! Character classes and the scanners for the grammar's terminals (`ws`, `bare`, `word`, `braced`,
//! `quoted`). They never fail on their own: the caller decides what an empty match means, so every
//! error carries the context-specific kind.

use nom::bytes::complete::take_while;
use nom::IResult;

use crate::error::{Error, ErrorKind};

/// Characters that always end a bare word or value: whitespace and the grammar's delimiters.
pub(crate) fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, ',' | '(' | ')' | '{' | '}' | '"')
}

/// A character of a bare value (`:` allowed, `..` handled by [`bare_value_len`]).
pub(crate) fn is_bare_char(c: char) -> bool {
    !is_delimiter(c)
}

/// A character of a bare word in item position (text, key or tuple name): a bare char except `:`,
/// which separates a key from its value.
pub(crate) fn is_word_char(c: char) -> bool {
    is_bare_char(c) && c != ':'
}

/// Bytes at the start of `input` whose chars all satisfy `pred`. Queries are mostly ASCII, where a
/// byte is a whole char and needs no UTF-8 decoding: that prefix is scanned bytewise, and nom's
/// char scanner takes over at the first non-ASCII byte (measured: the char-by-char scan was a
/// tenth of the parser's instructions on the corpus).
fn take_chars(input: &str, pred: impl Fn(char) -> bool + Copy) -> usize {
    let bytes = input.as_bytes();
    let ascii = bytes
        .iter()
        .position(|&b| !b.is_ascii() || !pred(char::from(b)))
        .unwrap_or(bytes.len());
    if bytes.get(ascii).is_none_or(u8::is_ascii) {
        return ascii;
    }
    let scanned: IResult<&str, &str> = take_while(pred)(&input[ascii..]);
    match scanned {
        Ok((_, taken)) => ascii + taken.len(),
        Err(_) => ascii,
    }
}

/// Bytes of whitespace at the start of `input`.
pub(crate) fn ws_len(input: &str) -> usize {
    take_chars(input, char::is_whitespace)
}

/// Bytes of the word (text, key or tuple name) at the start of `input`.
pub(crate) fn word_len(input: &str) -> usize {
    take_chars(input, is_word_char)
}

/// Bytes of the bare value at the start of `input`: bare chars up to (not including) a `..`.
pub(crate) fn bare_value_len(input: &str) -> usize {
    let run = take_chars(input, is_bare_char);
    // `..` ends a bare value so that `2024..2025` is a range without spaces.
    input.as_bytes()[..run]
        .windows(2)
        .position(|pair| pair == b"..")
        .unwrap_or(run)
}

/// What a word at the start of a unary turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    /// `not` (any case), not followed by `:`.
    Not,
    /// `and` / `or` (any case), not followed by `:`.
    Keyword,
    /// A non-keyword glued to `(`: a tuple name.
    Tuple,
    /// A word followed (after optional whitespace) by `:`: a key.
    Field,
    /// Anything else: free text (empty words included).
    Text,
}

/// Classifies `word` (a [`word_len`] run) by what follows it (`after`): the grammar's
/// disambiguation rules, shared by the parser and the lenient scanner so that both read a word the
/// same way. A keyword is never a tuple name (`and(` is `and` then a group), while a keyword
/// followed by `:` is a key.
pub(crate) fn classify_word(word: &str, after: &str) -> Word {
    if word.is_empty() {
        return Word::Text;
    }
    let keyword = crate::catalogue::is_keyword(word);
    if !keyword && after.starts_with('(') {
        return Word::Tuple;
    }
    if after[ws_len(after)..].starts_with(':') {
        return Word::Field;
    }
    if word.eq_ignore_ascii_case("not") {
        Word::Not
    } else if keyword {
        Word::Keyword
    } else {
        Word::Text
    }
}

/// Reads a `{braced}` or `"quoted"` body starting at `open` (the offset of the opening delimiter in
/// `src`). Returns the unescaped text and the offset just past the closing delimiter. Only a backslash
/// and the closing delimiter may be escaped; anything else is a [`ErrorKind::BadEscape`].
pub(crate) fn delimited(src: &str, open: usize, close: char) -> Result<(String, usize), Error> {
    let unclosed = if close == '}' {
        ErrorKind::UnclosedBrace
    } else {
        ErrorKind::UnclosedQuote
    };
    let mut text = String::new();
    let mut chars = src[open + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        let at = open + 1 + offset;
        if c == close {
            return Ok((text, at + c.len_utf8()));
        }
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.next() {
            Some((_, escaped)) if escaped == close || escaped == '\\' => text.push(escaped),
            Some((_, other)) => {
                return Err(Error::new(
                    at..at + 1 + other.len_utf8(),
                    ErrorKind::BadEscape { found: other },
                ))
            }
            None => break,
        }
    }
    Err(Error::new(open..open + 1, unclosed))
}

/// The extent of a `{braced}` or `"quoted"` body at the start of `input` (which begins with its
/// opening delimiter), for a scanner that must not fail: (bytes up to and including the closing
/// delimiter, whether it was closed). A backslash escapes the next character, as in [`delimited`];
/// on text [`delimited`] accepts, both end at the same offset.
pub(crate) fn delimited_extent(input: &str) -> (usize, bool) {
    let mut chars = input.char_indices();
    let close = match chars.next() {
        Some((_, '{')) => '}',
        Some(_) => '"',
        None => return (0, false),
    };
    let mut escaped = false;
    for (i, c) in chars {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == close {
            return (i + c.len_utf8(), true);
        }
    }
    (input.len(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_values_stop_at_double_dot_and_delimiters() {
        assert_eq!(bare_value_len("2024..2025"), 4);
        assert_eq!(bare_value_len("1.5 x"), 3);
        assert_eq!(bare_value_len("a:b,c"), 3);
        assert_eq!(word_len("login:x"), 5);
        assert_eq!(ws_len(" \t\u{a0}x"), 4);
    }

    #[test]
    fn delimited_unescapes_and_reports_bad_escapes() {
        assert_eq!(delimited(r"{a\}b\\}", 0, '}'), Ok((r"a}b\".to_string(), 8)));
        let bad = delimited(r#""a\nb""#, 0, '"');
        assert!(matches!(
            bad,
            Err(Error {
                kind: ErrorKind::BadEscape { found: 'n' },
                ..
            })
        ));
        let open = delimited("{abc", 0, '}');
        assert!(matches!(
            open,
            Err(Error {
                kind: ErrorKind::UnclosedBrace,
                ..
            })
        ));
    }
}
