//! Multi-way unions of row sets that stay cheap when the sets are sparse.
//!
//! `roaring`'s multi-way union (`MultiOps::union`) turns every array container that meets
//! another into an 8 KiB bitmap container, ORs into it, and at the end turns each back into an
//! array when it is small again: a zeroed 8 KiB allocation and a scan of 1,024 words per
//! container, whatever the few rows it holds. For dense sets that is the fastest way; for sets
//! of a few rows per 65,536-row container (a delta level's holder sets: a few hundred dirty rows
//! spread over 1M, every group's members among them) it was a quarter of a delta build's time
//! (benches/RESULTS.md, `union13`). Sparse unions therefore collect the rows, sort them and
//! build the containers directly ([`bitmap_from_strictly_sorted`]), in O(rows log rows).

use roaring::{MultiOps, RoaringBitmap};

use super::column::bitmap_from_strictly_sorted;

/// Rows per 65,536-row container spanned (on average over the inputs) at or below which a
/// union sorts the rows instead of OR-ing containers. An array container of this many rows is
/// 1 KiB: sorting a few such arrays costs less than zeroing and scanning the 8 KiB bitmap the
/// multi-way union makes of each (delta builds measured in benches/RESULTS.md, `union13`).
const SPARSE_ROWS_PER_CONTAINER: u64 = 512;

/// The union of `sets` (see the module doc for how it is taken).
pub fn union_of<'a>(sets: impl IntoIterator<Item = &'a RoaringBitmap>) -> RoaringBitmap {
    let sets: Vec<&RoaringBitmap> = sets.into_iter().filter(|set| !set.is_empty()).collect();
    let (Some(low), Some(high)) = (
        sets.iter().filter_map(|set| set.min()).min(),
        sets.iter().filter_map(|set| set.max()).max(),
    ) else {
        return RoaringBitmap::new();
    };
    if let [one] = sets.as_slice() {
        return RoaringBitmap::clone(one);
    }
    let rows: u64 = sets.iter().map(|set| set.len()).sum();
    let containers = u64::from((high >> 16) - (low >> 16)) + 1;
    if rows > SPARSE_ROWS_PER_CONTAINER * containers {
        return sets.into_iter().union();
    }
    let mut all = Vec::with_capacity(rows as usize);
    for set in sets {
        all.extend(set.iter());
    }
    all.sort_unstable();
    all.dedup();
    bitmap_from_strictly_sorted(&all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn set(rows: &[u32]) -> RoaringBitmap {
        rows.iter().copied().collect()
    }

    #[test]
    fn empty_and_single_inputs() {
        assert!(union_of(std::iter::empty()).is_empty());
        let empty = RoaringBitmap::new();
        assert!(union_of([&empty, &empty]).is_empty());
        let one = set(&[3, 70_000]);
        assert_eq!(union_of([&empty, &one]), one);
    }

    #[test]
    fn dense_inputs_take_the_multi_way_union() {
        let a: RoaringBitmap = (0..60_000).step_by(2).collect();
        let b: RoaringBitmap = (1..60_000).step_by(2).collect();
        let union = union_of([&a, &b]);
        assert_eq!(union, (0..60_000).collect::<RoaringBitmap>());
    }

    proptest! {
        /// Sparse or dense, the union holds exactly the rows of the inputs, in the same
        /// containers (array or bitmap) as `roaring`'s own union: serialized forms are equal.
        #[test]
        fn union_of_matches_multi_ops(
            sets in prop::collection::vec(
                prop::collection::vec(0u32..400_000, 0..3_000), 0..6),
        ) {
            let sets: Vec<RoaringBitmap> = sets.iter().map(|rows| set(rows)).collect();
            let ours = union_of(sets.iter());
            let theirs = sets.iter().union();
            prop_assert_eq!(&ours, &theirs);
            let bytes = |set: &RoaringBitmap| {
                let mut out = Vec::new();
                set.serialize_into(&mut out).map(|()| out).ok()
            };
            prop_assert_eq!(bytes(&ours), bytes(&theirs));
        }
    }
}
