-- Challenges a custodian answers to prove it holds its key (token
-- rotation, releases). Only the nonce's hash is kept; each is used once.
CREATE TABLE custodian_challenges (
    id            TEXT PRIMARY KEY,
    custodian_id  TEXT NOT NULL REFERENCES custodians (id),
    purpose       TEXT NOT NULL,
    tender_id     TEXT NOT NULL,
    nonce_hash    BLOB NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
CREATE INDEX custodian_challenges_by_custodian ON custodian_challenges (custodian_id, created_at);

-- What was done to a custodian's credentials, and under which proof.
CREATE TABLE custodian_audit (
    id            TEXT PRIMARY KEY,
    custodian_id  TEXT NOT NULL REFERENCES custodians (id),
    action        TEXT NOT NULL,
    challenge_id  TEXT,
    at            BIGINT NOT NULL
);
