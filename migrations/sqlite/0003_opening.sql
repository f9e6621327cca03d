-- Shares released by custodians at the opening. Never public: k of them
-- rebuild the bid key, which also unlocks the documents.
CREATE TABLE shares (
    bid_id          TEXT NOT NULL REFERENCES bids (id),
    custodian_index BIGINT NOT NULL,
    custodian_id    TEXT NOT NULL,
    share           BLOB NOT NULL,
    good            BIGINT NOT NULL,
    released_at     BIGINT NOT NULL,
    PRIMARY KEY (bid_id, custodian_index)
);

-- Each bid's outcome at the opening, written with its event, exactly once.
CREATE TABLE outcomes (
    bid_id          TEXT PRIMARY KEY REFERENCES bids (id),
    tender_id       TEXT NOT NULL REFERENCES tenders (id),
    position        BIGINT NOT NULL,
    outcome         TEXT NOT NULL,
    log_index       BIGINT NOT NULL,
    form_key        BLOB,
    UNIQUE (tender_id, position)
);

-- Custodians release with a token of their own (only its hash is kept).
ALTER TABLE custodians ADD COLUMN token_hash BLOB;
