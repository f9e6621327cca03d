//! Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2.
//!
//! These need no stored nodes, only what a client holds: used by the CLI,
//! the receipt checks, and the tests (the browser has its own copy in JS).

use super::hash::{Hash, empty_root, node_hash};
use super::tree::TreeError;

fn lsb(x: u64) -> bool {
    x & 1 == 1
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` leaves whose
/// root is `root`, given the RFC 9162 inclusion `proof`.
pub fn verify_inclusion(leaf_hash: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), TreeError> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(TreeError::InvalidProof("inclusion proof too long"));
        }
        if lsb(f) || f == s {
            r = node_hash(p, &r);
            // Skip the levels where this node is the lone right edge of the
            // tree and so has no sibling in the proof.
            while !lsb(f) && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(TreeError::InvalidProof("inclusion proof too short"));
    }
    if &r != root {
        return Err(TreeError::InvalidProof("inclusion proof gives another root"));
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix
/// of the tree of `new_size` leaves with root `new_root`.
///
/// Equal sizes need equal roots and an empty proof; an old size of 0 needs
/// the empty-tree root and an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), TreeError> {
    if old_size > new_size {
        return Err(TreeError::BadSizes { old: old_size, new: new_size });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(TreeError::InvalidProof("trivial consistency needs no proof"));
        }
        let expected_old = if old_size == 0 { empty_root() } else { *new_root };
        if old_root != &expected_old {
            return Err(TreeError::InvalidProof("roots differ at equal sizes"));
        }
        return Ok(());
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(TreeError::InvalidProof("empty consistency proof"));
    };
    // When the old tree is a complete subtree its root is itself the first
    // element of the path; the proof omits it (RFC 9162 step 2).
    let (start, rest) = if old_size.is_power_of_two() { (old_root, proof) } else { (first, rest) };
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while lsb(f) {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*start, *start);
    for c in rest {
        if s == 0 {
            return Err(TreeError::InvalidProof("consistency proof too long"));
        }
        if lsb(f) || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while !lsb(f) && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(TreeError::InvalidProof("consistency proof too short"));
    }
    if &fr != old_root {
        return Err(TreeError::InvalidProof("consistency proof gives another old root"));
    }
    if &sr != new_root {
        return Err(TreeError::InvalidProof("consistency proof gives another new root"));
    }
    Ok(())
}
