//! RFC 6962 / RFC 9162 §2.1.1 Merkle hashing with SHA-256.
//!
//! The one-byte prefixes give domain separation between leaves and interior
//! nodes, so a leaf can never be passed off as a node (second-preimage
//! protection).

use ring::digest::{Context, SHA256, digest};

/// A SHA-256 output: every leaf, node and root hash in the log.
pub type Hash = [u8; HASH_LEN];

/// Length of a [`Hash`] in bytes.
pub const HASH_LEN: usize = 32;

/// Prefix byte of a leaf hash input.
const LEAF_PREFIX: u8 = 0x00;
/// Prefix byte of an interior node hash input.
const NODE_PREFIX: u8 = 0x01;

/// Root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    to_hash(digest(&SHA256, b"").as_ref())
}

/// Hash of a log entry: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[LEAF_PREFIX]);
    ctx.update(entry);
    to_hash(ctx.finish().as_ref())
}

/// Hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[NODE_PREFIX]);
    ctx.update(left);
    ctx.update(right);
    to_hash(ctx.finish().as_ref())
}

/// Plain SHA-256 of arbitrary bytes (key ids, envelope hashes).
pub fn sha256(data: &[u8]) -> Hash {
    to_hash(digest(&SHA256, data).as_ref())
}

fn to_hash(bytes: &[u8]) -> Hash {
    let mut out = [0u8; 32];
    // ring's SHA-256 always yields exactly 32 bytes.
    out.copy_from_slice(bytes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn leaf_of_empty_entry_matches_rfc_vector() {
        // First root of the CT reference vectors: a one-leaf tree over "".
        assert_eq!(hex::encode(leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }

    #[test]
    fn node_is_prefixed() {
        let l = leaf_hash(b"");
        let r = leaf_hash(&[0x00]);
        // Root of the 2-leaf CT reference tree.
        assert_eq!(hex::encode(node_hash(&l, &r)), "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125");
    }
}
