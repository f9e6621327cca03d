-- Small ciphertexts (an envelope, a form, documents below 64 KiB), keyed by
-- their SHA-256 (hex, as in `bids.blobs`): written in the group commit's
-- transaction, so the commit that records the bid makes them durable and no
-- file is created per bid. Larger documents stay files under `blobs/`.
CREATE TABLE small_ciphertexts (
    sha256  TEXT PRIMARY KEY,
    bytes   BLOB NOT NULL
);
