//! Plan-based Merkle tree computations over stored complete subtrees.
//!
//! The database keeps every *complete* subtree hash: node `(level l, index i)`
//! covers leaves `[i·2^l, (i+1)·2^l)` and exists once the tree holds at least
//! `(i+1)·2^l` leaves. A complete node never changes afterwards, so any root or
//! proof for any past tree size can be rebuilt from them.
//!
//! Because the store is async and this module does no I/O, every operation
//! comes in two halves: a `*_plan` function lists the [`NodeId`]s to fetch,
//! and the matching function computes the result from a [`NodeSource`]
//! holding (at least) those nodes. Each plan is O(log n) nodes.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use super::hash::{Hash, empty_root, node_hash};

/// Address of a complete subtree: `level` 0 is a leaf, `index` counts from
/// the left at that level. Covers leaves `[index·2^level, (index+1)·2^level)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf).
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level`, `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The leaf node of entry `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// First leaf index covered by this node.
    pub const fn start(self) -> u64 {
        self.index << self.level
    }

    /// Number of leaves covered (`2^level`).
    pub const fn width(self) -> u64 {
        1u64 << self.level
    }
}

/// Errors from building roots and proofs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    /// The node source lacks a node the computation needs.
    #[error("missing tree node level {} index {}", .0.level, .0.index)]
    MissingNode(NodeId),
    /// A leaf index at or past the tree size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency request whose old size exceeds the new size.
    #[error("cannot prove consistency from size {old} to smaller size {new}")]
    BadSizes {
        /// Older tree size.
        old: u64,
        /// Newer tree size.
        new: u64,
    },
    /// `append_nodes` was given a sibling list that does not match its plan.
    #[error("append needs {expected} sibling hashes, got {got}")]
    WrongSiblingCount {
        /// Length of the append plan.
        expected: usize,
        /// Number of hashes given.
        got: usize,
    },
    /// A proof failed to verify.
    #[error("proof does not verify: {0}")]
    InvalidProof(&'static str),
}

/// Anything that can look up stored complete-node hashes.
pub trait NodeSource {
    /// The hash of `id`, or `None` if it is not available.
    fn node(&self, id: NodeId) -> Option<Hash>;
}

impl<S: BuildHasher> NodeSource for HashMap<NodeId, Hash, S> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

impl NodeSource for BTreeMap<NodeId, Hash> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        self.get(&id).copied()
    }
}

/// Adapts a closure into a [`NodeSource`].
pub struct FnSource<F>(pub F);

impl<F: Fn(NodeId) -> Option<Hash>> NodeSource for FnSource<F> {
    fn node(&self, id: NodeId) -> Option<Hash> {
        (self.0)(id)
    }
}

/// Nodes to fetch before appending leaf `leaf_index` (the tree then grows
/// from `leaf_index` to `leaf_index + 1` leaves): the left siblings of the
/// nodes that the new leaf completes, from the bottom up.
pub fn append_plan(leaf_index: u64) -> Vec<NodeId> {
    // Leaf m completes one node per trailing 1-bit of m: each one pairs the
    // freshly completed node with the complete node just to its left.
    (0..leaf_index.trailing_ones()).map(|level| NodeId::new(level as u8, (leaf_index >> level) - 1)).collect()
}

/// The complete nodes created by appending leaf `leaf_index` with hash
/// `leaf_hash`, bottom-up and starting with the leaf node itself.
/// `siblings` are the hashes of [`append_plan`]`(leaf_index)`, in that order.
pub fn append_nodes(leaf_index: u64, leaf_hash: Hash, siblings: &[Hash]) -> Result<Vec<(NodeId, Hash)>, TreeError> {
    let expected = leaf_index.trailing_ones() as usize;
    if siblings.len() != expected {
        return Err(TreeError::WrongSiblingCount { expected, got: siblings.len() });
    }
    let mut out = Vec::with_capacity(expected + 1);
    let mut acc = leaf_hash;
    out.push((NodeId::leaf(leaf_index), acc));
    for (level, left) in siblings.iter().enumerate() {
        acc = node_hash(left, &acc);
        let level = level as u8 + 1;
        out.push((NodeId::new(level, leaf_index >> level), acc));
    }
    Ok(out)
}

/// Largest power of two strictly below `n` (the RFC 9162 split point `k`).
/// Requires `n >= 2`.
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Complete nodes that make up leaves `[start, end)`, left to right.
///
/// For the ranges used here `start` is a multiple of a power of two at least
/// `end - start`, so the pieces shrink left to right and follow the binary
/// digits of the width.
fn range_nodes(mut start: u64, end: u64, out: &mut Vec<NodeId>) {
    while start < end {
        let fits = 63 - (end - start).leading_zeros();
        let level = start.trailing_zeros().min(fits);
        out.push(NodeId::new(level as u8, start >> level));
        start += 1u64 << level;
    }
}

/// MTH of a range from its complete pieces: with the pieces shrinking to the
/// right, RFC 9162's recursive split reduces to a right fold.
fn fold_pieces(pieces: &[NodeId], src: &impl NodeSource) -> Result<Hash, TreeError> {
    let mut iter = pieces.iter().rev();
    let last = iter.next().ok_or(TreeError::InvalidProof("empty range"))?;
    let mut acc = fetch(src, *last)?;
    for id in iter {
        acc = node_hash(&fetch(src, *id)?, &acc);
    }
    Ok(acc)
}

fn fetch(src: &impl NodeSource, id: NodeId) -> Result<Hash, TreeError> {
    src.node(id).ok_or(TreeError::MissingNode(id))
}

/// Leaf ranges whose MTHs form PATH(index, D[0:size]) (RFC 9162 §2.1.3.1),
/// in proof order (bottom-up).
fn inclusion_ranges(index: u64, size: u64) -> Result<Vec<(u64, u64)>, TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut hi) = (0, size);
    let mut out = Vec::new();
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    // The recursion emits the sibling after the deeper path.
    out.reverse();
    Ok(out)
}

/// Leaf ranges whose MTHs form PROOF(old, D[0:new]) (RFC 9162 §2.1.4.1),
/// in proof order. Empty when `old` is 0 or equal to `new`.
fn consistency_ranges(old: u64, new: u64) -> Result<Vec<(u64, u64)>, TreeError> {
    if old > new {
        return Err(TreeError::BadSizes { old, new });
    }
    let mut out = Vec::new();
    if old == 0 || old == new {
        return Ok(out);
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled; `old` stays absolute.
    let (mut lo, mut hi, mut whole_old_tree) = (0, new, true);
    while old != hi {
        let k = split(hi - lo);
        if old <= lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    // SUBPROOF(m, D[m], false) contributes MTH(D[lo:m]); with b true it is
    // omitted because the verifier already holds the old root.
    if !whole_old_tree {
        out.push((lo, hi));
    }
    out.reverse();
    Ok(out)
}

fn plan_for(ranges: &[(u64, u64)]) -> Vec<NodeId> {
    let mut out = Vec::new();
    for &(start, end) in ranges {
        range_nodes(start, end, &mut out);
    }
    out
}

fn hashes_for(ranges: &[(u64, u64)], src: &impl NodeSource) -> Result<Vec<Hash>, TreeError> {
    let mut pieces = Vec::new();
    ranges
        .iter()
        .map(|&(start, end)| {
            pieces.clear();
            range_nodes(start, end, &mut pieces);
            fold_pieces(&pieces, src)
        })
        .collect()
}

/// Nodes needed for the root of a tree of `size` leaves.
pub fn root_plan(size: u64) -> Vec<NodeId> {
    plan_for(&[(0, size)])
}

/// Root hash of the tree of `size` leaves (the empty-tree hash for 0).
pub fn root(size: u64, src: &impl NodeSource) -> Result<Hash, TreeError> {
    if size == 0 {
        return Ok(empty_root());
    }
    let mut pieces = Vec::new();
    range_nodes(0, size, &mut pieces);
    fold_pieces(&pieces, src)
}

/// Nodes needed for the inclusion proof of leaf `index` in a tree of `size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<Vec<NodeId>, TreeError> {
    Ok(plan_for(&inclusion_ranges(index, size)?))
}

/// Inclusion proof (RFC 9162 §2.1.3.1 PATH) of leaf `index` in a tree of
/// `size`, ordered from the leaf's sibling up to the root's child.
pub fn inclusion_proof(index: u64, size: u64, src: &impl NodeSource) -> Result<Vec<Hash>, TreeError> {
    hashes_for(&inclusion_ranges(index, size)?, src)
}

/// Nodes needed for a consistency proof from `old` to `new` leaves.
pub fn consistency_plan(old: u64, new: u64) -> Result<Vec<NodeId>, TreeError> {
    Ok(plan_for(&consistency_ranges(old, new)?))
}

/// Consistency proof (RFC 9162 §2.1.4.1 PROOF) from the tree of `old` leaves
/// to the tree of `new` leaves. Empty when `old` is 0 or equals `new`.
pub fn consistency_proof(old: u64, new: u64, src: &impl NodeSource) -> Result<Vec<Hash>, TreeError> {
    hashes_for(&consistency_ranges(old, new)?, src)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_plan_follows_trailing_ones() {
        assert!(append_plan(0).is_empty());
        assert_eq!(append_plan(1), vec![NodeId::leaf(0)]);
        assert!(append_plan(2).is_empty());
        assert_eq!(append_plan(7), vec![NodeId::new(0, 6), NodeId::new(1, 2), NodeId::new(2, 0)]);
    }

    #[test]
    fn append_nodes_checks_sibling_count() {
        let err = append_nodes(3, [0; 32], &[[0; 32]]).unwrap_err();
        assert_eq!(err, TreeError::WrongSiblingCount { expected: 2, got: 1 });
    }

    #[test]
    fn root_plan_is_binary_decomposition() {
        assert_eq!(root_plan(13), vec![NodeId::new(3, 0), NodeId::new(2, 2), NodeId::new(0, 12)]);
        assert!(root_plan(0).is_empty());
    }

    #[test]
    fn missing_node_is_reported() {
        let empty: HashMap<NodeId, Hash> = HashMap::new();
        assert_eq!(root(3, &empty).unwrap_err(), TreeError::MissingNode(NodeId::new(0, 2)));
    }

    #[test]
    fn bad_arguments_are_errors() {
        assert!(matches!(inclusion_plan(5, 5), Err(TreeError::IndexOutOfRange { .. })));
        assert!(matches!(consistency_plan(6, 5), Err(TreeError::BadSizes { .. })));
        assert!(consistency_plan(0, 5).unwrap().is_empty());
        assert!(consistency_plan(5, 5).unwrap().is_empty());
    }
}
