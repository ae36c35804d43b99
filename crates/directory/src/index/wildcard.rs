//! Wildcard patterns (`*` = any run of characters) answered from a text field's sorted
//! dictionary and trigrams, never by reading every user: the ArcGIS `filter` glob.
//!
//! A pattern is its literal pieces between the stars. When the first piece is not empty the
//! matches lie in that piece's prefix range of the dictionary: a pure prefix (`mar*`) is that
//! range's row set, ready-made for wide ranges ([`super::prefixes`]); anything more
//! (`mar*son`) checks the range's entries. A pattern starting with `*` takes the trigram
//! candidates of its longest piece and checks their values. The values compared are the field's
//! *folded* values (see [`crate::text::fold`]); [`super::Indexes::unlowered`] says which rows
//! a caller comparing plain lowercase must re-check.

use roaring::RoaringBitmap;

use super::column::RowSetBuilder;
use super::trigram::TextIndex;
#[cfg(test)]
use crate::text::fold;

/// A wildcard pattern: literal pieces separated by `*`, each star any run of characters
/// (possibly empty). Without a star the pattern is an exact value. Compared byte for byte: the
/// caller lowercases it as the values it is compared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    /// At least one piece; the first is anchored at the start, the last at the end.
    pieces: Vec<String>,
}

impl Wildcard {
    /// The pattern `text`, `*` being the only special character.
    pub fn new(text: &str) -> Wildcard {
        Wildcard {
            pieces: text.split('*').map(str::to_owned).collect(),
        }
    }

    /// Whether `text` matches: it starts with the first piece, ends with the last, and holds the
    /// pieces between them in order without overlap. Taking each middle piece at its leftmost
    /// occurrence leaves the longest rest for the later pieces, so one pass decides.
    pub fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return true;
        };
        let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
            return false;
        };
        let Some((last, middle)) = rest.split_last() else {
            return remaining.is_empty();
        };
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        remaining.ends_with(last.as_str())
    }

    /// The literal text before the first star (the whole pattern without one).
    fn head(&self) -> &str {
        self.pieces.first().map_or("", String::as_str)
    }

    /// `head*`: a plain prefix.
    fn is_prefix(&self) -> bool {
        self.pieces.len() == 2 && self.pieces[1].is_empty()
    }

    /// The longest literal piece (the most selective trigram candidates).
    fn longest_piece(&self) -> &str {
        self.pieces
            .iter()
            .map(String::as_str)
            .max_by_key(|piece| piece.len())
            .unwrap_or("")
    }
}

/// Whether [`fold`] of `value` is its plain lowercase (`str::to_lowercase`), so that a comparison
/// of lowercase text can be answered from the folded dictionary. Allocation-free for ASCII text
/// without irregular whitespace, the common case. (The text build applies the same rule inline,
/// reusing the fold it stores: `texts.rs`.)
#[cfg(test)]
pub(super) fn folds_to_lowercase(value: &str) -> bool {
    super::column::folds_plainly(value) || fold(value) == value.to_lowercase()
}

/// How [`super::Indexes::wildcard`] found a field's matches (for EXPLAIN-like checks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WildcardPath {
    /// No star: an exact term of the dictionary.
    Term,
    /// `head*`: the head's prefix range (a ready set when wide).
    Prefix,
    /// The head's prefix range, each entry checked against the pattern.
    PrefixChecked,
    /// The trigram candidates of the longest piece, each checked.
    Trigrams,
    /// Every value checked (no literal start, no piece of three bytes).
    Scan,
}

impl std::fmt::Display for WildcardPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WildcardPath::Term => "term",
            WildcardPath::Prefix => "prefix range",
            WildcardPath::PrefixChecked => "prefix range checked",
            WildcardPath::Trigrams => "trigrams checked",
            WildcardPath::Scan => "scan",
        })
    }
}

impl TextIndex {
    /// Rows with a (folded) value matching `pattern`, and how they were found.
    pub(crate) fn wildcard(&self, pattern: &Wildcard) -> (RoaringBitmap, WildcardPath) {
        let dict = self.dict();
        let head = pattern.head();
        if pattern.pieces.len() == 1 {
            return (dict.rows(dict.equal_range(head)), WildcardPath::Term);
        }
        let longest = pattern.longest_piece();
        if !head.is_empty() {
            let range = dict.prefix_range(head);
            if pattern.is_prefix() {
                return (self.prefix_rows(head, range), WildcardPath::Prefix);
            }
            // A narrow prefix range is checked value by value; a wide one with a longer piece
            // elsewhere goes through that piece's trigrams instead.
            if longest.len() < 3 || range.len() as u64 <= self.estimate(longest) {
                let rows = dict.rows_where(Some(range), |text| pattern.matches(text));
                return (rows, WildcardPath::PrefixChecked);
            }
        }
        if longest.len() < 3 {
            let rows = dict.rows_where(None, |text| pattern.matches(text));
            return (rows, WildcardPath::Scan);
        }
        let Some(candidates) = self.candidates(longest) else {
            return (RoaringBitmap::new(), WildcardPath::Trigrams);
        };
        let mut rows = RowSetBuilder::default();
        for row in &candidates {
            if dict.any_value_of(row, |text| pattern.matches(text)) {
                rows.push(row);
            }
        }
        (rows.finish(), WildcardPath::Trigrams)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_are_any_run_and_the_ends_are_anchored() {
        let matches = |pattern: &str, text: &str| Wildcard::new(pattern).matches(text);
        assert!(matches("lu*", "luke"));
        assert!(!matches("uke*", "luke"));
        assert!(matches("*uke", "luke"));
        assert!(matches("*bldg*", "org_bldg_a"));
        assert!(matches("l*e", "luke"));
        assert!(!matches("l*e", "lukes"));
        assert!(matches("*", "anything"));
        assert!(matches("*", ""));
        assert!(matches("a*a", "aa"));
        assert!(!matches("aa*aa", "aaa"));
        assert!(matches("luke", "luke"));
        assert!(!matches("luke", "lukes"));
        assert!(matches("a*b*c", "axxbyyc"));
        assert!(!matches("a*b*c", "axxcyyb"));
    }

    #[test]
    fn plain_ascii_folds_to_its_lowercase_and_irregular_text_does_not() {
        for value in ["Luke Skywalker", "luke", "ÉCOLE", ""] {
            assert!(folds_to_lowercase(value), "{value:?}");
        }
        for value in [" luke", "luke  sky", "luke\tsky", "ΣΑΣ"] {
            assert!(!folds_to_lowercase(value), "{value:?}");
        }
    }
}
