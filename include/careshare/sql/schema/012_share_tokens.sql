-- Delta Sharing bearer tokens, one or more per recipient: only the SHA-256 of each token is kept
-- (the token itself is written once, to the recipient's profile file), with when it was issued,
-- when it expires and, once revoked or rotated out, when that happened. Times are UTC.
CREATE TABLE share_token (
    token_sha256 VARCHAR(64) NOT NULL PRIMARY KEY,
    recipient_id VARCHAR(64) NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX share_token_by_recipient ON share_token (recipient_id, revoked_at)
