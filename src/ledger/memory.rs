//! An in-memory log holding every complete node, built on the same plans as
//! the database-backed log so tests exercise exactly the production path.

use super::hash::{Hash, leaf_hash};
use super::tree::{self, NodeId, NodeSource, TreeError};

/// Every complete node of a growing tree, `levels[l][i]` = node `(l, i)`.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl NodeSource for MemoryTree {
    fn node(&self, id: NodeId) -> Option<Hash> {
        let index = usize::try_from(id.index).ok()?;
        self.levels.get(usize::from(id.level))?.get(index).copied()
    }
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends an entry (hashing it as a leaf) and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends an already computed leaf hash and returns its index.
    #[allow(clippy::expect_used, reason = "the plan names only nodes a complete tree of this size holds")]
    pub fn append_leaf_hash(&mut self, hash: Hash) -> u64 {
        let index = self.size();
        let siblings: Vec<Hash> = tree::append_plan(index)
            .into_iter()
            .map(|id| self.node(id).expect("a complete tree holds its append plan"))
            .collect();
        let nodes = tree::append_nodes(index, hash, &siblings).expect("the sibling list comes from the plan");
        for (id, h) in nodes {
            let level = usize::from(id.level);
            if self.levels.len() <= level {
                self.levels.resize_with(level + 1, Vec::new);
            }
            // Nodes complete left to right, so each new one is the next slot.
            debug_assert_eq!(self.levels[level].len() as u64, id.index);
            self.levels[level].push(h);
        }
        index
    }

    /// Current root.
    #[allow(clippy::expect_used, reason = "a tree holds the nodes for its own size")]
    pub fn root(&self) -> Hash {
        self.root_at(self.size()).expect("a tree has the nodes for its own size")
    }

    /// Root at an earlier (or the current) size.
    pub fn root_at(&self, size: u64) -> Result<Hash, TreeError> {
        tree::root(size, self)
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, TreeError> {
        tree::inclusion_proof(index, size, self)
    }

    /// Consistency proof from `old` to `new` leaves.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, TreeError> {
        tree::consistency_proof(old, new, self)
    }
}
