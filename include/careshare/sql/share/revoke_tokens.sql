-- Every token of the recipient still in force ends now; expired and already revoked ones keep
-- their record as it was.
UPDATE share_token
SET revoked_at = :now
WHERE recipient_id = :recipient_id AND revoked_at IS NULL AND expires_at > :now
