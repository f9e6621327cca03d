-- Times are microseconds since the Unix epoch (UTC), the same on both backends.
CREATE TABLE staff (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    bootstrap   INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE tenders (
    id          TEXT PRIMARY KEY,
    state       TEXT NOT NULL,
    reference   TEXT NOT NULL,
    deadline    BIGINT NOT NULL,
    opening_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    last_seq    BIGINT NOT NULL DEFAULT 0,
    doc         TEXT NOT NULL
);
CREATE INDEX tenders_state_deadline ON tenders (state, deadline);
CREATE INDEX tenders_created ON tenders (created_at);

-- Staff-only trail of draft changes (drafts are not public, so not logged).
CREATE TABLE tender_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tender_id   TEXT NOT NULL REFERENCES tenders (id),
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    doc         TEXT NOT NULL
);

-- The public, ordered events of each tender; each is a log entry.
CREATE TABLE events (
    tender_id   TEXT NOT NULL REFERENCES tenders (id),
    seq         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    log_index   BIGINT NOT NULL UNIQUE,
    PRIMARY KEY (tender_id, seq)
);

-- The transparency log: exact entry bytes and every complete subtree hash.
CREATE TABLE log_entries (
    idx         BIGINT PRIMARY KEY,
    entry       BLOB NOT NULL
);
CREATE TABLE log_nodes (
    level       INTEGER NOT NULL,
    idx         BIGINT NOT NULL,
    hash        BLOB NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE log_checkpoints (
    size        BIGINT PRIMARY KEY,
    root        BLOB NOT NULL,
    note        TEXT NOT NULL,
    at          BIGINT NOT NULL
);
-- One row; locking it serialises appends across nodes.
CREATE TABLE log_head (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    size        BIGINT NOT NULL
);
INSERT INTO log_head (id, size) VALUES (1, 0);
