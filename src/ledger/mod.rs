//! The transparency log: pure (no I/O) Merkle tree logic, checkpoints,
//! tiles and receipts.
//!
//! * [`hash`] — RFC 6962 leaf and node hashing.
//! * [`tree`] — plan-based roots and proofs over stored complete nodes;
//!   [`verify`] checks proofs; [`MemoryTree`] is an in-memory log.
//! * [`note`] — C2SP signed notes and checkpoints (Ed25519).
//! * [`tiles`] — C2SP tlog-tiles paths, tile bytes and entry bundles.
//! * [`receipt`] — submission receipts and their offline verification.
//!
//! See `docs/LEDGER.md` for the formats.

pub mod hash;
pub mod memory;
pub mod note;
pub mod receipt;
pub mod tiles;
pub mod tree;
pub mod verify;

#[cfg(test)]
mod note_tests;
#[cfg(test)]
mod tiles_tests;
#[cfg(test)]
mod tree_tests;

pub use hash::{HASH_LEN, Hash, empty_root, leaf_hash, node_hash};
pub use memory::MemoryTree;
pub use note::{Checkpoint, LogSigner, NoteError, Verifier, open_checkpoint, open_note};
pub use receipt::{Receipt, ReceiptError, entry_envelope_hash};
pub use tiles::{
    MAX_ENTRY_LEN, TILE_HEIGHT, TILE_WIDTH, Tile, TileError, decode_entry_bundle, decode_hash_tile,
    encode_entry_bundle, encode_hash_tile, encode_index,
};
pub use tree::{
    FnSource, NodeId, NodeSource, TreeError, append_nodes, append_plan, consistency_plan, consistency_proof,
    inclusion_plan, inclusion_proof, root, root_plan,
};
pub use verify::{verify_consistency, verify_inclusion};
