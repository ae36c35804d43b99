//! [`Spine`]: the list of a [`super::Chunked`]'s nodes, itself in shared pieces.
//!
//! The large `Chunked`s of a 1M-user directory have hundreds of nodes: the grants by subject
//! (one list pointer per user, ~490 nodes), the grants (~4.8M, ~440 nodes), their sequence
//! numbers. When the node list was one shared vector, the first write after a clone (every
//! batch that puts or deletes a grant or deletes a user writes them) copied all of its node
//! pointers, each an atomic increment (and a decrement when the old snapshot went), several
//! times the node and leaf below it. Here the node pointers sit in pieces of [`SPAN`] behind
//! one more shared pointer each: a write copies the list of pieces (one pointer per `SPAN`
//! nodes) and one piece. Measured at 1M users (benches/RESULTS.md `spine13`): a grant put to
//! a user 62–71 → 45–46 µs, a user deletion 53–65 → 38–40 µs; a sign-in (users in blocks,
//! ~31 nodes) unchanged.

use std::fmt;
use std::sync::Arc;

/// Node pointers per piece: what a write copies at this level, with one pointer per piece
/// above it (~16 + 32 for the grants by subject of a 1M-user directory, against ~490 in one
/// list).
pub(super) const SPAN: usize = 32;

/// A vector of shared nodes `X` in pieces of [`SPAN`] (every piece but the last full), the
/// pieces behind one shared pointer: a clone is one pointer copy, a write copies the piece
/// list, one piece and the node, the first time after a clone.
pub(super) struct Spine<X> {
    /// Never an empty piece: the length follows from the last one.
    pieces: Arc<Vec<Arc<Vec<Arc<X>>>>>,
}

impl<X> Clone for Spine<X> {
    fn clone(&self) -> Self {
        Spine {
            pieces: Arc::clone(&self.pieces),
        }
    }
}

impl<X: Clone + fmt::Debug> fmt::Debug for Spine<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<X> Default for Spine<X> {
    fn default() -> Self {
        Spine {
            pieces: Arc::new(Vec::new()),
        }
    }
}

impl<X: Clone> Spine<X> {
    /// Number of nodes.
    pub(super) fn len(&self) -> usize {
        self.pieces
            .last()
            .map_or(0, |last| (self.pieces.len() - 1) * SPAN + last.len())
    }

    /// Node `n`.
    pub(super) fn get(&self, n: usize) -> Option<&X> {
        self.pieces.get(n / SPAN)?.get(n % SPAN).map(|x| &**x)
    }

    /// Node `n`, which exists (the callers' cumulative lengths say so).
    pub(super) fn at(&self, n: usize) -> &X {
        &self.pieces[n / SPAN][n % SPAN]
    }

    /// The shared pointer to node `n` (tests: which nodes two spines share).
    #[cfg(test)]
    pub(super) fn arc(&self, n: usize) -> Option<&Arc<X>> {
        self.pieces.get(n / SPAN)?.get(n % SPAN)
    }

    /// Node `n` for writing: copies the piece list, `n`'s piece and the node itself if shared.
    pub(super) fn get_mut(&mut self, n: usize) -> Option<&mut X> {
        let piece = Arc::make_mut(Arc::make_mut(&mut self.pieces).get_mut(n / SPAN)?);
        Some(Arc::make_mut(piece.get_mut(n % SPAN)?))
    }

    /// The last node for writing.
    pub(super) fn last_mut(&mut self) -> Option<&mut X> {
        let last = self.len().checked_sub(1)?;
        self.get_mut(last)
    }

    /// Appends a node.
    pub(super) fn push(&mut self, node: Arc<X>) {
        let pieces = Arc::make_mut(&mut self.pieces);
        match pieces.last_mut() {
            Some(piece) if piece.len() < SPAN => Arc::make_mut(piece).push(node),
            _ => {
                let mut piece = Vec::with_capacity(SPAN);
                piece.push(node);
                pieces.push(Arc::new(piece));
            }
        }
    }

    /// Removes the last node.
    pub(super) fn pop(&mut self) -> Option<Arc<X>> {
        let pieces = Arc::make_mut(&mut self.pieces);
        let piece = Arc::make_mut(pieces.last_mut()?);
        let node = piece.pop();
        if piece.is_empty() {
            pieces.pop();
        }
        node
    }

    /// Room for `additional` more nodes' pieces.
    pub(super) fn reserve(&mut self, additional: usize) {
        Arc::make_mut(&mut self.pieces).reserve(additional.div_ceil(SPAN));
    }

    /// Every node in order.
    pub(super) fn iter(&self) -> impl DoubleEndedIterator<Item = &X> + Clone + '_ {
        self.pieces
            .iter()
            .flat_map(|piece| piece.iter().map(|node| &**node))
    }

    /// Every node in order, for writing (copies every shared piece and node).
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut X> + '_ {
        Arc::make_mut(&mut self.pieces)
            .iter_mut()
            .flat_map(|piece| Arc::make_mut(piece).iter_mut().map(Arc::make_mut))
    }
}

impl<X: Clone> FromIterator<Arc<X>> for Spine<X> {
    fn from_iter<I: IntoIterator<Item = Arc<X>>>(nodes: I) -> Self {
        let mut spine = Spine::default();
        for node in nodes {
            spine.push(node);
        }
        spine
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vector_of_nodes_and_copies_one_piece_per_write() {
        let mut spine: Spine<u64> = (0..3 * SPAN as u64 + 5).map(Arc::new).collect();
        let mut plain: Vec<u64> = (0..3 * SPAN as u64 + 5).collect();
        assert_eq!(spine.len(), plain.len());
        let before = spine.clone();
        *spine.get_mut(SPAN + 1).expect("in range") = 99;
        plain[SPAN + 1] = 99;
        assert_eq!(spine.iter().copied().collect::<Vec<_>>(), plain);
        assert_eq!(before.at(SPAN + 1), &(SPAN as u64 + 1));
        // Only the written piece was copied: the others' pointers are the same allocations.
        let same = |n: usize| {
            let (a, b) = (spine.arc(n).expect("in"), before.arc(n).expect("in"));
            Arc::ptr_eq(a, b)
        };
        assert!(same(0) && same(2 * SPAN) && same(3 * SPAN + 4));
        assert!(!same(SPAN + 1));
        assert!(Arc::ptr_eq(&spine.pieces[0], &before.pieces[0]));
        assert!(!Arc::ptr_eq(&spine.pieces[1], &before.pieces[1]));
        while let Some(node) = plain.pop() {
            assert_eq!(spine.pop().as_deref(), Some(&node));
            assert_eq!(spine.len(), plain.len());
            assert_eq!(spine.pieces.len(), plain.len().div_ceil(SPAN));
        }
        assert_eq!(spine.pop(), None);
        assert_eq!(spine.get(0), None);
        assert_eq!(spine.last_mut(), None);
        spine.push(Arc::new(4));
        *spine.last_mut().expect("one node") += 1;
        assert_eq!(spine.iter_mut().map(|x| *x).collect::<Vec<_>>(), vec![5]);
        assert_eq!(before.len(), 3 * SPAN + 5);
    }
}
