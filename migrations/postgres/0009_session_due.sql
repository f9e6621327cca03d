-- The opening session's next time the scheduler must act on its own (sign-in
-- opening, confirmation ending), in microseconds; NULL when none. Kept from
-- the tender's document on every write, so one indexed query finds what is
-- due.
ALTER TABLE tenders ADD COLUMN session_due BIGINT;
CREATE INDEX tenders_session_due ON tenders (session_due) WHERE session_due IS NOT NULL;
