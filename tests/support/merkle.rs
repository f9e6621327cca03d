//! An RFC 6962 Merkle tree hash written here, apart from `bidroom::ledger`,
//! so tests compare the server's roots with a second implementation
//! rather than with the code under test.

use ring::digest::{Context, SHA256};

/// MTH(D[n]) of RFC 6962 §2.1 over the data items `leaves`.
pub fn root<T: AsRef<[u8]>>(leaves: &[T]) -> [u8; 32] {
    match leaves.len() {
        0 => sha256(&[]),
        1 => sha256(&[&[0x00], leaves[0].as_ref()]),
        n => {
            // The largest power of two smaller than n.
            let k = 1 << (usize::BITS - 1 - (n - 1).leading_zeros());
            sha256(&[&[0x01], &root(&leaves[..k]), &root(&leaves[k..])])
        }
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}
