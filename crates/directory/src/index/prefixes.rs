//! Ready row sets for the wide prefixes of a sorted dictionary, so `nameStartsWith: mar` (or an
//! ArcGIS `filter=mar*`) is one bitmap clone instead of sorting a hundred thousand scattered rows.
//!
//! A prefix is a contiguous range of the dictionary's sorted order, but its rows are scattered:
//! turning a wide range into a bitmap means sorting it (~1 ms per 100k rows). Here every *byte
//! prefix* whose range holds at least [`MIN_WIDE`] entries keeps its rows as a bitmap, found by
//! binary search on the prefix bytes. Any prefix with a wider range than that is one of them (the
//! range of a prefix of `d` bytes is exactly the group of entries sharing those `d` bytes), so a
//! lookup either clones a stored set or sorts fewer than [`MIN_WIDE`] rows.
//!
//! Memory: at each depth a row is in at most one stored set; only the first few bytes have wide
//! groups (the generated 1 M directory: ~1–2 MB per field). Build: the sets are assembled bottom
//! up, a parent from its wide children plus its leftover rows, so each row is sorted once.

use std::ops::Range;

use roaring::RoaringBitmap;

use super::column::{bitmap_bytes, bitmap_from_sorted, Dict};
use super::text_dict::TextDict;
use crate::model::Row;

/// Ranges at least this wide get a stored set; narrower ones are sorted on demand (~50 µs).
pub(super) const MIN_WIDE: usize = 4096;
/// Prefixes longer than this many bytes get no stored set (sorted on demand): bounds the build's
/// recursion when thousands of users share one long value.
const MAX_DEPTH: usize = 24;

/// The stored sets of one dictionary, sorted by prefix bytes.
#[derive(Debug, Default)]
pub(crate) struct PrefixSets {
    sets: Vec<(Box<[u8]>, RoaringBitmap)>,
}

impl PrefixSets {
    /// The sets of every wide byte prefix of `dict` (none for a dictionary under [`MIN_WIDE`]).
    pub(crate) fn build(dict: &Dict) -> PrefixSets {
        let mut sets = Vec::new();
        if dict.sorted().len() >= MIN_WIDE {
            let mut builder = Builder {
                dict,
                sets: &mut sets,
            };
            builder.group(0..dict.sorted().len(), 0);
        }
        sets.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        PrefixSets { sets }
    }

    /// The rows of the dictionary entries starting with `prefix` (at positions `range` of the
    /// sorted order, which the caller has found).
    pub(crate) fn rows(&self, dict: &TextDict, prefix: &str, range: Range<usize>) -> RoaringBitmap {
        if range.len() >= MIN_WIDE && !prefix.is_empty() {
            if let Ok(at) = self
                .sets
                .binary_search_by(|(key, _)| key.as_ref().cmp(prefix.as_bytes()))
            {
                return self.sets[at].1.clone();
            }
        }
        dict.rows(range)
    }

    pub(crate) fn heap_bytes(&self) -> u64 {
        self.sets
            .iter()
            .map(|(key, set)| (key.len() + 48) as u64 + bitmap_bytes(set))
            .sum()
    }
}

struct Builder<'a> {
    dict: &'a Dict,
    sets: &'a mut Vec<(Box<[u8]>, RoaringBitmap)>,
}

impl Builder<'_> {
    fn text(&self, position: usize) -> &[u8] {
        self.dict
            .entries()
            .text(self.dict.sorted()[position] as usize)
            .as_bytes()
    }

    /// The rows of `range`, whose entries share their first `depth` bytes; stores the set of
    /// every wide group one byte deeper (down to [`MAX_DEPTH`] bytes).
    fn group(&mut self, range: Range<usize>, depth: usize) -> RoaringBitmap {
        let mut set = RoaringBitmap::new();
        let mut loose: Vec<Row> = Vec::new();
        let mut at = range.start;
        while at < range.end {
            let Some(&byte) = self.text(at).get(depth) else {
                // Entries that end here sort first in their group.
                loose.push(self.dict.entries().row(self.dict.sorted()[at] as usize));
                at += 1;
                continue;
            };
            let end = at
                + self.dict.sorted()[at..range.end].partition_point(|&entry| {
                    self.dict
                        .entries()
                        .text(entry as usize)
                        .as_bytes()
                        .get(depth)
                        == Some(&byte)
                });
            if end - at >= MIN_WIDE && depth < MAX_DEPTH {
                let child = self.group(at..end, depth + 1);
                set |= &child;
                let key: Box<[u8]> = self.text(at)[..=depth].into();
                self.sets.push((key, child));
            } else {
                loose.extend(
                    self.dict.sorted()[at..end]
                        .iter()
                        .map(|&entry| self.dict.entries().row(entry as usize)),
                );
            }
            at = end;
        }
        loose.sort_unstable();
        set |= bitmap_from_sorted(loose);
        set
    }
}

#[cfg(test)]
mod tests {
    use super::super::column::Entries;
    use super::*;

    /// 30,000 values over a two-letter alphabet (some repeated, some empty), so that groups
    /// are wide several bytes deep.
    fn dict() -> Dict {
        let mut entries = Entries::default();
        let mut state: u64 = 7;
        for row in 0..30_000u32 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let len = (state >> 60) as usize;
            let text: String = (0..len)
                .map(|i| ['a', 'b'][((state >> (i * 3)) % 2) as usize])
                .collect();
            entries.push(row, &text);
        }
        Dict::build(entries, None)
    }

    #[test]
    fn every_prefix_gives_the_rows_of_its_range() {
        let dict = dict();
        let sets = PrefixSets::build(&dict);
        let text = TextDict::from_dict(&dict);
        assert!(sets.sets.len() > 5, "wide groups several bytes deep");
        let mut prefixes = vec![String::new()];
        for depth in 0..6 {
            let deeper: Vec<String> = prefixes
                .iter()
                .filter(|p| p.len() == depth)
                .flat_map(|p| ['a', 'b', 'c'].map(|c| format!("{p}{c}")))
                .collect();
            prefixes.extend(deeper);
        }
        for prefix in &prefixes {
            let range = text.prefix_range(prefix);
            assert_eq!(
                sets.rows(&text, prefix, range.clone()),
                dict.rows(dict.prefix_range(prefix)),
                "{prefix:?}"
            );
        }
    }
}
