-- Bidder identity keys (ECDSA P-256); id is the key id.
CREATE TABLE bidders (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_key  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

-- Custodians' HPKE public keys; `server` is the server's own.
CREATE TABLE custodians (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_key  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL
);

-- Bidders admitted to tenders with registration = approved.
CREATE TABLE tender_admissions (
    tender_id   TEXT NOT NULL REFERENCES tenders (id),
    bidder_id   TEXT NOT NULL REFERENCES bidders (id),
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tender_id, bidder_id)
);

-- Sealed bids. Ciphertexts live in the blob directory, named by SHA-256.
CREATE TABLE bids (
    id              TEXT PRIMARY KEY,
    tender_id       TEXT NOT NULL REFERENCES tenders (id),
    bidder_id       TEXT NOT NULL REFERENCES bidders (id),
    lot             TEXT NOT NULL,
    envelope_hash   BYTEA NOT NULL UNIQUE,
    signature       BYTEA NOT NULL,
    blobs           TEXT NOT NULL,
    total_bytes     BIGINT NOT NULL,
    received_at     BIGINT NOT NULL,
    status          TEXT NOT NULL,
    log_index       BIGINT NOT NULL,
    receipt_size    BIGINT NOT NULL,
    ended_at        BIGINT,
    end_log_index   BIGINT,
    end_receipt_size BIGINT
);
CREATE INDEX bids_tender_status ON bids (tender_id, status);
CREATE INDEX bids_tender_bidder ON bids (tender_id, bidder_id, lot);
