-- The token with this hash, if it is neither revoked nor expired at the given moment.
SELECT token_sha256, recipient_id
FROM share_token
WHERE token_sha256 = :token_sha256 AND revoked_at IS NULL AND expires_at > :now
