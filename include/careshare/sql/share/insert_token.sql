INSERT INTO share_token (token_sha256, recipient_id, issued_at, expires_at, revoked_at)
VALUES (:token_sha256, :recipient_id, :issued_at, :expires_at, NULL)
