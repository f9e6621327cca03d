-- Group commit sets each batch's receipt size by log index.
CREATE INDEX bids_log_index ON bids (log_index);
