-- A bidder's HPKE decryption key (the "bidder" custodian slot of a tender's
-- custody policy is sealed to it), bound to its identity by a signature of
-- its bidder key over "bidroom/v1/bidder-decryption-key". Only a statement
-- naming the current key as the previous one replaces it.
CREATE TABLE bidder_decryption_keys (
    bidder_id     TEXT PRIMARY KEY REFERENCES bidders (id),
    public_key    BYTEA NOT NULL UNIQUE,
    signature     BYTEA NOT NULL,
    registered_at BIGINT NOT NULL
);
