-- The opening's pace is the tender's, not a node's: the database time of
-- the tender's last paced `bid.opened` (microseconds), read and written
-- under the tender's row lock, so any node opens the next bid only once
-- the pace has passed since it.
ALTER TABLE tenders ADD COLUMN paced_at BIGINT;
