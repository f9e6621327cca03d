-- Bidders' private questions to the host (issue 12). Not logged: a question
-- is for staff only until the host answers it publicly, as an announcement
-- that quotes it (its id in answer_id); only that answer is public.
CREATE TABLE questions (
    id            TEXT PRIMARY KEY,
    tender_id     TEXT NOT NULL REFERENCES tenders (id),
    bidder_id     TEXT NOT NULL REFERENCES bidders (id),
    text          TEXT NOT NULL,
    signed_at     BIGINT NOT NULL,
    signature     BYTEA NOT NULL,
    asked_at      BIGINT NOT NULL,
    answer_id     TEXT,
    answered_at   BIGINT
);
CREATE INDEX questions_by_tender ON questions (tender_id, asked_at);
