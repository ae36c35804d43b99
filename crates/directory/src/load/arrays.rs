//! The whole-document JSON reader's two big arrays (`users`, `grants`: nearly all of a large
//! file) parsed on several threads, as the NDJSON reader parses its chunks.
//!
//! A JSON document cannot be cut anywhere without reading it: a byte may be inside a string. So
//! the cut is speculative and then proven. The array's text (already checked to be valid JSON
//! by `serde_json`'s `RawValue`, a fast scan that builds nothing) is cut before a `{` that follows
//! `}` and `,` (whitespace allowed), near equal shares. Each thread parses its piece as a run of
//! comma-separated elements *and* counts the unescaped quotes in it. A cut is outside every
//! string exactly when the quotes before it are even in number (the JSON is valid, so every
//! backslash is inside a string and escapes what follows it); a cut outside strings is a token
//! boundary, and pieces that parse as whole elements from a token boundary at the array's level
//! end at that level, so the next piece starts there too. If any cut fails that proof or any
//! piece fails to parse, the array is parsed again in one piece, so the answer — rows or `None`
//! for the tolerant reader — is always the one-thread answer.

use serde::Deserialize;

use super::blocks::Blocks;
use super::split::chunk_count;

/// The rows of `array`, the exact text of a JSON array (as a `RawValue` holds it), or `None` when
/// it is not an array or an element does not deserialize into `T`.
pub(super) fn parse<'a, T: Deserialize<'a> + Send>(array: &'a str) -> Option<Blocks<T>> {
    match inner(array) {
        Some(inner) => parse_with_cuts(array, &cuts::<T>(inner, chunk_count(inner.len()))),
        None => whole(array),
    }
}

/// The array in one piece, on this thread.
fn whole<'a, T: Deserialize<'a>>(array: &'a str) -> Option<Blocks<T>> {
    serde_json::from_str::<Blocks<T>>(array).ok()
}

/// The array's text between its brackets.
fn inner(array: &str) -> Option<&str> {
    array.strip_prefix('[')?.strip_suffix(']')
}

/// [`parse`] with chosen cut positions (increasing, into the text between the brackets).
fn parse_with_cuts<'a, T: Deserialize<'a> + Send>(
    array: &'a str,
    cuts: &[usize],
) -> Option<Blocks<T>> {
    let Some(inner) = inner(array).filter(|_| !cuts.is_empty()) else {
        return whole(array);
    };
    let mut bounds = Vec::with_capacity(cuts.len() + 2);
    bounds.push(0);
    bounds.extend(cuts);
    bounds.push(inner.len());
    let pieces: Vec<&str> = bounds.windows(2).map(|w| &inner[w[0]..w[1]]).collect();
    let last = pieces.len() - 1;
    let parsed: Vec<Option<(Blocks<T>, usize)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = pieces
            .iter()
            .enumerate()
            .map(|(at, &piece)| {
                scope.spawn(move || {
                    let rows = elements(piece, at == last)?;
                    Some((rows, unescaped_quotes(piece.as_bytes())))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().ok().flatten())
            .collect()
    });
    let Some(parsed) = parsed.into_iter().collect::<Option<Vec<_>>>() else {
        return whole(array);
    };
    let mut quotes = 0;
    for (_, piece_quotes) in &parsed[..last] {
        quotes += piece_quotes;
        if quotes % 2 == 1 {
            return whole(array);
        }
    }
    let mut all = Blocks::default();
    for (rows, _) in parsed {
        all.append(rows);
    }
    Some(all)
}

/// Up to `count - 1` cut positions in `inner` (the array without its brackets), increasing, each
/// at a `{` whose previous non-whitespace bytes are `,` and then `}`, where one `T` parses: a
/// nested object (a user's identities) looks like a cut but is not a row, and a piece cut there
/// would fail and send the whole array back to one thread.
fn cuts<'a, T: Deserialize<'a>>(inner: &'a str, count: usize) -> Vec<usize> {
    let bytes = inner.as_bytes();
    let mut cuts: Vec<usize> = Vec::with_capacity(count.saturating_sub(1));
    for i in 1..count {
        let target = (bytes.len() * i / count).max(cuts.last().map_or(0, |c| c + 1));
        let Some(cut) = (target..bytes.len()).find(|&at| {
            starts_element(bytes, at)
                && serde_json::Deserializer::from_str(&inner[at..])
                    .into_iter::<T>()
                    .next()
                    .is_some_and(|row| row.is_ok())
        }) else {
            break;
        };
        cuts.push(cut);
    }
    cuts
}

/// Whether `at` is a `{` preceded (whitespace aside) by `,` and before that by `}`.
fn starts_element(bytes: &[u8], at: usize) -> bool {
    if bytes[at] != b'{' {
        return false;
    }
    let mut before = bytes[..at].iter().rev().filter(|b| !is_space(**b));
    before.next() == Some(&b',') && before.next() == Some(&b'}')
}

/// JSON's four whitespace bytes.
fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r')
}

/// A run of comma-separated elements: the whole piece, with a trailing comma unless it is the
/// array's last piece (an empty last piece is an empty array).
fn elements<'a, T: Deserialize<'a>>(piece: &'a str, last: bool) -> Option<Blocks<T>> {
    let mut rows = Blocks::default();
    let mut rest = piece.trim_start_matches(is_space_char);
    if rest.is_empty() {
        return last.then_some(rows);
    }
    loop {
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        rows.push(stream.next()?.ok()?);
        let after = rest[stream.byte_offset()..].trim_start_matches(is_space_char);
        match after.strip_prefix(',') {
            Some(next) => {
                rest = next.trim_start_matches(is_space_char);
                if rest.is_empty() {
                    return (!last).then_some(rows);
                }
            }
            None => return (last && after.is_empty()).then_some(rows),
        }
    }
}

fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

/// Quotes not escaped by an odd run of backslashes: string delimiters, in valid JSON.
fn unescaped_quotes(bytes: &[u8]) -> usize {
    let quotes = bytes.iter().filter(|&&b| b == b'"').count();
    let mut escaped = 0;
    let mut at = 0;
    while let Some(start) = bytes[at..].iter().position(|&b| b == b'\\') {
        let start = at + start;
        let run = bytes[start..].iter().take_while(|&&b| b == b'\\').count();
        at = start + run;
        if run % 2 == 1 && bytes.get(at) == Some(&b'"') {
            escaped += 1;
        }
    }
    quotes - escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Row {
        id: String,
        #[serde(default)]
        tags: Vec<Tag>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Tag {
        t: String,
    }

    fn rows(blocks: Option<Blocks<Row>>) -> Option<Vec<String>> {
        blocks.map(|b| b.iter().map(|r| r.id.clone()).collect())
    }

    /// Every piece count on arrays whose strings and nested objects look like cut points.
    #[test]
    fn any_split_gives_the_one_thread_answer() {
        let tricky = [
            r#"[{"id":"a"},{"id":"b"}, {"id":"c"}]"#,
            r#"[ {"id":"}, {\"id\": \"x\"}"} , {"id":"b},{"} ]"#,
            r#"[{"id":"a","tags":[{"t":"1"},{"t":"2"}]},{"id":"b","tags":[{"t":"3"}, {"t":"}, {"}]}]"#,
            r#"[{"id":"\\"},{"id":"\\\"},{\""}]"#,
            r#"[]"#,
            r#"[ ]"#,
            r#"[{"id":"a"}]"#,
            r#"[{"id":"a"},{"nope":1},{"id":"c"}]"#,
            r#"[{"id":"a"},{"tags":[{"t":"x"}]},{"id":"c"}]"#,
        ];
        for text in tricky {
            let expected = rows(serde_json::from_str::<Blocks<Row>>(text).ok());
            let inner = &text[1..text.len() - 1];
            for count in 1..=inner.len().max(1) {
                let cuts = cuts::<Row>(inner, count);
                assert!(cuts.windows(2).all(|w| w[0] < w[1]), "{text}: {cuts:?}");
                assert_eq!(
                    rows(parse_cut(text, &cuts)),
                    expected,
                    "{text}, cuts {cuts:?}"
                );
            }
            for (at, _) in inner.match_indices('{').filter(|&(at, _)| at > 0) {
                assert_eq!(rows(parse_cut(text, &[at])), expected, "{text}, cut {at}");
            }
            assert_eq!(rows(parse::<Row>(text)), expected, "{text}");
        }
    }

    /// A cut inside a string: the pieces parse, but the quote count refutes the cut.
    #[test]
    fn a_cut_inside_a_string_is_refuted_by_the_quote_count() {
        let text = r#"[{"id":"}, {\"id\": \"x\"}"},{"id":"b"}]"#;
        let inner = &text[1..text.len() - 1];
        let inside = inner.find(r#"{\"id"#).expect("the string's brace");
        assert_eq!(unescaped_quotes(&inner.as_bytes()[..inside]) % 2, 1);
        assert_eq!(
            rows(parse_cut(text, &[inside])),
            Some(vec![r#"}, {"id": "x"}"#.to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn quotes_after_odd_backslash_runs_are_escaped() {
        assert_eq!(unescaped_quotes(br#""a\"b""#), 2);
        assert_eq!(unescaped_quotes(br#""a\\"#), 1);
        assert_eq!(unescaped_quotes(br#""\\\"""#), 2);
    }

    #[test]
    fn not_an_array_is_left_to_the_one_thread_parse() {
        assert!(parse::<Row>("null").is_none());
        assert!(parse::<Row>(r#"{"id":"a"}"#).is_none());
    }

    /// [`parse`] with the given cuts instead of [`cuts`]'s (the logic after the cut choice).
    fn parse_cut(array: &str, cuts: &[usize]) -> Option<Blocks<Row>> {
        parse_with_cuts(array, cuts)
    }
}
